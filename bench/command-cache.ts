/**
 * Commands through gRPC with and without the command handler's state cache, beside Emmett's
 * EventStoreDB command handler on the same aggregate and the same emulator (its own process).
 *
 *   npx tsx bench/command-cache.ts [--commands 600] [--rounds 3] [--long-streams 4] [--long-commands 200]
 *
 * - 10-event streams (an open, then nine deposits per account, each writer on its own accounts),
 *   1 and 16 writers: the handler with the cache, without it, and Emmett, in alternating rounds
 *   (the order rotates each round); medians of the rounds are printed with the ratios;
 * - 1,000-event streams: the cost of a command with the cache once the stream is cached, beside
 *   its cost at 10 events, and the first command's full read; the handler without the cache at
 *   1,000 events for reference.
 * Emmett is installed on demand into bench/emmett/ (`npm ci --prefix bench/emmett`), apart from
 * the project's dependencies.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { createCommandHandler } from '../src/eventsourcing/command/handler.ts';
import { createEsdbEventStore } from '../src/eventsourcing/eventstore/esdb.ts';
import type { EventStore, NewEvent } from '../src/eventsourcing/eventstore/port.ts';
import {
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  accountDecider,
  accountEvents,
} from '../test/support/eventsourcing-sample.ts';

const { values: args } = parseArgs({
  options: {
    commands: { type: 'string', default: '600' },
    rounds: { type: 'string', default: '3' },
    'long-streams': { type: 'string', default: '4' },
    'long-commands': { type: 'string', default: '200' },
    'serve-emulator': { type: 'boolean', default: false },
  },
});

/** What the bench uses of Emmett: its decider command handler over its EventStoreDB store. */
type EmmettCommand = { type: string; data: AccountCommand };
type EmmettModules = {
  handle: (store: unknown, id: string, command: EmmettCommand) => Promise<unknown>;
  store: unknown;
  close: () => Promise<void>;
};

const emmettDir = new URL('./emmett/', import.meta.url).pathname;

async function loadEmmett(connectionString: string): Promise<EmmettModules> {
  if (!existsSync(`${emmettDir}node_modules/@event-driven-io/emmett-esdb`)) {
    console.log('installing the comparison package into bench/emmett …');
    execFileSync('npm', ['ci', '--prefix', emmettDir, '--no-audit', '--no-fund'], { stdio: 'inherit' });
  }
  const base = `${emmettDir}node_modules/`;
  // Emmett takes its own copy of the client (the same version as ours), as an application would.
  const emmett = await import(`${base}@event-driven-io/emmett/dist/index.js`);
  const emmettEsdb = await import(`${base}@event-driven-io/emmett-esdb/dist/index.js`);
  const { EventStoreDBClient } = await import(`${base}@eventstore/db-client/dist/index.js`);
  const client = EventStoreDBClient.connectionString(connectionString);
  const decide = emmett.DeciderCommandHandler({
    decide: (command: EmmettCommand, state: AccountState) => [...accountDecider.decide(command.data, state)],
    evolve: (state: AccountState, event: AccountEvent) => accountDecider.evolve(state, event),
    initialState: accountDecider.initialState,
  }) as EmmettModules['handle'];
  return {
    handle: decide,
    store: emmettEsdb.getEventStoreDBEventStore(client),
    close: () => client.dispose(),
  };
}

async function startEmulatorProcess(): Promise<{ connectionString: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', new URL(import.meta.url).pathname, '--serve-emulator'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    if (line.startsWith('esdb://')) return { connectionString: line.trim(), child };
  }
  throw new Error('the emulator process exited before listening');
}

type Run = { perSecond: number; p50: number; p99: number; cpuUsPerCommand: number; count: number };
type Handle = (stream: string, command: AccountCommand, key: string) => Promise<void>;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `commands` in total over `writers` concurrent writers; each writer opens an account, deposits nine times, moves on. */
async function tenEventStreams(handle: Handle, writers: number, commands: number): Promise<Run> {
  const category = `cmd${randomUUID().slice(0, 8)}`;
  const perWriter = Math.ceil(commands / writers);
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) {
        const id = `w${w}a${Math.floor(i / 10)}`;
        const command: AccountCommand =
          i % 10 === 0
            ? { type: 'OpenAccount', accountId: id, owner: 'bench' }
            : { type: 'Deposit', accountId: id, amount: 1 };
        const t0 = performance.now();
        await handle(`${category}-${id}`, command, `c-${w}-${i}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuUsPerCommand: (used.user + used.system) / latencies.length,
    count: latencies.length,
  };
}

/** Streams of `length` events (an open and deposits, each with its own idempotency key). */
async function seedLongStreams(eventStore: EventStore, count: number, length: number): Promise<string[]> {
  const category = `long${randomUUID().slice(0, 8)}`;
  const streams: string[] = [];
  for (let s = 0; s < count; s++) {
    const id = `s${s}`;
    const stream = `${category}-${id}`;
    const events: NewEvent[] = Array.from({ length }, (_, i) => {
      const event: AccountEvent =
        i === 0
          ? { type: 'AccountOpened', data: { accountId: id, owner: 'bench' } }
          : { type: 'MoneyDeposited', data: { accountId: id, amount: 1, currency: 'EUR' } };
      return {
        id: randomUUID(),
        type: event.type,
        data: event.data,
        metadata: {
          idempotencyKey: `seed-${i}`,
          correlationId: 'seed',
          causationId: 'seed',
          actor: 'bench',
          schemaVersion: accountEvents.versionOf(event.type),
        },
      };
    });
    for (let from = 0; from < length; from += 100) {
      const outcome = await eventStore.appendToStream(
        stream,
        events.slice(from, from + 100),
        from === 0 ? 'no_stream' : BigInt(from - 1),
      );
      if (outcome.outcome !== 'appended') throw new Error('seeding conflicted');
    }
    streams.push(stream);
  }
  return streams;
}

/** Deposits round-robin over `streams`; the first pass is timed apart (it reads each stream). */
async function longStreams(handle: Handle, streams: string[], commands: number) {
  const first: number[] = [];
  for (const [s, stream] of streams.entries()) {
    const t0 = performance.now();
    await handle(stream, { type: 'Deposit', accountId: `s${s}`, amount: 1 }, `first-${randomUUID()}`);
    first.push(performance.now() - t0);
  }
  const latencies: number[] = [];
  const cpu = process.cpuUsage();
  const started = performance.now();
  for (let i = 0; i < commands; i++) {
    const s = i % streams.length;
    const t0 = performance.now();
    await handle(streams[s]!, { type: 'Deposit', accountId: `s${s}`, amount: 1 }, `l-${randomUUID()}`);
    latencies.push(performance.now() - t0);
  }
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  latencies.sort((a, b) => a - b);
  return {
    perSecond: commands / seconds,
    msPerCommand: (seconds * 1000) / commands,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    cpuUsPerCommand: (used.user + used.system) / commands,
    firstMs: median(first),
  };
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

async function main() {
  const commands = Number(args.commands);
  const rounds = Number(args.rounds);
  const longCount = Number(args['long-streams']);
  const longCommands = Number(args['long-commands']);
  const emulator = await startEmulatorProcess();
  const eventStore = createEsdbEventStore({ connectionString: emulator.connectionString });
  const emmett = await loadEmmett(emulator.connectionString);
  const handlerOf = (cache: boolean) => {
    const handler = createCommandHandler({
      eventStore,
      decider: accountDecider,
      // The bench passes whole stream names as ids.
      streamName: (stream) => stream,
      events: accountEvents,
      ...(cache ? {} : { cache: false as const }),
    });
    const handle: Handle = async (stream, command, key) => {
      const result = await handler.handle(stream, command, { idempotencyKey: key, actor: 'bench' });
      if (result.outcome !== 'appended') throw new Error(`unexpected ${result.outcome}`);
    };
    return { handler, handle };
  };
  const emmettHandle: Handle = async (stream, command) => {
    await emmett.handle(emmett.store, stream, { type: command.type, data: command });
  };
  try {
    console.log(
      `# command handler state cache — ${commands} commands a run, ${rounds} alternating rounds, node ${process.version}, load average ${loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    // Warm the connections and the JIT once for each contender.
    for (const handle of [handlerOf(true).handle, handlerOf(false).handle, emmettHandle]) {
      await tenEventStreams(handle, 4, 80);
    }
    const kinds = ['cache', 'no cache', 'Emmett'] as const;
    for (const writers of [1, 16]) {
      const runs: Record<(typeof kinds)[number], Run[]> = { cache: [], 'no cache': [], Emmett: [] };
      for (let round = 0; round < rounds; round++) {
        for (let k = 0; k < kinds.length; k++) {
          const kind = kinds[(k + round) % kinds.length]!;
          const handle =
            kind === 'Emmett'
              ? emmettHandle
              : kind === 'cache'
                ? handlerOf(true).handle
                : handlerOf(false).handle;
          runs[kind].push(await tenEventStreams(handle, writers, commands));
        }
      }
      console.log(`## 10-event streams, ${writers} writer(s) (median of ${rounds} rounds)`);
      const cached = median(runs.cache.map((r) => r.perSecond));
      for (const kind of kinds) {
        const perSecond = median(runs[kind].map((r) => r.perSecond));
        console.log(
          `${kind.padEnd(9)} ${fmt(perSecond).padStart(6)} commands/s  p50 ${median(runs[kind].map((r) => r.p50)).toFixed(2)} ms  p99 ${median(runs[kind].map((r) => r.p99)).toFixed(2)} ms  client CPU ${fmt(median(runs[kind].map((r) => r.cpuUsPerCommand)))} µs/command  rounds ${runs[kind].map((r) => fmt(r.perSecond)).join(' / ')}${kind === 'cache' ? '' : `  → cache is ${(cached / perSecond).toFixed(2)}×`}`,
        );
      }
    }

    console.log(`## 1,000-event streams (${longCount} streams, ${longCommands} commands round-robin)`);
    const shortCached = await tenEventStreams(handlerOf(true).handle, 1, commands);
    const streams = await seedLongStreams(eventStore, longCount, 999);
    const cached = handlerOf(true);
    const long = await longStreams(cached.handle, streams, longCommands);
    const uncachedStreams = await seedLongStreams(eventStore, 2, 999);
    const uncached = await longStreams(handlerOf(false).handle, uncachedStreams, Math.min(40, longCommands));
    const shortMs = 1000 / shortCached.perSecond;
    console.log(
      `cache, 10-event streams:    ${shortMs.toFixed(2)} ms/command (p50 ${shortCached.p50.toFixed(2)} ms, client CPU ${fmt(shortCached.cpuUsPerCommand)} µs)`,
    );
    console.log(
      `cache, 1,000-event streams: ${long.msPerCommand.toFixed(2)} ms/command (p50 ${long.p50.toFixed(2)} ms, p99 ${long.p99.toFixed(2)} ms, client CPU ${fmt(long.cpuUsPerCommand)} µs) → ${(long.msPerCommand / shortMs).toFixed(2)}× the 10-event cost; first command (full read) ${long.firstMs.toFixed(1)} ms`,
    );
    console.log(
      `no cache, 1,000-event streams: ${uncached.msPerCommand.toFixed(2)} ms/command (p50 ${uncached.p50.toFixed(2)} ms, client CPU ${fmt(uncached.cpuUsPerCommand)} µs) → cache is ${(uncached.msPerCommand / long.msPerCommand).toFixed(1)}×`,
    );
    const stats = cached.handler.stats();
    console.log(
      `cache stats (1,000-event run): ${stats.entries} entries, ${fmt(stats.bytes / 1024)} KiB, ${stats.hits} hits, ${stats.misses} misses, ${stats.tailReads} tail reads`,
    );
  } finally {
    await eventStore.close();
    await emmett.close();
    emulator.child.stdin?.end();
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
