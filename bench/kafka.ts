/**
 * The Kafka bridge under load, against the real broker and FerretDB that `make services-up`
 * starts (connection details from .services/env), with the embedded event store in-process.
 *
 *   npx tsx bench/kafka.ts [messages=1000] [seconds-at-fixed-rate=2]
 *
 * 1. Inbound throughput: `messages` intakes published at once, timed until every case is in the
 *    `cases` read model (the whole pipeline: consume, validate, open the case, audit, commit,
 *    project), and until the consumer group has committed them all (the intake alone). In
 *    memory first with KAFKA_INTAKE_CONCURRENCY=1 (one message at a time per partition, the
 *    baseline), then with the default; then into FerretDB, which shows what it costs.
 * 2. End-to-end latency: a case's latency is the time from its publish to the moment it can be
 *    read from the `cases` read model (looked up by id, oldest unseen case first). In memory at
 *    the fixed 250 messages/s the aim names; into FerretDB at 500 messages/s and at half the
 *    throughput measured in 1, which the pipeline can sustain.
 * 3. Outbound: every notification written above, published again by a second persistent-
 *    subscription publisher (own group and topic), beside a bare kafkajs producer with the same
 *    settings (idempotent, acks -1, one message per send, 8 in parallel) and message size.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '../src/app/config.ts';
import { deriveId } from '../src/app/name-based-ids.ts';
import { startService } from '../src/app/service.ts';
import { caseIdFor, createCaseEventRegistry } from '../src/cases/index.ts';
import { createNotificationPublisher } from '../src/kafka/outbound.ts';
import { kafkaTestTopics, numberedIntake } from '../test/support/kafka-intake.ts';

const messages = Number(process.argv[2] ?? 1_000);
const fixedRateSeconds = Number(process.argv[3] ?? 2);
const aimedRate = 500;

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
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

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
    groupId: kafkaEnv.KAFKA_GROUP_ID,
    suffix,
    topics,
    async stop() {
      await service.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ idempotent: true });
await producer.connect();
type BenchService = Awaited<ReturnType<typeof startBenchService>>;

/**
 * Records when each case of a run reaches the `cases` read model, by looking up the oldest case
 * not seen yet by id (cheap even on FerretDB) and moving on when it is there. Cases processed out
 * of order are noticed when the walk reaches them, so a figure can only be late, never early.
 */
async function watchCases(bench: BenchService, run: string, count: number): Promise<number[]> {
  const arrivedAt: number[] = [];
  while (arrivedAt.length < count) {
    const caseId = caseIdFor(deriveId, numberedIntake(arrivedAt.length, run).key);
    if (await bench.service.readStore.get('cases', caseId)) arrivedAt.push(performance.now());
    // Each lookup costs the read store a query: poll gently so the watching does not slow the
    // pipeline it watches.
    else await sleep(10);
  }
  return arrivedAt;
}

/** Publishes intakes `from`..`to` of a run in batches of 500; resolves when Kafka has them all. */
async function publishAll(bench: BenchService, from: number, to: number, run: string) {
  const batch = Array.from({ length: to - from }, (_, i) => {
    const { key, value } = numberedIntake(from + i, run);
    return { key, value, headers: { 'idempotency-key': key } };
  });
  for (let i = 0; i < batch.length; i += 500) {
    await producer.send({ topic: bench.topics.inbound, acks: -1, messages: batch.slice(i, i + 500) });
  }
}

/** Resolves when the service's consumer group has committed `count` messages of its topic. */
async function watchCommitted(bench: BenchService, count: number): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (;;) {
      const [offsets] = await admin.fetchOffsets({ groupId: bench.groupId, topics: [bench.topics.inbound] });
      const committed = (offsets?.partitions ?? []).reduce(
        (sum, p) => sum + Math.max(0, Number(p.offset)),
        0,
      );
      if (committed >= count) return performance.now();
      await sleep(20);
    }
  } finally {
    await admin.disconnect();
  }
}

/** Messages/s from publish to the last offset committed (intake) and to the last case in the read model. */
async function inboundThroughput(
  bench: BenchService,
  count: number,
): Promise<{ intake: number; projected: number }> {
  const run = `${bench.suffix}-a`;
  const started = performance.now();
  const arrived = watchCases(bench, run, count);
  const committed = watchCommitted(bench, count);
  await publishAll(bench, 0, count, run);
  const last = (await arrived).at(-1) ?? started;
  const rate = (end: number) => count / ((end - started) / 1000);
  return { intake: rate(await committed), projected: rate(last) };
}

/** Publishes `total` intakes at `rate` per second; latencies (ms) from publish to the read model. */
async function latencyAtRate(bench: BenchService, rate: number, total: number, run: string) {
  const sentAt: number[] = [];
  const watcher = watchCases(bench, run, total);
  const begin = performance.now();
  const sends: Promise<unknown>[] = [];
  for (let n = 0; n < total; n++) {
    const wait = begin + (n * 1000) / rate - performance.now();
    if (wait > 0) await sleep(wait);
    sentAt.push(performance.now());
    const { key, value } = numberedIntake(n, run);
    sends.push(
      producer.send({
        topic: bench.topics.inbound,
        acks: -1,
        messages: [{ key, value, headers: { 'idempotency-key': key } }],
      }),
    );
  }
  await Promise.all(sends);
  const arrivedAt = await watcher;
  return sentAt.map((sent, i) => arrivedAt[i]! - sent).sort((a, b) => a - b);
}

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
async function outboundThroughput(bench: BenchService, expected: number): Promise<number> {
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
  await publisher.start();
  while (received < expected) await sleep(10);
  const rate = expected / ((performance.now() - started) / 1000);
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

const rows: [string, string][] = [];
const latencyRows = (label: string, latencies: number[]) => {
  rows.push([`${label}: p50`, `${percentile(latencies, 0.5).toFixed(0)} ms`]);
  rows.push([`${label}: p99`, `${percentile(latencies, 0.99).toFixed(0)} ms`]);
};
const memoryRate = 250;
try {
  for (const concurrency of [1, undefined]) {
    const label =
      concurrency === undefined
        ? 'KAFKA_INTAKE_CONCURRENCY default'
        : `KAFKA_INTAKE_CONCURRENCY=${concurrency}`;
    phase(`inbound, read models in memory, ${label}: ${messages} intakes`);
    const memory = await startBenchService('memory', concurrency);
    try {
      const rate = await inboundThroughput(memory, messages);
      rows.push([
        `inbound: ${messages} intakes, read models in memory, ${label}`,
        `${rate.projected.toFixed(0)} msg/s`,
      ]);
      rows.push([`  of which the intake alone (offsets committed)`, `${rate.intake.toFixed(0)} msg/s`]);
      if (concurrency !== undefined) continue;
      phase(`end to end, read models in memory: ${memoryRate} msg/s for 10 s`);
      latencyRows(
        `end to end at ${memoryRate} msg/s for 10 s, in memory, ${label}`,
        await latencyAtRate(memory, memoryRate, memoryRate * 10, `${memory.suffix}-c`),
      );
    } finally {
      await memory.stop();
    }
  }

  const bench = await startBenchService('ferretdb');
  try {
    phase(`inbound, read models in FerretDB: ${messages} intakes`);
    const rates = await inboundThroughput(bench, messages);
    const throughput = rates.projected;
    rows.push([`inbound: ${messages} intakes, read models in FerretDB`, `${throughput.toFixed(0)} msg/s`]);
    rows.push([`  of which the intake alone (offsets committed)`, `${rates.intake.toFixed(0)} msg/s`]);

    const atAim = aimedRate * fixedRateSeconds;
    phase(`end to end: ${aimedRate} msg/s for ${fixedRateSeconds} s`);
    latencyRows(
      `end to end at ${aimedRate} msg/s for ${fixedRateSeconds} s, FerretDB`,
      await latencyAtRate(bench, aimedRate, atAim, `${bench.suffix}-b`),
    );

    const sustainable = Math.max(1, Math.floor(throughput / 2));
    const atHalf = sustainable * 10;
    phase(`end to end: ${sustainable} msg/s for 10 s`);
    latencyRows(
      `end to end at ${sustainable} msg/s (half the throughput) for 10 s, FerretDB`,
      await latencyAtRate(bench, sustainable, atHalf, `${bench.suffix}-c`),
    );

    const notifications = await notificationsStored(bench);
    phase(`outbound: ${notifications} notifications`);
    const outbound = await outboundThroughput(bench, notifications);
    phase('baseline: bare producer');
    const bare = await bareProducerThroughput(notifications, 700);
    rows.push([
      `outbound: ${notifications} notifications published and acked`,
      `${outbound.toFixed(0)} msg/s`,
    ]);
    rows.push(['baseline: bare kafkajs producer, same settings and count', `${bare.toFixed(0)} msg/s`]);
    rows.push(['outbound / baseline', (outbound / bare).toFixed(2)]);
  } finally {
    await bench.stop();
  }

  console.log('\nKafka bridge benchmark (real broker, embedded event store in-process)\n');
  console.log('| measure | figure |');
  console.log('|---|---:|');
  for (const [measure, figure] of rows) console.log(`| ${measure} | ${figure} |`);
} finally {
  await producer.disconnect();
}
