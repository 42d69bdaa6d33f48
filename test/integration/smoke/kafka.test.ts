import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import { type Admin, type Consumer, Kafka, type KafkaMessage, logLevel, Partitioners } from 'kafkajs';
import { kafkaBrokers } from '../../support/services.ts';

// Smoke tests for the test broker started by scripts/services.sh: the kafkajs features the bridge
// relies on work against it. Every test uses its own topic and group, so the tests can run in
// parallel against one broker.

const waitLimitMs = 30_000;

function unique(prefix: string): string {
  return `smoke-${prefix}-${randomUUID()}`;
}

function client(t: TestContext): Kafka | undefined {
  const brokers = kafkaBrokers(t);
  if (brokers === undefined) return undefined;
  return new Kafka({ clientId: 'smoke-test', brokers, logLevel: logLevel.ERROR });
}

async function connectedAdmin(t: TestContext, kafka: Kafka): Promise<Admin> {
  const admin = kafka.admin();
  t.after(() => admin.disconnect());
  await admin.connect();
  return admin;
}

async function createTopic(admin: Admin, topic: string, numPartitions = 1): Promise<void> {
  const created = await admin.createTopics({ topics: [{ topic, numPartitions }], waitForLeaders: true });
  assert.equal(created, true, `topic ${topic} was not created`);
}

async function produce(
  t: TestContext,
  kafka: Kafka,
  topic: string,
  values: readonly string[],
): Promise<void> {
  const producer = kafka.producer({
    idempotent: true,
    maxInFlightRequests: 1,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  t.after(() => producer.disconnect());
  await producer.connect();
  await producer.send({
    topic,
    acks: -1,
    messages: values.map((value) => ({ key: 'same-key', value })),
  });
  await producer.disconnect();
}

/**
 * Runs a consumer in `groupId` with auto-commit off until `done` says it has seen enough, and
 * returns what it received. Fails with the messages seen so far if that takes too long.
 */
async function consumeUntil(
  t: TestContext,
  kafka: Kafka,
  options: {
    topic: string;
    groupId: string;
    done: (received: readonly string[]) => boolean;
    onMessage?: (consumer: Consumer, message: KafkaMessage, partition: number) => Promise<void>;
  },
): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: options.groupId });
  t.after(() => consumer.disconnect());
  const received: string[] = [];
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  await consumer.connect();
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message, partition }) => {
      received.push(message.value?.toString() ?? '');
      await options.onMessage?.(consumer, message, partition);
      if (options.done(received)) finish();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new Error(`group ${options.groupId} saw only [${received.join(', ')}] after ${waitLimitMs} ms`),
        ),
      waitLimitMs,
    );
  });
  try {
    await Promise.race([finished, timedOut]);
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return received;
}

describe('Kafka test broker', () => {
  it('creates a topic whose partitions all have a leader when waitForLeaders is set', async (t) => {
    const kafka = client(t);
    if (kafka === undefined) return;
    const admin = await connectedAdmin(t, kafka);
    const topic = unique('topic');

    await createTopic(admin, topic, 3);

    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    assert.equal(topics[0]?.name, topic);
    assert.equal(topics[0]?.partitions.length, 3);
    for (const partition of topics[0]?.partitions ?? []) assert.equal(partition.leader, 1);
    assert.ok((await admin.listTopics()).includes(topic));
  });

  it('delivers what an idempotent producer sent with acks=-1 to a consumer group, in order', async (t) => {
    const kafka = client(t);
    if (kafka === undefined) return;
    const admin = await connectedAdmin(t, kafka);
    const topic = unique('idempotent');
    await createTopic(admin, topic);

    await produce(t, kafka, topic, ['first', 'second', 'third']);

    const received = await consumeUntil(t, kafka, {
      topic,
      groupId: unique('group'),
      done: (seen) => seen.length >= 3,
    });
    assert.deepEqual(received, ['first', 'second', 'third']);
  });

  it('resumes a restarted group right after its committed offset', async (t) => {
    const kafka = client(t);
    if (kafka === undefined) return;
    const admin = await connectedAdmin(t, kafka);
    const topic = unique('resume');
    const groupId = unique('group');
    await createTopic(admin, topic);
    await produce(t, kafka, topic, ['m0', 'm1', 'm2']);

    // Handle, then commit: m0 and m1 are committed; m2 is received but never committed.
    await consumeUntil(t, kafka, {
      topic,
      groupId,
      done: (seen) => seen.length >= 3,
      onMessage: async (consumer, message, partition) => {
        if (message.value?.toString() === 'm2') return;
        const next = (BigInt(message.offset) + 1n).toString();
        await consumer.commitOffsets([{ topic, partition, offset: next }]);
      },
    });
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    assert.equal(committed?.partitions[0]?.offset, '2');

    await produce(t, kafka, topic, ['m3']);
    const afterRestart = await consumeUntil(t, kafka, {
      topic,
      groupId,
      done: (seen) => seen.length >= 2,
    });
    assert.deepEqual(afterRestart, ['m2', 'm3']);
  });
});
