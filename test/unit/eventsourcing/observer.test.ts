import assert from 'node:assert/strict';
import { it } from 'node:test';
import { createProjectionObserver } from '../../../src/eventsourcing/projection/observer.ts';
import { createInMemoryReadStore } from '../../../src/eventsourcing/readstore/memory.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';

const at = (n: number) => ({ commit: BigInt(n), prepare: BigInt(n) });

it('follows the oldest checkpoint of the serving collections; a rebuilding projection holds waits at its serving checkpoint', async () => {
  const readStore = createInMemoryReadStore();
  const observer = createProjectionObserver({
    eventStore: createInMemoryEventStore(),
    readStore,
    projections: ['cases', 'persons'],
    pollMs: 1,
  });
  const cases = await readStore.createSlot('cases', 'cases', 1);
  const persons = await readStore.createSlot('persons', 'persons', 1);
  assert.equal(await observer.position(), null, 'nothing projected yet');

  await readStore.saveCheckpoint('cases', cases.target, at(30));
  await readStore.saveCheckpoint('persons', persons.target, at(20));
  assert.deepEqual(await observer.position(), at(20));
  assert.equal(await observer.waitFor(at(25), 20), false, 'persons is behind 25');

  // A rebuild of persons whose shadow got further than the serving collection: reads still go
  // to the serving one, so a wait must not pass 20 until the swap carries the shadow's checkpoint.
  const shadow = await readStore.beginShadow('persons', 2);
  await readStore.saveCheckpoint('persons', shadow.target, at(30));
  assert.deepEqual(await observer.position(), at(20));
  assert.equal(await observer.waitFor(at(25), 20), false, 'the serving persons collection is at 20');

  const slot = await readStore.slot('persons');
  assert.ok(slot);
  assert.equal((await readStore.swap('persons', slot)).outcome, 'swapped');
  assert.deepEqual(await observer.position(), at(30));
  assert.equal(await observer.waitFor(at(25), 20), true);
});

it('a projection not set up yet holds the position at null: nothing of it can be read', async () => {
  const readStore = createInMemoryReadStore();
  const observer = createProjectionObserver({
    eventStore: createInMemoryEventStore(),
    readStore,
    projections: ['cases', 'added_later'],
    pollMs: 1,
  });
  const cases = await readStore.createSlot('cases', 'cases', 1);
  await readStore.saveCheckpoint('cases', cases.target, at(30));
  assert.equal(await observer.position(), null);
  assert.equal(await observer.waitFor(at(1), 10), false);
});
