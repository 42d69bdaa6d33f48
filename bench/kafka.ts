/**
 * The Kafka bridge under load, against the real broker and FerretDB that `make services-up`
 * starts (connection details from .services/env), with the embedded event store in-process.
 *
 *   npx tsx bench/kafka.ts [--modes baseline,memory,ferretdb,outbound] [--messages 1000]
 *     [--rate 250] [--seconds 10] [--ferretdb-messages 500] [--ferretdb-rate <half its throughput>]
 *     [--baseline-concurrency 1] [--timeout 60] [--cpu-prof <dir>]
 *
 * Intakes are published by a child process (bench/support/kafka-producer.ts), so the service
 * measured here shares its process with nothing but this watching. Each row is printed as soon
 * as it is measured; every wait gives up after `--timeout` seconds and says how far it got.
 *
 * Two moments of each intake are watched, on an `$all` subscription of the service's own store:
 * - **acknowledged**: its raw audit record is in the log. The audit is the intake's last append
 *   (after the case), so the intake's command is done; only the batch's offset commit follows.
 * - **in the read models**: every projector's checkpoint has passed that record (the case, its
 *   persons, requirements and the audit row can all be read).
 * Latency is from the moment the producer handed the message to its client to each of these.
 *
 * Modes (each on a fresh service, topics and consumer group, after a warm-up of 100 intakes):
 * - `baseline`: read models in memory, `KAFKA_INTAKE_CONCURRENCY=--baseline-concurrency` (one
 *   message at a time per partition): `--messages` intakes published at once.
 * - `memory`: read models in memory, the default concurrency: the same burst, then `--rate`
 *   messages/s for `--seconds` with p50/p95/p99 of both latencies.
 * - `ferretdb`: read models in FerretDB: `--ferretdb-messages` at once, then the fixed rate run
 *   at `--ferretdb-rate` (default: the lower of `--rate` and half the throughput just measured).
 * - `outbound`: every notification the `memory` (else `baseline`) service stored, published again
 *   by a second persistent-subscription publisher (own group and topic), beside a bare kafkajs
 *   producer with the same settings (idempotent, acks -1, one message per send, 8 in parallel).
 *
 * `--cpu-prof <dir>` writes a CPU profile of this process per mode, from after the warm-up to the
 * end of its measures (`<dir>/kafka-<mode>.cpuprofile`, for Chrome DevTools or speedscope).
 *
 * Each row also says how busy the machine was meanwhile (all cores, from /proc/stat) and how much
 * CPU this process used (100 % = one core): the VM is shared, so figures move with its load.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '../src/app/config.ts';
import { startService } from '../src/app/service.ts';
import { createCaseEventRegistry } from '../src/cases/index.ts';
import type { AllPosition } from '../src/eventsourcing/core/events.ts';
import { createNotificationPublisher } from '../src/kafka/outbound.ts';
import { kafkaTestTopics } from '../test/support/kafka-intake.ts';
import type { ProduceReply, ProduceRequest } from './support/kafka-producer.ts';

const { values: args } = parseArgs({
  options: {
    modes: { type: 'string', default: 'baseline,memory,ferretdb,outbound' },
    messages: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '250' },
    seconds: { type: 'string', default: '10' },
    'ferretdb-messages': { type: 'string', default: '500' },
    'ferretdb-rate': { type: 'string' },
    'baseline-concurrency': { type: 'string', default: '1' },
    timeout: { type: 'string', default: '60' },
    'cpu-prof': { type: 'string' },
  },
});
const modes = new Set(args.modes.split(','));
const messages = Number(args.messages);
const rate = Number(args.rate);
const seconds = Number(args.seconds);
const ferretMessages = Number(args['ferretdb-messages']);
const baselineConcurrency = Number(args['baseline-concurrency']);
const timeoutMs = Number(args.timeout) * 1000;

const env = Object.fromEntries(
  (await readFile(new URL('../.services/env', import.meta.url), 'utf8').catch(() => ''))
    .split('\n')
    .map((line) => /^([A-Z_]+)=(.*)$/.exec(line))
    .filter((match) => match !== null)
    .map((match) => [match[1], match[2]]),
) as Record<string, string>;
if (!env.KAFKA_BROKERS || !env.MONGODB_URL) {
  console.error('start the test servers first: make services-up');
  process.exit(2);
}
const brokers = env.KAFKA_BROKERS.split(',');
const phase = (text: string) => process.stderr.write(`bench: ${text}\n`);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const now = () => performance.timeOrigin + performance.now();
const percentile = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;

/** Busy and total jiffies of all cores so far (Linux); undefined elsewhere. */
async function cpuTimes(): Promise<{ busy: number; total: number } | undefined> {
  const text = await readFile('/proc/stat', 'utf8').catch(() => undefined);
  const fields = text?.split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number);
  if (fields === undefined || fields.length < 5) return undefined;
  const total = fields.reduce((sum, value) => sum + value, 0);
  // idle and iowait are not busy.
  return { busy: total - fields[3]! - fields[4]!, total };
}

/**
 * Starts measuring the machine's and this process's CPU; the result reads both since then, and
 * this process's CPU time per item when told how many items it handled.
 */
async function loadMeter() {
  const machine = await cpuTimes();
  const ownBefore = process.cpuUsage();
  const started = performance.now();
  return async (items?: number) => {
    const after = await cpuTimes();
    const ownUs = process.cpuUsage(ownBefore);
    const wallMs = performance.now() - started;
    const busy =
      machine && after && after.total > machine.total
        ? `${(((after.busy - machine.busy) / (after.total - machine.total)) * 100).toFixed(0)} % of ${cpus().length} cores`
        : 'n/a';
    const own = `${(((ownUs.user + ownUs.system) / 1000 / wallMs) * 100).toFixed(0)} %`;
    const perItem =
      items === undefined || items === 0
        ? ''
        : `, ${((ownUs.user + ownUs.system) / 1000 / items).toFixed(2)} ms CPU an item`;
    return `machine ${busy}; this process ${own}${perItem}`;
  };
}

console.log('\nKafka bridge benchmark (real broker, embedded event store in-process)\n');
console.log('| measure | figure | load meanwhile |');
console.log('|---|---:|---|');
const row = (measure: string, figure: string, load = '') =>
  console.log(`| ${measure} | ${figure} | ${load} |`);

/** The producer process; one request at a time. */
const producerProcess: ChildProcess = fork(new URL('./support/kafka-producer.ts', import.meta.url), {
  execArgv: ['--import', 'tsx'],
  env: { ...process.env, KAFKA_BROKERS: env.KAFKA_BROKERS },
});
await new Promise<void>((resolve, reject) => {
  producerProcess.once('message', () => resolve());
  producerProcess.once('exit', (code) => reject(new Error(`the producer process exited (${code})`)));
});
function produce(request: ProduceRequest): Promise<ProduceReply> {
  return new Promise((resolve, reject) => {
    producerProcess.once('message', (answer: { ok: boolean; reply?: ProduceReply; error?: string }) =>
      answer.ok ? resolve(answer.reply!) : reject(new Error(answer.error)),
    );
    producerProcess.send(request);
  });
}

/** A service with its own data directory, topics and consumer group; FerretDB or memory read models. */
async function startBenchService(readModels: 'ferretdb' | 'memory', intakeConcurrency?: number) {
  const { suffix, topics, env: kafkaEnv } = kafkaTestTopics(brokers);
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-bench-kafka-'));
  const service = await startService(
    loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      ...(readModels === 'ferretdb'
        ? {
            MONGODB_URL: env.MONGODB_URL!,
            MONGODB_DATABASE: `bench_${suffix}`,
            PERSONAL_DATA_KEK: randomBytes(32).toString('base64'),
          }
        : {}),
      ...kafkaEnv,
      ...(intakeConcurrency === undefined ? {} : { KAFKA_INTAKE_CONCURRENCY: String(intakeConcurrency) }),
    }),
    pino({ level: 'error' }),
  );
  return {
    service,
    suffix,
    topics,
    async stop() {
      await service.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
type BenchService = Awaited<ReturnType<typeof startBenchService>>;

type Arrivals = {
  /** When intake n was acknowledged (its audit record in the log), undefined if not seen. */
  acked: (number | undefined)[];
  /** When every read model had intake n (only with `each`), undefined if not seen. */
  projected: (number | undefined)[];
  /** When every read model had all of them. */
  allProjected: number | undefined;
};

/**
 * Watches the audit records of intakes `0..count-1` of `run` arrive in the service's log, and
 * when the read models have them (each one, or only all of them). Resolves when all are in the
 * read models or after `timeoutMs`, with what was seen by then.
 */
async function watchRun(bench: BenchService, run: string, count: number, each: boolean) {
  const { eventStore, processors } = bench.service;
  const head = await eventStore.headOfAll();
  const subscription = eventStore.subscribeToAll({
    from: head?.position ?? 'start',
    filter: { streamPrefixes: ['intake-'] },
  });
  const arrivals: Arrivals = { acked: [], projected: [], allProjected: undefined };
  const prefix = `intake-${run}-`;
  const waits: Promise<void>[] = [];
  const deadline = Date.now() + timeoutMs;
  let seen = 0;
  let last: AllPosition | undefined;
  const watching = (async () => {
    for await (const message of subscription) {
      if (message.kind !== 'event') continue;
      const correlationId = (message.event.metadata as { correlationId?: string }).correlationId ?? '';
      if (!correlationId.startsWith(prefix)) continue;
      const n = Number(correlationId.slice(prefix.length));
      if (arrivals.acked[n] !== undefined) continue;
      arrivals.acked[n] = now();
      seen++;
      last = message.event.position;
      if (each) {
        const position = message.event.position;
        waits.push(
          processors.waitFor(position, Math.max(1, deadline - Date.now())).then((ok) => {
            if (ok) arrivals.projected[n] = now();
          }),
        );
      }
      if (seen === count) return;
    }
  })();
  const timedOut = sleep(timeoutMs).then(() => 'timeout' as const);
  const ended = await Promise.race([watching.then(() => 'all' as const), timedOut]);
  await subscription.close();
  if (ended === 'all' && last !== undefined) {
    if (await processors.waitFor(last, Math.max(1, deadline - Date.now()))) arrivals.allProjected = now();
  }
  await Promise.all(waits);
  return arrivals;
}

/** Publishes 100 intakes and waits for them: the group has joined and the code is warm. */
async function warmUp(bench: BenchService) {
  const run = `${bench.suffix}-warm`;
  const watched = watchRun(bench, run, 100, false);
  await produce({ kind: 'burst', topic: bench.topics.inbound, run, count: 100 });
  const arrivals = await watched;
  if (arrivals.allProjected === undefined) throw new Error('the warm-up did not finish: is the broker up?');
}

/** `count` intakes published at once: messages/s to acknowledged and to in the read models. */
async function burst(bench: BenchService, label: string, count: number) {
  phase(`${label}: ${count} intakes at once`);
  const run = `${bench.suffix}-burst`;
  const meter = await loadMeter();
  const watched = watchRun(bench, run, count, false);
  const { sentAt } = await produce({ kind: 'burst', topic: bench.topics.inbound, run, count });
  const arrivals = await watched;
  const load = await meter(count);
  const first = sentAt[0] ?? 0;
  const acked = arrivals.acked.filter((at) => at !== undefined);
  const lastAcked = Math.max(...acked);
  const perSecond = (n: number, end: number) => `${(n / ((end - first) / 1000)).toFixed(0)} msg/s`;
  if (acked.length < count) {
    row(
      `${label}: ${count} intakes at once, acknowledged`,
      `incomplete: ${acked.length} in ${args.timeout} s`,
      load,
    );
    return undefined;
  }
  row(`${label}: ${count} intakes at once, acknowledged`, perSecond(count, lastAcked), load);
  if (arrivals.allProjected === undefined) {
    row(`${label}: ${count} intakes at once, in the read models`, `incomplete after ${args.timeout} s`, load);
    return undefined;
  }
  row(
    `${label}: ${count} intakes at once, in the read models`,
    perSecond(count, arrivals.allProjected),
    load,
  );
  return count / ((arrivals.allProjected - first) / 1000);
}

/** `perSecond` intakes a second for `seconds`: latency percentiles to both moments. */
async function fixedRate(bench: BenchService, label: string, perSecond: number) {
  const count = Math.max(1, Math.round(perSecond * seconds));
  phase(`${label}: ${perSecond} msg/s for ${seconds} s`);
  const run = `${bench.suffix}-rate`;
  const meter = await loadMeter();
  const watched = watchRun(bench, run, count, true);
  const { sentAt } = await produce({
    kind: 'rate',
    topic: bench.topics.inbound,
    run,
    count,
    rate: perSecond,
  });
  const arrivals = await watched;
  const load = await meter(count);
  const achieved = count / (((sentAt.at(-1) ?? 0) - (sentAt[0] ?? 0)) / 1000 || 1);
  const report = (moment: string, at: (number | undefined)[]) => {
    const latencies = sentAt
      .map((sent, n) => (at[n] === undefined ? undefined : at[n] - sent))
      .filter((latency) => latency !== undefined)
      .sort((a, b) => a - b);
    const figures = [0.5, 0.95, 0.99].map((p) => percentile(latencies, p).toFixed(0)).join(' / ');
    const missing = count - latencies.length;
    row(
      `${label}: ${perSecond} msg/s for ${seconds} s (sent at ${achieved.toFixed(0)}/s), ${moment}, p50 / p95 / p99`,
      `${figures} ms${missing > 0 ? ` (${missing} of ${count} not seen in ${args.timeout} s)` : ''}`,
      load,
    );
  };
  report('acknowledged', arrivals.acked);
  report('in the read models', arrivals.projected);
}

const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });

/** How many NotificationRequired events the store holds, counted over $all. */
async function notificationsStored(bench: BenchService): Promise<number> {
  let count = 0;
  let after: Parameters<BenchService['service']['eventStore']['readAll']>[0] = 'start';
  for (;;) {
    const page = await bench.service.eventStore.readAll(after, 1_000);
    for (const event of page) if (event.type === 'NotificationRequired') count++;
    const last = page.at(-1);
    if (last === undefined) return count;
    after = last.position;
  }
}

/** Re-publishes every notification in the store through a fresh publisher; messages/s. */
async function outboundThroughput(bench: BenchService, expected: number): Promise<number | undefined> {
  const topic = `bench_outbound_${bench.suffix}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] });
  await admin.disconnect();
  let received = 0;
  const reader = kafka.consumer({ groupId: `bench-reader-${bench.suffix}` });
  await reader.connect();
  await reader.subscribe({ topic, fromBeginning: true });
  await reader.run({
    eachMessage: async () => {
      received++;
    },
  });
  const publisher = createNotificationPublisher({
    kafka,
    eventStore: bench.service.eventStore,
    events: createCaseEventRegistry(),
    logger: pino({ level: 'warn' }),
    topic,
    group: `bench-outbound-${bench.suffix}`,
  });
  const started = performance.now();
  const deadline = Date.now() + timeoutMs;
  await publisher.start();
  while (received < expected && Date.now() < deadline) await sleep(10);
  const rate = received < expected ? undefined : expected / ((performance.now() - started) / 1000);
  await publisher.stop();
  await reader.disconnect();
  return rate;
}

/** The same number of messages of the same size through a bare producer, same settings. */
async function bareProducerThroughput(count: number, size: number): Promise<number> {
  const topic = `bench_bare_${randomUUID().slice(0, 8)}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: 3 }] });
  await admin.disconnect();
  const bare = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await bare.connect();
  const value = JSON.stringify({ event_id: randomUUID(), payload: 'x'.repeat(Math.max(0, size - 60)) });
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < count) {
        const n = next++;
        await bare.send({ topic, acks: -1, messages: [{ key: `case-${n % 500}`, value }] });
      }
    }),
  );
  const rate = count / ((performance.now() - started) / 1000);
  await bare.disconnect();
  return rate;
}

async function outbound(bench: BenchService) {
  const notifications = await notificationsStored(bench);
  phase(`outbound: ${notifications} notifications`);
  const meter = await loadMeter();
  const published = await outboundThroughput(bench, notifications);
  const load = await meter(notifications);
  row(
    `outbound: ${notifications} notifications published and acked`,
    published === undefined ? `incomplete after ${args.timeout} s` : `${published.toFixed(0)} msg/s`,
    load,
  );
  phase('baseline: bare producer');
  const bare = await bareProducerThroughput(notifications, 700);
  row('baseline: bare kafkajs producer, same settings and count', `${bare.toFixed(0)} msg/s`);
  if (published !== undefined) row('outbound / baseline', (published / bare).toFixed(2));
}

/** With `--cpu-prof`: profiles this process while `work` runs, into `<dir>/kafka-<mode>.cpuprofile`. */
async function profiled(mode: string, work: () => Promise<void>) {
  const dir = args['cpu-prof'];
  if (dir === undefined) return work();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    await work();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `kafka-${mode}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  }
}

/** Runs `measure` on a fresh, warmed-up service, then stops it. */
async function withService(
  mode: string,
  readModels: 'ferretdb' | 'memory',
  concurrency: number | undefined,
  measure: (bench: BenchService) => Promise<void>,
) {
  const bench = await startBenchService(readModels, concurrency);
  try {
    await warmUp(bench);
    await profiled(mode, () => measure(bench));
  } finally {
    await bench.stop();
  }
}

try {
  const outboundAfter = modes.has('memory') ? 'memory' : 'baseline';
  if (modes.has('outbound') && !modes.has('memory') && !modes.has('baseline'))
    phase('outbound needs the notifications of the memory or baseline mode: add one of them');
  if (modes.has('baseline')) {
    await withService('baseline', 'memory', baselineConcurrency, async (bench) => {
      await burst(bench, `baseline, in memory, KAFKA_INTAKE_CONCURRENCY=${baselineConcurrency}`, messages);
      if (modes.has('outbound') && outboundAfter === 'baseline') await outbound(bench);
    });
  }
  if (modes.has('memory')) {
    await withService('memory', 'memory', undefined, async (bench) => {
      await burst(bench, 'in memory, default concurrency', messages);
      await fixedRate(bench, 'in memory, default concurrency', rate);
      if (modes.has('outbound')) await outbound(bench);
    });
  }
  if (modes.has('ferretdb')) {
    await withService('ferretdb', 'ferretdb', undefined, async (bench) => {
      const throughput = await burst(bench, 'FerretDB, default concurrency', ferretMessages);
      const ferretRate =
        args['ferretdb-rate'] === undefined
          ? Math.max(1, Math.floor(Math.min(rate, (throughput ?? 2) / 2)))
          : Number(args['ferretdb-rate']);
      await fixedRate(bench, 'FerretDB, default concurrency', ferretRate);
    });
  }
} finally {
  producerProcess.disconnect();
}
