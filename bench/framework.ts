/**
 * Event-sourcing framework benchmark: each measurement beside a naive baseline in the same run.
 *
 *   npx tsx bench/framework.ts [--events 20000] [--commands 2000] [--mongo URL | --memory-only]
 *
 * - command throughput: commands/s and latency percentiles, 1 and 16 concurrent writers, each on
 *   its own streams (read, fold, decide, append against the emulator in a child process);
 * - projector throughput from the start of `$all` into the in-memory and the MongoDB read store
 *   (FerretDB when `MONGODB_URL` or `.services/env` names one), batched against a naive
 *   projector that reads the document by `_id`, writes it and checkpoints once per event;
 * - rebuild time (shadow, replay, swap) for the same events.
 * Both projectors run over the same events, from the start of `$all` to the same last position.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { MongoClient } from 'mongodb';
import type { AllPosition } from '../src/eventsourcing/core/events.ts';
import { comparePositions } from '../src/eventsourcing/core/positions.ts';
import type { Projection } from '../src/eventsourcing/core/projection.ts';
import { createEsdbEventStore } from '../src/eventsourcing/eventstore/esdb.ts';
import type { EventStore } from '../src/eventsourcing/eventstore/port.ts';
import { toRecorded } from '../src/eventsourcing/projection/apply.ts';
import { createProjector } from '../src/eventsourcing/projection/projector.ts';
import { createInMemoryReadStore } from '../src/eventsourcing/readstore/memory.ts';
import { createMongoReadStore } from '../src/eventsourcing/readstore/mongo.ts';
import type { ReadStore } from '../src/eventsourcing/readstore/port.ts';
import { createInMemoryEventStore } from '../src/eventsourcing/testing/in-memory-event-store.ts';
import { accountEvents, accountsProjection } from '../test/support/eventsourcing-sample.ts';
import { commandThroughput, fmt, seedAccounts } from './support/accounts.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    commands: { type: 'string', default: '2000' },
    mongo: { type: 'string' },
    // FerretDB 1.x scans the collection on every update, so a million events there take hours.
    'memory-only': { type: 'boolean', default: false },
    'serve-emulator': { type: 'boolean', default: false },
  },
});

function mongoUrl(): string | undefined {
  if (args['memory-only']) return undefined;
  if (args.mongo) return args.mongo;
  if (process.env.MONGODB_URL) return process.env.MONGODB_URL;
  try {
    const env = readFileSync(new URL('../.services/env', import.meta.url), 'utf8');
    return /^MONGODB_URL=(.+)$/m.exec(env)?.[1];
  } catch {
    return undefined;
  }
}

async function startEmulatorProcess(): Promise<{ connectionString: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve-emulator'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    if (line.startsWith('esdb://')) return { connectionString: line.trim(), child };
  }
  throw new Error('the emulator process exited before listening');
}

async function batchedProjection(
  eventStore: EventStore,
  readStore: ReadStore,
  category: string,
  last: AllPosition,
) {
  const projection = accountsProjection(`bench_${randomUUID().slice(0, 8)}`) as unknown as Projection;
  const projector = createProjector({
    name: 'bench',
    eventStore,
    readStore,
    projections: [projection],
    filter: { streamPrefixes: [`${category}-`] },
    events: accountEvents,
    batchSize: 1000,
    batchDelayMs: 20,
  });
  const started = performance.now();
  await projector.start();
  if (!(await projector.waitFor(last, 600_000))) throw new Error('projector did not catch up');
  const seconds = (performance.now() - started) / 1000;
  const processed = projector.status().processedEvents;
  let rebuildSeconds = 0;
  const t0 = performance.now();
  await projector.rebuild(projection.name);
  rebuildSeconds = (performance.now() - t0) / 1000;
  await projector.stop();
  return { perSecond: processed / seconds, seconds, rebuildSeconds, processed };
}

/**
 * What batching is measured against: per event one read of the document by `_id` (the lookup
 * every server answers from its index), one guarded write and one checkpoint.
 */
async function naiveProjection(
  eventStore: EventStore,
  readStore: ReadStore,
  category: string,
  last: AllPosition,
) {
  const projection = accountsProjection(`naive_${randomUUID().slice(0, 8)}`) as unknown as Projection;
  const slot = await readStore.createSlot(projection.name, projection.collection, 1);
  const subscription = eventStore.subscribeToAll({
    from: 'start',
    filter: { streamPrefixes: [`${category}-`] },
  });
  let count = 0;
  const started = performance.now();
  for await (const message of subscription) {
    if (message.kind !== 'event') continue;
    const recorded = toRecorded(message.event, accountEvents);
    for (const id of projection.documentIds(recorded)) {
      const current = await readStore.get(projection.collection, id);
      const next = projection.evolve(current, recorded, id);
      await readStore.write(
        slot.target,
        next
          ? [{ op: 'upsert', document: next, position: recorded.position }]
          : [{ op: 'delete', id, position: recorded.position }],
      );
    }
    await readStore.saveCheckpoint(projection.name, slot.target, recorded.position);
    count++;
    if (comparePositions(recorded.position, last) >= 0) break;
  }
  await subscription.close();
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: count / seconds, seconds, count };
}

async function main() {
  const totalEvents = Number(args.events);
  const totalCommands = Number(args.commands);
  const emulator = await startEmulatorProcess();
  const eventStore = createEsdbEventStore({ connectionString: emulator.connectionString });
  const url = mongoUrl();
  const database = `bench_${randomUUID().slice(0, 8)}`;
  const stores: { name: string; make: () => ReadStore }[] = [
    { name: 'in-memory', make: createInMemoryReadStore },
  ];
  if (url)
    stores.push({ name: 'MongoDB wire (FerretDB)', make: () => createMongoReadStore({ url, database }) });
  const lines: string[] = [];
  const print = (line: string) => {
    lines.push(line);
    console.log(line);
  };
  try {
    print(`# framework benchmark — ${totalEvents.toLocaleString('en-US')} events, node ${process.version}`);
    print('## commands (emulator in a child process)');
    for (const writers of [1, 16]) {
      const result = await commandThroughput(eventStore, writers, totalCommands);
      print(
        `commands, ${writers} writer(s): ${fmt(result.perSecond)} commands/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms (${result.count} commands)`,
      );
    }

    print('## projector (catch-up from the start of $all)');
    const category = `bench${randomUUID().slice(0, 6)}`;
    const t0 = performance.now();
    const last = await seedAccounts(eventStore, category, totalEvents);
    print(
      `seeded ${totalEvents.toLocaleString('en-US')} events in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
    );

    // The projector's own ceiling: in-process event store and read store, no gRPC.
    const memoryEvents = createInMemoryEventStore();
    const memoryLast = await seedAccounts(memoryEvents, category, totalEvents);
    const cpu = await batchedProjection(memoryEvents, createInMemoryReadStore(), category, memoryLast);
    const cpuNaive = await naiveProjection(memoryEvents, createInMemoryReadStore(), category, memoryLast);
    const rows: string[][] = [];
    const row = (
      what: string,
      batched: { perSecond: number; seconds: number; processed: number; rebuildSeconds: number },
      naive: { perSecond: number; seconds: number; count: number },
    ) => {
      const same = batched.processed === naive.count ? '' : ` (UNEQUAL: naive ${naive.count} events)`;
      console.log(
        `${what}: batched ${fmt(batched.perSecond)} events/s, naive ${fmt(naive.perSecond)} events/s`,
      );
      rows.push([
        `${what}${same}`,
        `${fmt(batched.perSecond)} events/s (${batched.seconds.toFixed(2)} s)`,
        `${fmt(naive.perSecond)} events/s (${naive.seconds.toFixed(2)} s)`,
        `${(batched.perSecond / naive.perSecond).toFixed(1)}×`,
        `${batched.rebuildSeconds.toFixed(2)} s`,
      ]);
    };
    row('in-process event store → in-memory', cpu, cpuNaive);
    for (const store of stores) {
      const batched = await batchedProjection(eventStore, store.make(), category, last);
      const naive = await naiveProjection(eventStore, store.make(), category, last);
      row(`emulator → ${store.name}`, batched, naive);
    }
    print(
      `both over the same ${totalEvents.toLocaleString('en-US')} events; naive reads each document by _id`,
    );
    print(
      '| projector | batched | naive, one read by _id + write + checkpoint per event | ratio | batched rebuild |',
    );
    print('|---|---:|---:|---:|---:|');
    for (const cells of rows) print(`| ${cells.join(' | ')} |`);
  } finally {
    await eventStore.close();
    emulator.child.stdin?.end();
    if (url) {
      const client = new MongoClient(url);
      await client
        .db(database)
        .dropDatabase()
        .catch(() => undefined);
      await client.close();
    }
  }
}

if (args['serve-emulator']) {
  // Child mode: the emulator in its own process, so it does not share the event loop with the load.
  const { startEmulator } = await import('../src/emulator/index.ts');
  const emulator = await startEmulator({ port: 0 });
  console.log(emulator.connectionString);
  process.stdin.resume();
  process.stdin.on('end', () => void emulator.close().then(() => process.exit(0)));
} else {
  await main();
}
