import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { createErasureService } from '../../../src/app/erasure-service.ts';
import { createKeyStore, createMemoryKeyRecords } from '../../../src/eventsourcing/protection/key-store.ts';
import { createMongoReadStore } from '../../../src/eventsourcing/readstore/mongo.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { startErasureIndex } from '../../support/erasure-index.ts';
import { mongoUrl } from '../../support/services.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('the erasure index in MongoDB (FerretDB) finds the due request among deferred and held ones, and counts them', async (t) => {
  const url = mongoUrl(t);
  if (!url) return;
  const database = `erasure_index_${randomUUID().slice(0, 8)}`;
  cleanups.push(async () => {
    const client = new MongoClient(url);
    await client.db(database).dropDatabase();
    await client.close();
  });
  const eventStore = createInMemoryEventStore();
  const readStore = createMongoReadStore({ url, database });
  cleanups.push(() => readStore.close());
  const indexed = await startErasureIndex(eventStore, readStore);
  cleanups.push(() => indexed.stop());
  let now = new Date('2026-01-01T00:00:00.000Z');
  const keyStore = createKeyStore({
    records: createMemoryKeyRecords(),
    kek: { id: 'k', key: randomBytes(32) },
  });
  const erasure = createErasureService({
    eventStore,
    storedEvents: eventStore,
    keyStore,
    index: indexed.index,
    clock: () => now,
    retention: { rule: 'AMLR-77', years: 5 },
  });
  const id = (name: string) => `${name}-${randomUUID()}`;
  const [due, later, held, running] = [id('due'), id('later'), id('held'), id('running')];
  for (const caseId of [due, later, held, running]) await erasure.requestErasure(caseId, 'dpo', 'api');
  await erasure.endRelationship(due, '2026-01-01T00:00:00.000Z', 'ops');
  await erasure.endRelationship(held, '2026-01-01T00:00:00.000Z', 'ops');
  await erasure.endRelationship(later, '2027-01-01T00:00:00.000Z', 'ops');
  await erasure.placeHold(held, 'litigation', 'legal', 'hold-1');
  now = new Date('2031-06-01T00:00:00.000Z');

  assert.deepEqual(await erasure.summary(86_400_000), {
    byStatus: { none: 0, deferred: 3, due: 1, executing: 0, completed: 0 },
    overdue: 1,
  });
  assert.deepEqual(await erasure.runDue(), [due]);
  const listed = await erasure.list('deferred', 10);
  assert.deepEqual(listed.map((entry) => entry.case_id).sort(), [held, later, running].sort());

  // One person of a case recorded in error: erased at once, then listed and counted as completed.
  await keyStore.obtain(later, 'p1');
  const subject = await erasure.requestSubjectErasure(later, 'p1', 'recorded_in_error', 'dpo');
  assert.equal(subject.status, 'completed');
  assert.deepEqual(
    (await erasure.list('completed', 10)).map((entry) => `${entry.case_id}:${entry.subject_id}`).sort(),
    [`${due}:null`, `${later}:p1`].sort(),
  );
  assert.deepEqual((await erasure.summary(86_400_000)).byStatus, {
    none: 0,
    deferred: 3,
    due: 0,
    executing: 0,
    completed: 2,
  });
});
