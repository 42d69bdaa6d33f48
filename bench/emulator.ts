/**
 * The embedded event store under load: the emulator runs as its own process (the CLI), driven
 * by the real client from this one, so the two share the machine's cores as they would in use.
 *
 *   npx tsx bench/emulator.ts [events=1000000]
 *
 * `events` sizes the read, recovery and memory figures (1 million 1 KB events by default; pass
 * e.g. 20000 for a quick run). Appends and persistent-subscription delivery use a tenth of it
 * (at least 2,000). Prints events/s and MB/s, with baselines where one means something:
 * raw append+fdatasync of the same bytes for durable appends.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  binaryEvent,
  EventStoreDBClient,
  persistentSubscriptionToStreamSettingsFromDefaults,
  START,
} from '@eventstore/db-client';
import convertModule from '@eventstore/db-client/dist/utils/convertGrpcEvent.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { readEventResponse } from '../src/emulator/grpc/events.ts';
import { EmulatorStore } from '../src/emulator/store.ts';

const { convertGrpcEvent } = convertModule;

const total = Number(process.argv[2] ?? 1_000_000);
const appendCount = Math.max(2_000, Math.floor(total / 10));
const EVENT_SIZE = 1024;
const cli = new URL('../src/app/cli/main.ts', import.meta.url).pathname;
const tsx = import.meta.resolve('tsx');
const scratch = mkdtempSync(join(tmpdir(), 'emulator-bench-'));
const payload = randomBytes(EVENT_SIZE);

type Emulator = { child: ChildProcess; connectionString: string; startupMs: number };

async function startEmulator(args: string[]): Promise<Emulator> {
  const started = performance.now();
  const child = spawn(
    process.execPath,
    ['--import', tsx, cli, 'eventstore-emulator', '--port', '0', ...args],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const connectionString = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (\S+)/.exec(out);
      if (match) resolve(match[1]!);
    });
    child.once('exit', (code) => reject(new Error(`emulator exited with ${code}`)));
  });
  return { child, connectionString, startupMs: performance.now() - started };
}

async function stopEmulator(emulator: Emulator): Promise<void> {
  const done = new Promise((resolve) => emulator.child.once('exit', resolve));
  emulator.child.kill('SIGTERM');
  await done;
}

function residentMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

function row(name: string, events: number, ms: number, extra = ''): void {
  const perSecond = (events / ms) * 1000;
  const mbPerSecond = (perSecond * EVENT_SIZE) / (1024 * 1024);
  console.log(
    `${name.padEnd(52)} ${Math.round(perSecond).toLocaleString('en').padStart(10)} events/s ${mbPerSecond.toFixed(1).padStart(7)} MB/s${extra}`,
  );
}

const events = (count: number) =>
  Array.from({ length: count }, () => binaryEvent({ type: 'bench', data: payload }));

/** `writers` concurrent loops, each appending `batch`-event appends to its own stream. */
async function appendLoad(
  client: EventStoreDBClient,
  count: number,
  batch: number,
  writers: number,
): Promise<number> {
  const perWriter = Math.ceil(count / batch / writers);
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, writer) => {
      const stream = `bench-${writer}-${batch}-${randomBytes(4).toString('hex')}`;
      for (let i = 0; i < perWriter; i++) await client.appendToStream(stream, events(batch));
    }),
  );
  return performance.now() - started;
}

/** Raw baseline: the same bytes appended to a file, one fdatasync per write of `batch` events. */
function rawAppendMs(count: number, batch: number): number {
  const file = join(scratch, `raw-${batch}.bin`);
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(batch * EVENT_SIZE, 1);
  const started = performance.now();
  for (let written = 0; written < count; written += batch) {
    writeSync(fd, block);
    fdatasyncSync(fd);
  }
  const ms = performance.now() - started;
  closeSync(fd);
  rmSync(file);
  return ms;
}

async function appends(): Promise<void> {
  console.log(
    `\n# appends (${appendCount.toLocaleString('en')} events of ${EVENT_SIZE} bytes, 8 concurrent writers)`,
  );
  for (const mode of ['memory', 'durable'] as const) {
    const dir = join(scratch, `appends-${mode}`);
    const emulator = await startEmulator(mode === 'memory' ? ['--memory'] : ['--data-dir', dir]);
    const client = EventStoreDBClient.connectionString(emulator.connectionString);
    await client.appendToStream('warm-up', events(10));
    const single = Math.min(appendCount, 20_000);
    row(`${mode}: single-event appends`, single, await appendLoad(client, single, 1, 8));
    row(`${mode}: 100-event appends`, appendCount, await appendLoad(client, appendCount, 100, 8));
    await client.dispose();
    await stopEmulator(emulator);
  }
  const single = Math.min(appendCount, 20_000);
  row(
    'baseline: raw write+fdatasync per event',
    Math.min(single, 2_000),
    rawAppendMs(Math.min(single, 2_000), 1),
  );
  row('baseline: raw write+fdatasync per 100 events', appendCount, rawAppendMs(appendCount, 100));
}

/** Fills a data directory with `count` 1 KB events in 100-event appends, in-process (fast path). */
async function fill(dir: string, count: number): Promise<void> {
  const store = new EmulatorStore({ dataDir: dir, fsync: 'never' });
  const batch = Array.from({ length: 100 }, () => ({
    id: randomBytes(16),
    type: 'bench',
    isJson: false,
    data: payload,
    metadata: new Uint8Array(0),
  }));
  const pending: Promise<unknown>[] = [];
  for (let written = 0; written < count; written += 100) {
    const ids = batch.map((event) => ({ ...event, id: randomBytes(16) }));
    pending.push(store.append(`bench-${written % 1000}`, 'any', ids));
    if (pending.length >= 100) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
  await store.close();
}

async function readsAndRecovery(): Promise<void> {
  const dir = join(scratch, 'recovery');
  const fillStarted = performance.now();
  await fill(dir, total);
  const fillMs = performance.now() - fillStarted;
  console.log(
    `\n# ${total.toLocaleString('en')} events of ${EVENT_SIZE} bytes (written in-process in ${(fillMs / 1000).toFixed(1)} s)`,
  );
  const emulator = await startEmulator(['--data-dir', dir]);
  const rss = residentMb(emulator.child.pid!);
  console.log(
    `${'restart: recovery until listening'.padEnd(52)} ${(emulator.startupMs / 1000).toFixed(2).padStart(10)} s   resident ${rss.toFixed(0)} MB`,
  );
  const empty = await startEmulator(['--memory']);
  console.log(
    `${'baseline: start with an empty log'.padEnd(52)} ${(empty.startupMs / 1000).toFixed(2).padStart(10)} s   resident ${residentMb(empty.child.pid!).toFixed(0)} MB`,
  );
  await stopEmulator(empty);

  const client = EventStoreDBClient.connectionString(emulator.connectionString);
  let count = 0;
  let started = performance.now();
  for await (const _ of client.readAll({ fromPosition: START, maxCount: total + 10 })) count++;
  row('catch-up read of $all (readAll)', count, performance.now() - started);
  count = 0;
  started = performance.now();
  const subscription = client.subscribeToAll({ fromPosition: START });
  await new Promise<void>((resolve) => {
    subscription.on('data', () => count++);
    subscription.on('caughtUp', () => resolve());
  });
  row('catch-up subscription to $all until caughtUp', count, performance.now() - started);
  row('baseline: the client decoding the same responses, no I/O', ...(await clientDecodeCeiling()));
  await subscription.unsubscribe();
  console.log(
    `${'resident after the reads'.padEnd(52)} ${residentMb(emulator.child.pid!).toFixed(0).padStart(10)} MB`,
  );
  await client.dispose();
  await stopEmulator(emulator);
}

/**
 * What the client alone spends per event: deserialize a `ReadResp` with its generated class and
 * convert it with its own function, on bytes the emulator produced. Reads through the client
 * cannot beat this on one core.
 */
async function clientDecodeCeiling(): Promise<[number, number]> {
  const store = new EmulatorStore();
  await store.append('bench-decode', 'any', [
    { id: randomBytes(16), type: 'bench', isJson: false, data: payload, metadata: new Uint8Array(0) },
  ]);
  const bytes = readEventResponse(store, { event: 0, link: undefined }, false);
  const count = 50_000;
  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const response = streamsPb.ReadResp.deserializeBinary(bytes);
    convertGrpcEvent(response.getEvent()!);
  }
  return [count, performance.now() - started];
}

async function persistentDelivery(): Promise<void> {
  const count = appendCount;
  console.log(`\n# persistent subscription delivery with acks (${count.toLocaleString('en')} events)`);
  const emulator = await startEmulator(['--data-dir', join(scratch, 'persistent')]);
  const client = EventStoreDBClient.connectionString(emulator.connectionString);
  const stream = 'bench-persistent';
  for (let written = 0; written < count; written += 100) await client.appendToStream(stream, events(100));
  await client.createPersistentSubscriptionToStream(
    stream,
    'bench',
    persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START }),
  );
  const subscription = client.subscribeToPersistentSubscriptionToStream(stream, 'bench', { bufferSize: 100 });
  const started = performance.now();
  let received = 0;
  for await (const event of subscription) {
    await subscription.ack(event);
    if (++received === count) break;
  }
  row('delivery, one ack per event, buffer 100', received, performance.now() - started);
  await subscription.unsubscribe();
  await client.dispose();
  await stopEmulator(emulator);
}

try {
  await appends();
  await persistentDelivery();
  await readsAndRecovery();
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
