import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createInMemoryReadStore } from '../../src/eventsourcing/readstore/memory.ts';
import { readStoreContract } from './readstore-contract.ts';

readStoreContract('in-memory', async () => createInMemoryReadStore());

test('the in-memory store copies nested data, a Date and an own __proto__ field faithfully', async () => {
  const store = createInMemoryReadStore();
  const { target } = await store.createSlot('copies', 'copies', 1);
  const document = {
    ...JSON.parse('{"id": "a", "__proto__": {"polluted": true}, "list": [1, {"deep": [null, "x"]}]}'),
    at: new Date(0),
  };
  await store.write(target, [{ op: 'upsert', document, position: { commit: 1n, prepare: 1n } }]);
  document.list[1].deep.push('mutated');
  const read = await store.get<{ id: string } & Record<string, unknown>>('copies', 'a');
  assert.ok(read !== null);
  assert.equal(Object.getPrototypeOf(read), Object.prototype, 'the prototype is untouched');
  assert.deepEqual(Object.keys(read), ['id', '__proto__', 'list', 'at']);
  assert.deepEqual(JSON.parse(JSON.stringify(read)), {
    ...JSON.parse('{"id": "a", "__proto__": {"polluted": true}, "list": [1, {"deep": [null, "x"]}]}'),
    at: '1970-01-01T00:00:00.000Z',
  });
  assert.ok(read.at instanceof Date && read.at !== document.at);
});
