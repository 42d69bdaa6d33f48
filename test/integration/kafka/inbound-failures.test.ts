import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { pino } from 'pino';
import type { IntakeContext, IntakePort, Rejection } from '../../../src/cases/application/ports.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import { headerText } from '../../../src/kafka/headers.ts';
import { createInboundBridge, type InboundBridge, type InboundOptions } from '../../../src/kafka/inbound.ts';
import { DAY_MS, ensureBridgeTopics, topicMaxMessageBytes } from '../../../src/kafka/topics.ts';
import { eventually } from '../../support/eventually.ts';
import { kafkaBrokers } from '../../support/services.ts';

type Letter = { key: string | undefined; value: Buffer | null; headers: Record<string, string | undefined> };
type Open = (intake: Record<string, unknown>, context: IntakeContext) => Promise<void>;
type Audit = (rejection: Rejection) => Promise<void>;

const transient = (code: string) => new DomainError(code, `${code} (test)`, {}, { transient: true });
const json = (value: unknown) => JSON.stringify(value);

/** A stand-in case service: accepts any object with a `client_id`; `open` and `audit` may fail on cue. */
function fakeIntake(hooks: { open?: Open; audit?: Audit } = {}) {
  const opened: string[] = [];
  const rejected: Rejection[] = [];
  const openCalls: string[] = [];
  const port: IntakePort = {
    validate(value) {
      const record = value as Record<string, unknown> | null;
      if (typeof record !== 'object' || record === null || typeof record.client_id !== 'string') {
        return { ok: false, violations: [{ path: '/client_id', message: 'is required' }] };
      }
      return { ok: true, intake: record };
    },
    async open(intake, context) {
      const record = intake as Record<string, unknown>;
      openCalls.push(String(record.client_id));
      await hooks.open?.(record, context);
      opened.push(String(record.client_id));
    },
    async recordRejected(rejection) {
      await hooks.audit?.(rejection);
      rejected.push(rejection);
    },
  };
  return { port, opened, rejected, openCalls };
}

describe('Kafka intake bridge when things fail (real broker)', { concurrency: false }, () => {
  let kafka: Kafka;
  let admin: Admin | undefined;
  let producer: Producer;
  const cleanups: (() => Promise<unknown>)[] = [];

  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  });

  async function connect(t: TestContext): Promise<boolean> {
    const brokers = kafkaBrokers(t);
    if (brokers === undefined) return false;
    if (admin === undefined) {
      kafka = new Kafka({ clientId: 'inbound-failures-test', brokers, logLevel: logLevel.NOTHING });
      admin = kafka.admin();
      await admin.connect();
      cleanups.push(() => admin!.disconnect());
      producer = kafka.producer();
      await producer.connect();
      cleanups.push(() => producer.disconnect());
    }
    return true;
  }

  /**
   * Fresh topics (the inbound one with `inboundMaxBytes` when given, a dead-letter topic with
   * `dlqMaxBytes` when given, else as the service would create it), a running bridge, and a reader
   * collecting what reaches the dead-letter topic.
   */
  async function setUp(
    port: IntakePort,
    settings: {
      partitions?: number;
      inboundMaxBytes?: number;
      dlqMaxBytes?: number;
    } & Partial<InboundOptions> = {},
  ) {
    const { partitions = 1, inboundMaxBytes, dlqMaxBytes, ...bridgeOptions } = settings;
    const topic = `intake-${randomUUID()}`;
    const groupId = `bridge-${randomUUID()}`;
    const dlqTopic = `${topic}.dlq`;
    const limit = (bytes: number | undefined) =>
      bytes === undefined ? {} : { configEntries: [{ name: 'max.message.bytes', value: String(bytes) }] };
    await admin!.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: partitions, ...limit(inboundMaxBytes) },
        ...(dlqMaxBytes === undefined ? [] : [{ topic: dlqTopic, numPartitions: 1, ...limit(dlqMaxBytes) }]),
      ],
    });
    const limits = await ensureBridgeTopics(admin!, {
      inbound: topic,
      dlq: dlqTopic,
      notifications: `${topic}.notifications`,
      partitions,
      create: true,
      retentionMs: 7 * DAY_MS,
      dlqRetentionMs: 7 * DAY_MS,
    });
    cleanups.push(() => admin!.deleteTopics({ topics: [topic, dlqTopic, `${topic}.notifications`] }));
    const bridge: InboundBridge = createInboundBridge({
      kafka,
      logger: pino({ level: 'silent' }),
      topic,
      dlqTopic,
      groupId,
      intake: port,
      maxMessageBytes: 2_000,
      retryDelayMs: { initial: 20, max: 100 },
      ...bridgeOptions,
    });
    await bridge.start();
    cleanups.push(() => bridge.stop());
    const letters: Letter[] = [];
    const reader: Consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
    await reader.connect();
    cleanups.push(() => reader.disconnect());
    await reader.subscribe({ topic: dlqTopic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        const headers: Record<string, string | undefined> = {};
        for (const name of Object.keys(message.headers ?? {}))
          headers[name] = headerText(message.headers, name);
        letters.push({ key: message.key?.toString(), value: message.value, headers });
      },
    });
    /** How many records the dead-letter topic holds: what was written, whether read yet or not. */
    const written = async () => Number((await admin!.fetchTopicOffsets(dlqTopic))[0]?.high ?? 0);
    /** The group's committed offset of partition 0: every message below it is handled. */
    const committed = async () => {
      const [offsets] = await admin!.fetchOffsets({ groupId, topics: [topic] });
      return Number(offsets?.partitions.find((p) => p.partition === 0)?.offset ?? -1);
    };
    return { topic, dlqTopic, bridge, letters, limits, written, committed };
  }

  const letterWith = (letters: Letter[], key: string) => () => letters.find((letter) => letter.key === key);

  it('dead-letters in full a value over the intake limit when the service sized the dead-letter topic, and keeps consuming every partition', async (t) => {
    if (!(await connect(t))) return;
    const intake = fakeIntake();
    const { topic, dlqTopic, letters, limits } = await setUp(intake.port, {
      partitions: 2,
      inboundMaxBytes: 3_000_000,
      maxMessageBytes: 1_048_576,
    });
    assert.equal(limits.inboundMaxMessageBytes, 3_000_000);
    assert.ok(
      limits.dlqMaxMessageBytes >= 3_000_000,
      'the dead-letter topic takes what the inbound one does',
    );
    assert.equal(await topicMaxMessageBytes(admin!, dlqTopic), limits.dlqMaxMessageBytes);
    assert.deepEqual(limits.warnings, []);

    const big = Buffer.alloc(1_500_000, 'a');
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { partition: 0, key: 'big', value: big },
        { partition: 0, key: 'after-big', value: json({ client_id: 'same-partition' }) },
        { partition: 1, key: 'other', value: json({ client_id: 'other-partition' }) },
      ],
    });
    const letter = await eventually('the oversized dead letter', letterWith(letters, 'big'), 30_000);
    assert.equal(letter.headers['dlq-error-code'], 'intake.too_large');
    assert.equal(letter.headers['dlq-reduced'], undefined, 'written in full');
    assert.equal(letter.value?.length, big.length);
    assert.equal(letter.headers['dlq-value-sha256'], createHash('sha256').update(big).digest('hex'));
    await eventually(
      'both later messages opened',
      () => (intake.opened.length === 2 ? true : undefined),
      20_000,
    );
    assert.deepEqual(intake.opened.sort(), ['other-partition', 'same-partition']);
    assert.equal(intake.rejected[0]?.code, 'intake.too_large');
    assert.equal(
      intake.rejected[0]?.raw.length,
      65_536,
      'the audit keeps only the start of an oversized value',
    );
  });

  it('writes the value cut, with its size and SHA-256, when the dead-letter topic refuses the full record, and the partition keeps flowing', async (t) => {
    if (!(await connect(t))) return;
    const intake = fakeIntake();
    const { topic, bridge, letters, limits } = await setUp(intake.port, { dlqMaxBytes: 100_000 });
    assert.equal(limits.warnings.length, 1, 'a dead-letter topic smaller than the inbound one is reported');

    const value = Buffer.alloc(300_000, 'b');
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'too-big-for-dlq', value },
        { key: 'next', value: json({ client_id: 'next' }) },
      ],
    });
    const letter = await eventually(
      'the reduced dead letter',
      letterWith(letters, 'too-big-for-dlq'),
      20_000,
    );
    assert.equal(letter.headers['dlq-error-code'], 'intake.too_large');
    assert.equal(letter.headers['dlq-reduced'], 'value-cut');
    assert.match(letter.headers['dlq-reduced-because'] ?? '', /full form was refused/);
    assert.equal(letter.value?.length, 65_536);
    assert.equal(letter.headers['dlq-value-bytes'], '300000');
    assert.equal(letter.headers['dlq-value-sha256'], createHash('sha256').update(value).digest('hex'));
    await eventually(
      'the next message opened',
      () => (intake.opened.includes('next') ? true : undefined),
      20_000,
    );
    assert.equal(bridge.status().deadLetteredReduced, 1);
    assert.deepEqual(bridge.status().stalled, []);
  });

  it('writes the dead letter without its value when even the cut one is refused', async (t) => {
    if (!(await connect(t))) return;
    const intake = fakeIntake();
    const { topic, letters } = await setUp(intake.port, { dlqMaxBytes: 4_096 });
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'huge', value: Buffer.alloc(50_000, 'c'), headers: { origin: 'upstream' } },
        { key: 'next', value: json({ client_id: 'next' }) },
      ],
    });
    const letter = await eventually('the bare dead letter', letterWith(letters, 'huge'), 20_000);
    assert.equal(letter.headers['dlq-reduced'], 'value-omitted');
    assert.equal(letter.value, null);
    assert.equal(letter.headers['dlq-value-bytes'], '50000');
    assert.equal(letter.headers['dlq-original-offset'], '0');
    await eventually(
      'the next message opened',
      () => (intake.opened.includes('next') ? true : undefined),
      20_000,
    );
  });

  it('retries case.busy and eventstore.unavailable for as long as they last, showing the partition as stalled, and dead-letters nothing', async (t) => {
    if (!(await connect(t))) return;
    const failures = [transient('case.busy'), transient('case.busy'), transient('eventstore.unavailable')];
    // More transient failures than unclassified attempts allowed: transient ones are not counted.
    const intake = fakeIntake({
      open: async () => {
        const next = failures.shift();
        if (next !== undefined) throw next;
      },
    });
    const { topic, bridge, written } = await setUp(intake.port, {
      maxUnclassifiedAttempts: 1,
      retryDelayMs: { initial: 150, max: 300 },
    });
    await producer.send({ topic, acks: -1, messages: [{ value: json({ client_id: 'busy' }) }] });
    const stalled = await eventually(
      'the partition to show as stalled',
      () => bridge.status().stalled[0],
      10_000,
    );
    assert.equal(stalled.errorClass, 'transient');
    assert.equal(stalled.step, 'open');
    await eventually('the case opened', () => (intake.opened.length === 1 ? true : undefined), 20_000);
    assert.equal(intake.openCalls.length, 4);
    assert.deepEqual(intake.rejected, []);
    assert.equal(bridge.status().deadLettered, 0);
    assert.equal(await written(), 0);
    assert.deepEqual(bridge.status().stalled, []);
  });

  it('dead-letters a message whose unclassified error outlasts the bounded retries as intake.processing_failed, then goes on', async (t) => {
    if (!(await connect(t))) return;
    const intake = fakeIntake({
      open: async (record) => {
        if (record.client_id === 'doomed') throw new TypeError('cannot read the projection of undefined');
      },
    });
    const { topic, letters, bridge } = await setUp(intake.port, { maxUnclassifiedAttempts: 3 });
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'doomed', value: json({ client_id: 'doomed' }) },
        { key: 'fine', value: json({ client_id: 'fine' }) },
      ],
    });
    const letter = await eventually(
      'the processing_failed dead letter',
      letterWith(letters, 'doomed'),
      20_000,
    );
    assert.equal(letter.headers['dlq-error-code'], 'intake.processing_failed');
    assert.match(
      letter.headers['dlq-error-reason'] ?? '',
      /failed 3 times: cannot read the projection of undefined/,
    );
    assert.equal(letter.value?.toString(), json({ client_id: 'doomed' }));
    await eventually(
      'the next message opened',
      () => (intake.opened.includes('fine') ? true : undefined),
      20_000,
    );
    assert.equal(intake.openCalls.filter((id) => id === 'doomed').length, 3);
    assert.deepEqual(
      intake.rejected.map((rejection) => rejection.code),
      ['intake.processing_failed'],
    );
    assert.equal(bridge.status().deadLettered, 1);
  });

  it('records the audit before the dead letter, and writes one dead letter although the audit failed once', async (t) => {
    if (!(await connect(t))) return;
    let auditFailures = 1;
    const dlqRecordsAtAudit: number[] = [];
    let written: () => Promise<number> = async () => -1;
    const intake = fakeIntake({
      audit: async () => {
        dlqRecordsAtAudit.push(await written());
        if (auditFailures-- > 0) throw transient('eventstore.unavailable');
      },
    });
    const setup = await setUp(intake.port);
    written = setup.written;
    await producer.send({
      topic: setup.topic,
      acks: -1,
      messages: [
        { key: 'bad', value: '{"client_id": ' },
        { key: 'good', value: json({ client_id: 'good' }) },
      ],
    });
    // The good message (another case) is handled beside the bad one; once the offset is committed
    // past both, the bad one is done with.
    await eventually(
      'the good message opened',
      () => (intake.opened.includes('good') ? true : undefined),
      20_000,
    );
    await eventually(
      'the offset committed past both',
      async () => ((await setup.committed()) === 2 ? true : undefined),
      20_000,
    );
    assert.equal(await written(), 1, 'exactly one dead letter');
    assert.deepEqual(dlqRecordsAtAudit, [0, 0], 'no dead letter before the audit, on either attempt');
    const letter = await eventually('the dead letter', letterWith(setup.letters, 'bad'), 20_000);
    assert.equal(letter.headers['dlq-error-code'], 'intake.invalid_json');
    assert.equal(letter.headers['dlq-audit-failed'], undefined);
  });

  it('dead-letters without the audit record, saying so, when the audit keeps failing for an unclassified reason', async (t) => {
    if (!(await connect(t))) return;
    const intake = fakeIntake({
      audit: async () => {
        throw new Error('audit stream is corrupt');
      },
    });
    const { topic, letters, bridge } = await setUp(intake.port, { maxUnclassifiedAttempts: 2 });
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'bad', value: json({ version: '1.0' }) },
        { key: 'good', value: json({ client_id: 'good' }) },
      ],
    });
    const letter = await eventually('the dead letter', letterWith(letters, 'bad'), 20_000);
    assert.equal(letter.headers['dlq-error-code'], 'intake.invalid');
    assert.match(letter.headers['dlq-audit-failed'] ?? '', /failed 2 times: audit stream is corrupt/);
    await eventually(
      'the good message opened',
      () => (intake.opened.includes('good') ? true : undefined),
      20_000,
    );
    assert.equal(bridge.status().auditSkipped, 1);
  });

  it('gives a zero-byte value, a null value and a value that is not UTF-8 their own codes', async (t) => {
    if (!(await connect(t))) return;
    const intake = fakeIntake();
    const { topic, letters } = await setUp(intake.port);
    await producer.send({
      topic,
      acks: -1,
      messages: [
        { key: 'zero-bytes', value: Buffer.alloc(0) },
        { key: 'null', value: null },
        { key: 'latin-1', value: Buffer.from('{"client_id":"Zo\xeb"}', 'latin1') },
        { key: 'not-json', value: 'client_id=c1' },
      ],
    });
    await eventually('four dead letters', () => (letters.length === 4 ? true : undefined), 20_000);
    const codes = Object.fromEntries(letters.map((letter) => [letter.key, letter.headers['dlq-error-code']]));
    assert.deepEqual(codes, {
      'zero-bytes': 'intake.empty',
      null: 'intake.empty',
      'latin-1': 'intake.invalid_utf8',
      'not-json': 'intake.invalid_json',
    });
    assert.equal(letters.find((letter) => letter.key === 'zero-bytes')?.value?.length, 0);
  });
});
