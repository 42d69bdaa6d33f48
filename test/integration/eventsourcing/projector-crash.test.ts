import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { MongoClient } from 'mongodb';
import { startEmulator } from '../../../src/emulator/index.ts';
import { comparePositions } from '../../../src/eventsourcing/core/positions.ts';
import { createEsdbEventStore } from '../../../src/eventsourcing/eventstore/esdb.ts';
import { createProjector } from '../../../src/eventsourcing/projection/projector.ts';
import { createInMemoryReadStore } from '../../../src/eventsourcing/readstore/memory.ts';
import { createMongoReadStore } from '../../../src/eventsourcing/readstore/mongo.ts';
import { accountWriter, eventually } from '../../support/eventsourcing-projector-suite.ts';
import { accountEvents, accountsProjection } from '../../support/eventsourcing-sample.ts';
import { mongoUrl } from '../../support/services.ts';

const KILLS = 20;
const child = new URL('./crash-projector-child.ts', import.meta.url).pathname;

async function startChild(args: string[]): Promise<ChildProcess> {
  const process_ = spawn(process.execPath, ['--import', 'tsx', child, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: process_.stdout! });
  for await (const line of lines) if (line === 'started') return process_;
  throw new Error('projector child exited before starting');
}

test('a projector killed at random points while events flow ends equal to a fresh rebuild', {
  timeout: 420_000,
}, async (t) => {
  const url = mongoUrl(t);
  if (!url) return;
  const emulator = await startEmulator({ port: 0 });
  const eventStore = createEsdbEventStore({ connectionString: emulator.connectionString });
  const suffix = randomUUID().slice(0, 8);
  const category = `crash${suffix}`;
  const collection = `crash_${suffix}`;
  const database = `crash_${suffix}`;
  const readStore = createMongoReadStore({ url, database, aliasCacheMs: 0 });
  t.after(async () => {
    await readStore.close();
    const client = new MongoClient(url);
    await client.db(database).dropDatabase();
    await client.close();
    await eventStore.close();
    await emulator.close();
  });

  // Events keep flowing during the kills: opens, deposits and closes over 25 accounts.
  const writer = accountWriter(eventStore, category);
  let writing = true;
  let last = await writer.open('a0');
  const opened = new Set(['a0']);
  const flow = (async () => {
    for (let i = 1; writing; i++) {
      const id = `a${i % 25}`;
      if (!opened.has(id)) {
        last = await writer.open(id);
        opened.add(id);
      } else if (i % 17 === 0) {
        last = await writer.close(id);
        opened.delete(id);
      } else {
        last = await writer.deposit(id, (i % 9) + 1);
      }
      // About 200 events a second: enough to land kills mid-batch, few enough for FerretDB.
      if (i % 2 === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    }
  })();

  const args = [emulator.connectionString, url, database, category, collection];
  for (let kill = 0; kill < KILLS; kill++) {
    const projector = await startChild(args);
    // A random moment of the child's run, so the kills land at every stage of a batch.
    await new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 250)));
    projector.kill('SIGKILL');
    await once(projector, 'exit');
  }
  writing = false;
  await flow;

  // A last run catches up with everything, then stops cleanly.
  const final = await startChild(args);
  await eventually(
    'the restarted projector to catch up',
    async () => {
      const checkpoint = (await readStore.slot(`crash_${collection}`))?.checkpoint;
      return checkpoint !== null && checkpoint !== undefined && comparePositions(checkpoint, last) >= 0;
    },
    180_000,
  );
  final.stdin?.end();
  await once(final, 'exit');

  // A fresh rebuild of the same events, in memory, to compare against.
  const fresh = createInMemoryReadStore();
  const rebuild = createProjector({
    name: 'fresh',
    eventStore,
    readStore: fresh,
    projections: [accountsProjection(collection, { name: `crash_${collection}` })],
    filter: { streamPrefixes: [`${category}-`] },
    events: accountEvents,
  });
  await rebuild.start();
  assert.equal(await rebuild.waitFor(last, 30_000), true);
  await rebuild.stop();

  const crashed = await readStore.find(collection, { sort: [['id', 1]] });
  const expected = await fresh.find(collection, { sort: [['id', 1]] });
  assert.ok(expected.length > 0);
  assert.deepEqual(crashed, expected);
});
