/**
 * The embedded mode's two ways to its own event store, side by side in one run and one process:
 * the EventStoreDB adapter over loopback gRPC to the emulator (what the embedded mode did), and
 * the in-process adapter over the emulator's store (no gRPC, no protobuf).
 *
 *   npx tsx bench/in-process.ts [--events 20000] [--commands 20000] [--grpc-commands 2000] [--data-dir DIR]
 *
 * - commands/s through the command handler (read, fold, decide, append; the sample account
 *   decider), 1 and 16 writers on distinct streams, with latency percentiles and the ratio;
 * - projector catch-up from the start of `$all` into the in-memory read store, events/s both ways.
 * The emulator runs in this process, as in the embedded mode; memory only unless `--data-dir`
 * (then every append is fsynced, as the service's default data directory is).
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startEmulator } from '../src/emulator/index.ts';
import type { AllPosition } from '../src/eventsourcing/core/events.ts';
import type { Projection } from '../src/eventsourcing/core/projection.ts';
import { createEsdbEventStore } from '../src/eventsourcing/eventstore/esdb.ts';
import { createInProcessEventStore } from '../src/eventsourcing/eventstore/in-process.ts';
import type { EventStore } from '../src/eventsourcing/eventstore/port.ts';
import { createProjector } from '../src/eventsourcing/projection/projector.ts';
import { createInMemoryReadStore } from '../src/eventsourcing/readstore/memory.ts';
import { accountEvents, accountsProjection } from '../test/support/eventsourcing-sample.ts';
import { commandThroughput, fmt, seedAccounts } from './support/accounts.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '20000' },
    commands: { type: 'string', default: '20000' },
    'grpc-commands': { type: 'string' },
    'data-dir': { type: 'string' },
  },
});

async function catchUp(eventStore: EventStore, category: string, last: AllPosition) {
  const projection = accountsProjection(`bench_${randomUUID().slice(0, 8)}`) as unknown as Projection;
  const projector = createProjector({
    name: `bench-${randomUUID().slice(0, 8)}`,
    eventStore,
    readStore: createInMemoryReadStore(),
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
  await projector.stop();
  return { perSecond: processed / seconds, seconds, processed };
}

async function main() {
  const totalEvents = Number(args.events);
  const localCommands = Number(args.commands);
  const grpcCommands = Number(args['grpc-commands'] ?? Math.max(200, Math.round(localCommands / 10)));
  const dataDir = args['data-dir'];
  const emulator = await startEmulator(dataDir === undefined ? { port: 0 } : { port: 0, dataDir });
  const grpc = createEsdbEventStore({ connectionString: emulator.connectionString });
  const local = createInProcessEventStore(emulator, { persistent: grpc.persistent });
  const ways = [
    { name: 'gRPC (esdb adapter → emulator, loopback)', store: grpc, commands: grpcCommands },
    { name: 'in-process adapter', store: local, commands: localCommands },
  ];
  try {
    console.log(
      `# embedded event store: gRPC vs in-process — node ${process.version}, emulator in this process, ${dataDir === undefined ? 'memory' : `data dir ${dataDir} (fsync always)`}`,
    );
    // Warm both paths (JIT, connection) before measuring.
    for (const way of ways) await commandThroughput(way.store, 4, 400);

    console.log('## commands through the command handler (sample account decider)');
    for (const writers of [1, 16]) {
      const results = [];
      for (const way of ways) {
        const result = await commandThroughput(way.store, writers, way.commands);
        results.push(result);
        console.log(
          `${writers} writer(s), ${way.name}: ${fmt(result.perSecond)} commands/s, p50 ${result.p50.toFixed(2)} ms, p99 ${result.p99.toFixed(2)} ms (${fmt(result.count)} commands)`,
        );
      }
      const [viaGrpc, inProcess] = results as [(typeof results)[0], (typeof results)[0]];
      console.log(
        `${writers} writer(s): in-process / gRPC = ${(inProcess.perSecond / viaGrpc.perSecond).toFixed(1)}×`,
      );
    }

    console.log(
      `## projector catch-up from the start of $all → in-memory read store (${fmt(totalEvents)} events)`,
    );
    const category = `bench${randomUUID().slice(0, 6)}`;
    const t0 = performance.now();
    const last = await seedAccounts(local, category, totalEvents);
    console.log(`seeded in process in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const results = [];
    for (const way of ways) {
      const result = await catchUp(way.store, category, last);
      results.push(result);
      console.log(
        `${way.name}: ${fmt(result.perSecond)} events/s (${fmt(result.processed)} events in ${result.seconds.toFixed(2)} s)`,
      );
    }
    const [viaGrpc, inProcess] = results as [(typeof results)[0], (typeof results)[0]];
    console.log(`projector: in-process / gRPC = ${(inProcess.perSecond / viaGrpc.perSecond).toFixed(1)}×`);
  } finally {
    await local.close();
    await grpc.close();
    await emulator.close();
  }
}

await main();
