import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { type Admin, type Consumer, Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import type { IntakeContext, IntakePort, Rejection } from '../../../src/cases/application/ports.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import { headerText } from '../../../src/kafka/headers.ts';
import { createInboundBridge } from '../../../src/kafka/inbound.ts';
import { kafkaBrokers } from '../../support/services.ts';

/** Waits until `check` holds, polling; fails with `what` after `timeoutMs`. */
async function eventually(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A stand-in case service that records what the bridge hands it. */
function recordingIntake(options: { failTimes?: number } = {}) {
  const opened: { intake: unknown; context: IntakeContext }[] = [];
  const rejected: { rejection: Rejection; context: IntakeContext }[] = [];
  let failuresLeft = options.failTimes ?? 0;
  const port: IntakePort = {
    validate(value) {
      const record = value as Record<string, unknown>;
      if (typeof record !== 'object' || record === null || typeof record.client_id !== 'string') {
        return { ok: false, violations: [{ path: '/client_id', message: 'is required' }] };
      }
      return { ok: true, intake: record };
    },
    async open(intake, context) {
      if ((intake as Record<string, unknown>).client_id === 'forbidden') {
        throw new DomainError('case.rule_broken', 'this client may not be onboarded');
      }
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new DomainError('eventstore.unavailable', 'event store unreachable', {}, { transient: true });
      }
      opened.push({ intake, context });
    },
    async recordRejected(rejection, context) {
      rejected.push({ rejection, context });
    },
  };
  return { port, opened, rejected };
}

describe('Kafka intake bridge (real broker)', { concurrency: false }, () => {
  let kafka: Kafka;
  let admin: Admin | undefined;
  const consumers: Consumer[] = [];
  const stops: (() => Promise<void>)[] = [];

  /** Connects on first use, so that without a broker each test skips (or fails under CI) on its own. */
  async function connect(brokers: string[]): Promise<void> {
    if (admin !== undefined) return;
    kafka = new Kafka({ clientId: 'inbound-test', brokers, logLevel: logLevel.NOTHING });
    admin = kafka.admin();
    await admin.connect();
  }

  after(async () => {
    for (const stop of stops) await stop();
    for (const consumer of consumers) await consumer.disconnect();
    await admin?.disconnect();
  });

  async function setUp(port: IntakePort, partitions = 1) {
    const topic = `intake-${randomUUID()}`;
    const dlqTopic = `${topic}.dlq`;
    await admin!.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: partitions },
        { topic: dlqTopic, numPartitions: 1 },
      ],
    });
    const groupId = `bridge-${randomUUID()}`;
    const bridge = createInboundBridge({
      kafka,
      logger: pino({ level: 'silent' }),
      topic,
      dlqTopic,
      groupId,
      intake: port,
      maxMessageBytes: 2_000,
      retryDelayMs: { initial: 50, max: 200 },
    });
    await bridge.start();
    stops.push(() => bridge.stop());
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    stops.push(() => producer.disconnect());
    const dlq: { key: string | undefined; value: string; headers: Record<string, string | undefined> }[] = [];
    const dlqConsumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
    consumers.push(dlqConsumer);
    await dlqConsumer.connect();
    await dlqConsumer.subscribe({ topic: dlqTopic, fromBeginning: true });
    await dlqConsumer.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string | undefined> = {};
        for (const name of Object.keys(message.headers ?? {}))
          headers[name] = headerText(message.headers, name);
        dlq.push({ key: message.key?.toString(), value: message.value?.toString() ?? '', headers });
      },
    });
    return { topic, groupId, bridge, producer, dlq };
  }

  it('opens a case from a valid message, keyed by its idempotency-key header, and commits the offset', async (t) => {
    const brokers = kafkaBrokers(t);
    if (brokers === undefined) return;
    await connect(brokers);
    const intake = recordingIntake();
    const { topic, groupId, producer } = await setUp(intake.port);
    await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          key: 'client-1',
          value: JSON.stringify({ client_id: 'c1' }),
          headers: { 'idempotency-key': 'k-1' },
        },
      ],
    });
    await eventually('the case to be opened', () => intake.opened.length === 1);
    assert.equal(intake.opened[0]?.context.idempotencyKey, 'k-1');
    await eventually('the offset to be committed', async () => {
      const [offsets] = await admin!.fetchOffsets({ groupId, topics: [topic] });
      return offsets?.partitions[0]?.offset === '1';
    });
  });

  it('keys a message without headers by topic, partition and offset', async (t) => {
    const brokers = kafkaBrokers(t);
    if (brokers === undefined) return;
    await connect(brokers);
    const intake = recordingIntake();
    const { topic, producer } = await setUp(intake.port);
    await producer.send({ topic, messages: [{ value: JSON.stringify({ client_id: 'c2' }) }] });
    await eventually('the case to be opened', () => intake.opened.length === 1);
    const [sent] = await admin!.fetchTopicOffsets(topic);
    assert.equal(sent?.high, '1');
    assert.match(intake.opened[0]?.context.idempotencyKey ?? '', new RegExp(`^kafka:${topic}/0/0@\\d+$`));
  });

  it('dead-letters bad JSON, schema violations, oversized messages and broken rules, and goes on', async (t) => {
    const brokers = kafkaBrokers(t);
    if (brokers === undefined) return;
    await connect(brokers);
    const intake = recordingIntake();
    const { topic, producer, dlq } = await setUp(intake.port);
    await producer.send({
      topic,
      messages: [
        { key: 'bad-json', value: '{"client_id": ', headers: { source: 'upstream-a' } },
        { key: 'invalid', value: JSON.stringify({ version: '1.0' }) },
        { key: 'too-large', value: JSON.stringify({ client_id: 'x'.repeat(3_000) }) },
        { key: 'rule', value: JSON.stringify({ client_id: 'forbidden' }) },
        { key: 'good', value: JSON.stringify({ client_id: 'after-the-bad-ones' }) },
      ],
    });
    await eventually('four dead letters', () => dlq.length === 4);
    await eventually('the good message to be opened', () => intake.opened.length === 1);
    const byKey = new Map(dlq.map((entry) => [entry.key, entry]));
    assert.equal(byKey.get('bad-json')?.headers['dlq-error-code'], 'intake.invalid_json');
    assert.equal(byKey.get('bad-json')?.headers.source, 'upstream-a', 'original headers are kept');
    assert.equal(byKey.get('bad-json')?.value, '{"client_id": ', 'original value is kept');
    assert.equal(byKey.get('invalid')?.headers['dlq-error-code'], 'intake.invalid');
    assert.deepEqual(JSON.parse(byKey.get('invalid')?.headers['dlq-violations'] ?? '[]'), [
      { path: '/client_id', message: 'is required' },
    ]);
    assert.equal(byKey.get('too-large')?.headers['dlq-error-code'], 'intake.too_large');
    assert.equal(byKey.get('rule')?.headers['dlq-error-code'], 'case.rule_broken');
    for (const entry of dlq) {
      assert.equal(entry.headers['dlq-original-topic'], topic);
      assert.equal(entry.headers['dlq-original-partition'], '0');
      assert.match(entry.headers['dlq-original-offset'] ?? '', /^[0-3]$/);
    }
    assert.deepEqual(intake.rejected.map((entry) => entry.rejection.code).sort(), [
      'case.rule_broken',
      'intake.invalid',
      'intake.invalid_json',
      'intake.too_large',
    ]);
  });

  it('retries a transiently failing message without skipping it, and reports the stalled partition meanwhile', async (t) => {
    const brokers = kafkaBrokers(t);
    if (brokers === undefined) return;
    await connect(brokers);
    const intake = recordingIntake({ failTimes: 3 });
    const { topic, producer, bridge } = await setUp(intake.port);
    await producer.send({ topic, messages: [{ value: JSON.stringify({ client_id: 'first' }) }] });
    await eventually('the partition to show as stalled', () => bridge.status().stalled.length === 1);
    assert.equal(bridge.status().stalled[0]?.lastError, 'event store unreachable');
    await producer.send({ topic, messages: [{ value: JSON.stringify({ client_id: 'second' }) }] });
    await eventually('both cases, in order', () => intake.opened.length === 2, 30_000);
    assert.deepEqual(
      intake.opened.map((entry) => (entry.intake as { client_id: string }).client_id),
      ['first', 'second'],
    );
    assert.deepEqual(bridge.status().stalled, []);
  });
});
