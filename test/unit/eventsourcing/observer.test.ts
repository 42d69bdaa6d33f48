import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createProjectionObserver } from '../../../src/eventsourcing/projection/observer.ts';
import { createInMemoryReadStore } from '../../../src/eventsourcing/readstore/memory.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';

const at = (n: number) => ({ commit: BigInt(n), prepare: BigInt(n) });

it('follows the oldest checkpoint of the projections served live; a rebuilding one does not hold it back', async () => {
  const readStore = createInMemoryReadStore();
  const observer = createProjectionObserver({
    eventStore: createInMemoryEventStore(),
    readStore,
    projections: ['cases', 'persons', 'added_later'],
    pollMs: 1,
  });
  const cases = await readStore.createSlot('cases', 'cases', 1);
  const persons = await readStore.createSlot('persons', 'persons', 1);
  assert.equal(await observer.position(), null, 'nothing projected yet');

  await readStore.saveCheckpoint('cases', cases.target, at(30));
  await readStore.saveCheckpoint('persons', persons.target, at(20));
  assert.deepEqual(await observer.position(), at(20));
  assert.equal(await observer.waitFor(at(25), 20), false, 'persons is behind 25');

  // A rebuild of persons: its live collection is frozen until the swap, as in the projector.
  await readStore.beginShadow('persons', 2);
  assert.deepEqual(await observer.position(), at(30));
  assert.equal(await observer.waitFor(at(25), 20), true);
});
