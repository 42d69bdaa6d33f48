/**
 * The Kafka bridge under load, against the real broker and FerretDB that `make services-up`
 * starts (connection details from .services/env), with the embedded event store.
 *
 *   npx tsx bench/kafka.ts [messages=2000] [seconds-at-fixed-rate=10]
 *
 * 1. Inbound throughput: `messages` intakes published at once, timed until every case is in the
 *    `cases` read model in FerretDB (the whole pipeline: consume, validate, command, append,
 *    project, commit).
 * 2. End-to-end latency at a fixed 500 messages/s: a case's latency is the time from its publish
 *    to the moment the read model's case count covers it. Cases are matched to messages in
 *    order of arrival, so a figure is exact when processing is in order and close otherwise;
 *    the count is polled every 5 ms.
 * 3. Outbound: notifications published by the persistent-subscription publisher (one event at a
 *    time per case, acked in the event store after Kafka), beside a bare kafkajs producer with
 *    the same settings (idempotent, acks -1, one message per send, 8 in parallel).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '../src/app/config.ts';
import { startService } from '../src/app/service.ts';
import { createCaseEventRegistry } from '../src/cases/index.ts';
import { createNotificationPublisher } from '../src/kafka/outbound.ts';
import { kafkaTestTopics, numberedIntake } from '../test/support/kafka-intake.ts';

const messages = Number(process.argv[2] ?? 2_000);
const fixedRateSeconds = Number(process.argv[3] ?? 10);
const rate = 500;

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
const { suffix, topics, env: kafkaEnv } = kafkaTestTopics(brokers);
const dataDir = await mkdtemp(join(tmpdir(), 'kyc-bench-kafka-'));
const service = await startService(
  loadConfig({
    DATA_DIR: dataDir,
    PORT: '0',
    MONGODB_URL: env.MONGODB_URL,
    MONGODB_DATABASE: `bench_${suffix}`,
    ...kafkaEnv,
  }),
  pino({ level: 'warn' }),
);
const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ idempotent: true });
await producer.connect();

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitForCount(count: number, onProgress?: (count: number, at: number) => void): Promise<void> {
  for (;;) {
    const current = await service.readStore.count('cases');
    onProgress?.(current, performance.now());
    if (current >= count) return;
    await sleep(5);
  }
}

async function publish(from: number, to: number, run: string) {
  const batch = Array.from({ length: to - from }, (_, i) => {
    const { key, value } = numberedIntake(from + i, run);
    return { key, value, headers: { 'idempotency-key': key } };
  });
  for (let i = 0; i < batch.length; i += 500) {
    await producer.send({ topic: topics.inbound, acks: -1, messages: batch.slice(i, i + 500) });
  }
}

try {
  // 1. Throughput.
  const started = performance.now();
  await publish(0, messages, `${suffix}-a`);
  await waitForCount(messages);
  const inboundSeconds = (performance.now() - started) / 1000;

  // 2. Latency at a fixed rate.
  const total = rate * fixedRateSeconds;
  const sentAt: number[] = [];
  const arrivedAt: number[] = [];
  let observed = messages;
  const watcher = waitForCount(messages + total, (count, at) => {
    while (observed < count) {
      arrivedAt.push(at);
      observed++;
    }
  });
  const begin = performance.now();
  for (let n = 0; n < total; n++) {
    const due = begin + (n * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    sentAt.push(performance.now());
    const { key, value } = numberedIntake(n, `${suffix}-b`);
    void producer.send({
      topic: topics.inbound,
      acks: -1,
      messages: [{ key, value, headers: { 'idempotency-key': key } }],
    });
  }
  await watcher;
  const latencies = sentAt.map((sent, i) => (arrivedAt[i] ?? sent) - sent).sort((a, b) => a - b);

  // 3. Outbound: a second publisher (its own group and topic) replays every notification written
  // above from the start, as fast as it can; counted on its topic.
  const expectedNotifications = messages + total;
  const outboundTopic = `bench_outbound_${suffix}`;
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({
    waitForLeaders: true,
    topics: [
      { topic: outboundTopic, numPartitions: 3 },
      { topic: `bench_bare_${suffix}`, numPartitions: 3 },
    ],
  });
  await admin.disconnect();
  let received = 0;
  const reader = kafka.consumer({ groupId: `bench-reader-${suffix}` });
  await reader.connect();
  await reader.subscribe({ topic: outboundTopic, fromBeginning: true });
  await reader.run({
    eachMessage: async () => {
      received++;
    },
  });
  const publisher = createNotificationPublisher({
    kafka,
    eventStore: service.eventStore,
    events: createCaseEventRegistry(),
    logger: pino({ level: 'warn' }),
    topic: outboundTopic,
    group: `bench-outbound-${suffix}`,
  });
  const outboundStart = performance.now();
  await publisher.start();
  while (received < expectedNotifications) await sleep(10);
  const outboundSeconds = (performance.now() - outboundStart) / 1000;
  await publisher.stop();
  await reader.disconnect();

  // The same number of same-sized messages through a bare producer with the same settings.
  const bare = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await bare.connect();
  const bareTopic = `bench_bare_${suffix}`;
  const value = JSON.stringify({ event_id: randomUUID(), payload: 'x'.repeat(600) });
  const bareStart = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < expectedNotifications) {
        const n = next++;
        await bare.send({ topic: bareTopic, acks: -1, messages: [{ key: `case-${n % 500}`, value }] });
      }
    }),
  );
  const bareSeconds = (performance.now() - bareStart) / 1000;
  await bare.disconnect();

  const outboundRate = expectedNotifications / outboundSeconds;
  const bareRate = expectedNotifications / bareSeconds;
  console.log(`\nKafka bridge benchmark (real broker, FerretDB read models, embedded event store)\n`);
  console.log('| measure | figure |');
  console.log('|---|---:|');
  console.log(
    `| inbound: ${messages} intakes to the FerretDB read model | ${(messages / inboundSeconds).toFixed(0)} msg/s |`,
  );
  console.log(
    `| end to end at ${rate} msg/s for ${fixedRateSeconds} s: p50 | ${percentile(latencies, 0.5).toFixed(0)} ms |`,
  );
  console.log(`| end to end at ${rate} msg/s: p99 | ${percentile(latencies, 0.99).toFixed(0)} ms |`);
  console.log(`| outbound: notifications published | ${outboundRate.toFixed(0)} msg/s |`);
  console.log(`| baseline: bare producer, same settings | ${bareRate.toFixed(0)} msg/s |`);
  console.log(`| outbound / baseline | ${(outboundRate / bareRate).toFixed(2)} |`);
} finally {
  await producer.disconnect();
  await service.stop();
  await rm(dataDir, { recursive: true, force: true });
}
