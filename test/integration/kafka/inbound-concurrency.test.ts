/**
 * The intake bridge handles the messages of one partition for different cases at once: these
 * tests hold one message back and show what happens to the others, to that case's later
 * messages, and to the committed offset, against the real broker.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import { type Admin, type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { pino } from 'pino';
import type { IntakeContext, IntakePort, Rejection } from '../../../src/cases/application/ports.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import { headerText } from '../../../src/kafka/headers.ts';
import { createInboundBridge, type InboundOptions } from '../../../src/kafka/inbound.ts';
import { eventually } from '../../support/eventually.ts';
import { kafkaBrokers } from '../../support/services.ts';

/** A promise with its resolver outside, to hold a message back until the test lets it go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

type Hooks = {
  open?: (label: string, context: IntakeContext) => Promise<void>;
  audit?: (rejection: Rejection) => Promise<void>;
};

/** A case service stand-in: messages are `{ "label": … }`; records what it was asked, in order. */
function fakeIntake(hooks: Hooks = {}) {
  const started: string[] = [];
  const opened: string[] = [];
  const rejected: Rejection[] = [];
  const port: IntakePort = {
    validate(value) {
      const label = (value as Record<string, unknown> | null)?.label;
      return typeof label === 'string'
        ? { ok: true, intake: label }
        : { ok: false, violations: [{ path: '/label', message: 'is required' }] };
    },
    async open(intake, context) {
      const label = intake as string;
      started.push(label);
      await hooks.open?.(label, context);
      opened.push(label);
    },
    async recordRejected(rejection) {
      await hooks.audit?.(rejection);
      rejected.push(rejection);
    },
  };
  return { port, started, opened, rejected };
}

const transient = () =>
  new DomainError('eventstore.unavailable', 'event store unreachable', {}, { transient: true });

describe('Kafka intake bridge, messages for different cases at once (real broker)', {
  concurrency: false,
}, () => {
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
      kafka = new Kafka({ clientId: 'inbound-concurrency-test', brokers, logLevel: logLevel.NOTHING });
      admin = kafka.admin();
      await admin.connect();
      cleanups.push(() => admin!.disconnect());
      producer = kafka.producer();
      await producer.connect();
      cleanups.push(() => producer.disconnect());
    }
    return true;
  }

  /** A one-partition topic, a running bridge and a reader of its dead-letter topic. */
  async function setUp(port: IntakePort, options: Partial<InboundOptions> = {}) {
    const topic = `intake-${randomUUID()}`;
    const dlqTopic = `${topic}.dlq`;
    const groupId = `bridge-${randomUUID()}`;
    await admin!.createTopics({
      waitForLeaders: true,
      topics: [
        { topic, numPartitions: 1 },
        { topic: dlqTopic, numPartitions: 1 },
      ],
    });
    cleanups.push(() => admin!.deleteTopics({ topics: [topic, dlqTopic] }));
    const bridge = createInboundBridge({
      kafka,
      logger: pino({ level: 'silent' }),
      topic,
      dlqTopic,
      groupId,
      intake: port,
      maxMessageBytes: 2_000,
      retryDelayMs: { initial: 50, max: 200 },
      concurrency: 8,
      ...options,
    });
    await bridge.start();
    cleanups.push(() => bridge.stop());
    const letters: { key: string | undefined; code: string | undefined }[] = [];
    const reader: Consumer = kafka.consumer({ groupId: `dlq-reader-${randomUUID()}` });
    await reader.connect();
    cleanups.push(() => reader.disconnect());
    await reader.subscribe({ topic: dlqTopic, fromBeginning: true });
    await reader.run({
      eachMessage: async ({ message }) => {
        letters.push({ key: message.key?.toString(), code: headerText(message.headers, 'dlq-error-code') });
      },
    });
    /** The group's committed offset: every message below it is handled (-1: none committed). */
    const committed = async () => {
      const [offsets] = await admin!.fetchOffsets({ groupId, topics: [topic] });
      return Number(offsets?.partitions[0]?.offset ?? -1);
    };
    /** Sends the messages in one request, so that they arrive in one batch. */
    const send = (messages: { key: string; label?: string; value?: string; case?: string }[]) =>
      producer.send({
        topic,
        acks: -1,
        messages: messages.map((m) => ({
          key: m.key,
          value: m.value ?? JSON.stringify({ label: m.label }),
          headers: { 'idempotency-key': m.case ?? m.key },
        })),
      });
    return { bridge, letters, committed, send };
  }

  it("handles two messages for one case in offset order while other cases' messages go past them", async (t) => {
    if (!(await connect(t))) return;
    const first = gate();
    const intake = fakeIntake({
      open: async (label) => {
        if (label === 'a-1') await first.opened;
      },
    });
    const { send, committed } = await setUp(intake.port);
    await send([
      { key: 'a', label: 'a-1' },
      { key: 'b', label: 'b-1' },
      { key: 'a', label: 'a-2' },
      { key: 'c', label: 'c-1' },
    ]);
    // Other cases are handled while case a's first message is held; its second waits behind it.
    await eventually('b-1 and c-1 opened', () =>
      intake.opened.includes('b-1') && intake.opened.includes('c-1') ? true : undefined,
    );
    assert.deepEqual(
      intake.started.filter((label) => label.startsWith('a-')),
      ['a-1'],
      'a-2 is not started while a-1 is in hand',
    );
    first.open();
    await eventually('the offset committed past all four', async () =>
      (await committed()) === 4 ? true : undefined,
    );
    assert.deepEqual(
      intake.opened.filter((label) => label.startsWith('a-')),
      ['a-1', 'a-2'],
    );
  });

  it('with a concurrency of 1, handles the messages strictly in offset order', async (t) => {
    if (!(await connect(t))) return;
    const first = gate();
    const intake = fakeIntake({
      open: async (label) => {
        if (label === 'a-1') await first.opened;
      },
    });
    const { send, committed } = await setUp(intake.port, { concurrency: 1 });
    await send([
      { key: 'a', label: 'a-1' },
      { key: 'b', label: 'b-1' },
      { key: 'c', label: 'c-1' },
    ]);
    await eventually('a-1 started', () => (intake.started.includes('a-1') ? true : undefined));
    assert.deepEqual(intake.started, ['a-1'], 'nothing else starts while a-1 is in hand');
    first.open();
    await eventually('the offset committed past all three', async () =>
      (await committed()) === 3 ? true : undefined,
    );
    assert.deepEqual(intake.opened, ['a-1', 'b-1', 'c-1']);
  });

  it('dead-letters a poison message with its reason without holding up the messages beside it', async (t) => {
    if (!(await connect(t))) return;
    const audit = gate();
    const intake = fakeIntake({ audit: () => audit.opened });
    const { send, letters, committed } = await setUp(intake.port);
    await send([
      { key: 'poison', value: '{"label": ' },
      { key: 'b', label: 'b-1' },
      { key: 'c', label: 'c-1' },
    ]);
    // The poison message's audit is held: the others are opened meanwhile.
    await eventually('b-1 and c-1 opened', () => (intake.opened.length === 2 ? true : undefined));
    assert.deepEqual(letters, [], 'no dead letter before its audit record');
    assert.equal(await committed(), -1, 'nothing committed past the poison message in hand');
    audit.open();
    const letter = await eventually('the dead letter', () => letters[0], 20_000);
    assert.deepEqual(letter, { key: 'poison', code: 'intake.invalid_json' });
    await eventually('the offset committed past all three', async () =>
      (await committed()) === 3 ? true : undefined,
    );
    assert.equal(intake.rejected.length, 1);
  });

  it('never commits past a message being retried, and does not handle again the messages after it', async (t) => {
    if (!(await connect(t))) return;
    let failuresLeft = 3;
    const committedAtRetries: number[] = [];
    let committed: () => Promise<number> = async () => -1;
    const intake = fakeIntake({
      open: async (label) => {
        if (label !== 'slow' || failuresLeft === 0) return;
        failuresLeft--;
        // Each attempt after the first comes after a batch that ended with this message unhandled.
        committedAtRetries.push(await committed());
        throw transient();
      },
    });
    const setup = await setUp(intake.port);
    committed = setup.committed;
    await setup.send([
      { key: 'a', label: 'a-1' },
      { key: 'slow', label: 'slow' },
      { key: 'b', label: 'b-1' },
      { key: 'slow', label: 'slow-2' },
      { key: 'c', label: 'c-1' },
    ]);
    await eventually('the offset committed past all five', async () =>
      (await committed()) === 5 ? true : undefined,
    );
    // The first attempt may run before the first commit; every later one finds the offset at 1.
    assert.equal(committedAtRetries.length, 3);
    assert.ok(
      committedAtRetries.every((offset) => offset <= 1),
      `committed at retries: ${committedAtRetries}`,
    );
    assert.deepEqual(committedAtRetries.slice(1), [1, 1]);
    assert.deepEqual(intake.opened.filter((label) => label !== 'slow' && label !== 'slow-2').sort(), [
      'a-1',
      'b-1',
      'c-1',
    ]);
    assert.deepEqual(
      intake.opened.filter((label) => label.startsWith('slow')),
      ['slow', 'slow-2'],
      "the retried case's later message comes after it",
    );
    assert.deepEqual(
      intake.started.filter((label) => label === 'slow-2'),
      ['slow-2'],
      "the case's later message is not started while the earlier one is retried",
    );
    assert.equal(intake.opened.length, 5, 'each message opened once');
  });
});
