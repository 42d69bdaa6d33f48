import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it, type TestContext } from 'node:test';
import { MongoClient } from 'mongodb';
import type { LeaseStore } from '../../../src/eventsourcing/leadership/lease.ts';
import { createMongoLeaseStore } from '../../../src/eventsourcing/leadership/mongo.ts';
import { leased } from '../../../src/eventsourcing/processor/leased.ts';
import { createProjectorProcessor } from '../../../src/eventsourcing/processor/projector-processor.ts';
import { createProjectionObserver } from '../../../src/eventsourcing/projection/observer.ts';
import { createProjector } from '../../../src/eventsourcing/projection/projector.ts';
import { createInMemoryReadStore } from '../../../src/eventsourcing/readstore/memory.ts';
import { createMongoReadStore } from '../../../src/eventsourcing/readstore/mongo.ts';
import { FencedOutError, type ReadStore } from '../../../src/eventsourcing/readstore/port.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { accountWriter, eventually } from '../../support/eventsourcing-projector-suite.ts';
import { accountEvents, accountsProjection } from '../../support/eventsourcing-sample.ts';
import { mongoUrl } from '../../support/services.ts';

const timing = { ttlMs: 1_500, renewAfterMs: 400, marginMs: 400 };

/**
 * One replica's view of the shared servers: its own clients, counting the writes it sends, and
 * able to freeze as a paused process would (calls wait until it resumes, then go through).
 */
function replica(url: string, database: string) {
  const readStore = createMongoReadStore({ url, database, aliasCacheMs: 0 });
  const leases = createMongoLeaseStore({ url, database });
  let gate: Promise<void> | null = null;
  let resume = () => {};
  const counts = { writes: 0, refused: 0 };
  const paused = async () => {
    while (gate) await gate;
  };
  const frozenReads: ReadStore = {
    ...readStore,
    async write(target, writes, fence) {
      await paused();
      counts.writes++;
      try {
        return await readStore.write(target, writes, fence);
      } catch (error) {
        if (error instanceof FencedOutError) counts.refused++;
        throw error;
      }
    },
    async saveCheckpoint(...args) {
      await paused();
      return readStore.saveCheckpoint(...args);
    },
  };
  const later = async <T>(call: () => Promise<T>): Promise<T> => {
    await paused();
    return call();
  };
  const frozenLeases: LeaseStore = {
    read: (name) => later(() => leases.read(name)),
    acquire: (...args) => later(() => leases.acquire(...args)),
    renew: (...args) => later(() => leases.renew(...args)),
    release: (...args) => later(() => leases.release(...args)),
    close: () => leases.close(),
  };

  return {
    readStore: frozenReads,
    leases: frozenLeases,
    counts,
    freeze() {
      gate = new Promise((resolve) => {
        resume = () => {
          gate = null;
          resolve();
        };
      });
    },
    resume: () => resume(),
    async close() {
      await readStore.close();
      await leases.close();
    },
  };
}

async function sharedDatabase(t: TestContext) {
  const url = mongoUrl(t);
  if (!url) return undefined;
  const database = `lease_rm_${randomUUID().slice(0, 10).replaceAll('-', '')}`;
  t.after(async () => {
    const client = new MongoClient(url);
    await client.db(database).dropDatabase();
    await client.close();
  });
  return { url, database };
}

it('two replicas share one projection by lease: one writes; a paused leader is replaced after the lease ends and its late writes are refused', async (t) => {
  const shared = await sharedDatabase(t);
  if (!shared) return;
  const eventStore = createInMemoryEventStore();
  const category = `acc${randomUUID().slice(0, 6)}`;
  const collection = `accounts_${category}`;
  const projection = accountsProjection(collection);
  const writer = accountWriter(eventStore, category);
  const options = {
    eventStore,
    projections: [projection],
    filter: { streamPrefixes: [`${category}-`] },
    events: accountEvents,
    batchDelayMs: 5,
    backoff: { initialDelayMs: 5, maxDelayMs: 50, factor: 2 },
  };
  const a = replica(shared.url, shared.database);
  const b = replica(shared.url, shared.database);
  const replicas = { a, b };
  const place = (id: 'a' | 'b') =>
    leased(
      createProjectorProcessor({ ...options, name: 'accounts', readStore: replicas[id].readStore }),
      replicas[id].leases,
      {
        replicaId: id,
        timing,
        following: createProjectionObserver({
          eventStore,
          readStore: replicas[id].readStore,
          projections: [projection.name],
        }),
      },
    );
  const processors = { a: place('a'), b: place('b') };
  t.after(async () => {
    a.resume();
    b.resume();
    await processors.a.stop();
    await processors.b.stop();
    await a.close();
    await b.close();
  });

  await processors.a.start();
  await processors.b.start();
  for (let n = 0; n < 20; n++) await writer.open(`p${n}`);
  const first = await writer.deposit('p0', 10);
  const leader = await eventually(
    'one replica to lead',
    () => processors.a.isLeader() || processors.b.isLeader(),
  ).then(() => (processors.a.isLeader() ? 'a' : 'b'));
  const follower = leader === 'a' ? 'b' : 'a';
  await eventually('the leader to project the first events', async () => {
    const slot = await a.readStore.slot(projection.name);
    return slot?.checkpoint ? slot.checkpoint.commit >= first.commit : false;
  });
  assert.equal(processors[follower].isLeader(), false);
  assert.equal(replicas[follower].counts.writes, 0, 'the follower wrote nothing');
  assert.equal(processors[follower].status().lease?.holder, leader);
  assert.equal(
    await processors[follower].waitFor(first, 5_000),
    true,
    'a follower answers waits from the stored checkpoints',
  );

  // The leader pauses (a stop-the-world pause, a frozen VM): nothing it sends arrives.
  replicas[leader].freeze();
  const pausedAt = Date.now();
  for (let n = 0; n < 20; n++) await writer.deposit(`p${n}`, n + 1);
  const last = await writer.close('p1');
  await eventually('the follower to take over', () => processors[follower].isLeader(), 10_000);
  const takeover = Date.now() - pausedAt;
  assert.ok(
    takeover >= timing.ttlMs - timing.renewAfterMs,
    `not before the lease could end (${takeover} ms)`,
  );
  assert.equal(await processors[follower].waitFor(last, 10_000), true, 'the new leader projects everything');
  assert.equal(processors[follower].status().lease?.token, 2, 'with a higher token');

  // The former leader resumes with the batch it had in hand: the read store refuses it.
  replicas[leader].resume();
  await eventually('the former leader to step down', () => !processors[leader].isLeader(), 10_000);
  await eventually(
    'the former leader to find the new holder',
    () => processors[leader].status().lease?.holder === follower,
  );
  assert.ok(replicas[leader].counts.refused >= 1, 'its late write was refused');
  assert.equal(processors[leader].status().failures.length, 0, 'a fenced-out write is not a failure');
  const slot = await b.readStore.slot(projection.name);
  assert.ok(slot?.checkpoint && slot.checkpoint.commit >= last.commit, 'the checkpoint did not go back');

  // The read model equals one a single projector builds from the same log.
  const reference = createInMemoryReadStore();
  const single = createProjector({ ...options, name: 'reference', readStore: reference });
  await single.start();
  assert.equal(await single.waitFor(last, 10_000), true);
  await single.stop();
  const sort: [string, 1][] = [['id', 1]];
  assert.deepEqual(
    await b.readStore.find(collection, { sort }),
    await reference.find(collection, { sort }),
    'complete and identical',
  );
  t.diagnostic(
    `take-over ${takeover} ms after the leader paused (lease ${timing.ttlMs} ms); refused writes of the former leader: ${replicas[leader].counts.refused}`,
  );
});
