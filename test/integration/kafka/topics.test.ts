import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, describe, it, type TestContext } from 'node:test';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { DAY_MS, ensureBridgeTopics, topicRetentionMs } from '../../../src/kafka/topics.ts';
import { kafkaBrokers } from '../../support/services.ts';

/** `ConfigResourceTypes.TOPIC` (see src/kafka/topics.ts for why it is a number here). */
const TOPIC_RESOURCE = 2;

describe('topics the service creates (real broker)', { concurrency: false }, () => {
  let admin: Admin | undefined;
  const created: string[] = [];

  after(async () => {
    if (admin === undefined) return;
    await admin.deleteTopics({ topics: created }).catch(() => undefined);
    await admin.disconnect();
  });

  async function connect(t: TestContext): Promise<Admin | undefined> {
    const brokers = kafkaBrokers(t);
    if (brokers === undefined) return undefined;
    if (admin === undefined) {
      admin = new Kafka({ clientId: 'topics-test', brokers, logLevel: logLevel.NOTHING }).admin();
      await admin.connect();
    }
    return admin;
  }

  function names() {
    const inbound = `intake-${randomUUID()}`;
    const topics = { inbound, dlq: `${inbound}.dlq`, notifications: `${inbound}.notifications` };
    created.push(topics.inbound, topics.dlq, topics.notifications);
    return topics;
  }

  async function cleanupPolicy(kafkaAdmin: Admin, topic: string): Promise<string | undefined> {
    const { resources } = await kafkaAdmin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['cleanup.policy'] }],
    });
    return resources[0]?.configEntries.find((entry) => entry.configName === 'cleanup.policy')?.configValue;
  }

  it('creates the intake and notification topics with the configured retention and the dead-letter topic with its shorter one, deleted by age', async (t) => {
    const kafkaAdmin = await connect(t);
    if (kafkaAdmin === undefined) return;
    const topics = names();
    const limits = await ensureBridgeTopics(kafkaAdmin, {
      ...topics,
      partitions: 1,
      create: true,
      retentionMs: 7 * DAY_MS,
      dlqRetentionMs: 2 * DAY_MS,
    });
    assert.equal(await topicRetentionMs(kafkaAdmin, topics.inbound), 7 * DAY_MS);
    assert.equal(await topicRetentionMs(kafkaAdmin, topics.notifications), 7 * DAY_MS);
    assert.equal(await topicRetentionMs(kafkaAdmin, topics.dlq), 2 * DAY_MS);
    for (const topic of Object.values(topics)) {
      assert.equal(await cleanupPolicy(kafkaAdmin, topic), 'delete', topic);
    }
    assert.deepEqual(limits.retentionWarnings, []);
  });

  it('reports an existing topic that keeps messages longer than configured, and leaves it as it is', async (t) => {
    const kafkaAdmin = await connect(t);
    if (kafkaAdmin === undefined) return;
    const topics = names();
    await kafkaAdmin.createTopics({
      waitForLeaders: true,
      topics: [
        { topic: topics.dlq, numPartitions: 1, configEntries: [{ name: 'retention.ms', value: '-1' }] },
      ],
    });
    const limits = await ensureBridgeTopics(kafkaAdmin, {
      ...topics,
      partitions: 1,
      create: true,
      retentionMs: 7 * DAY_MS,
      dlqRetentionMs: 7 * DAY_MS,
    });
    assert.equal(limits.retentionWarnings.length, 1);
    assert.match(
      limits.retentionWarnings[0] ?? '',
      new RegExp(`topic ${topics.dlq} keeps messages for ever`),
    );
    assert.match(limits.retentionWarnings[0] ?? '', /KAFKA_DLQ_RETENTION_MS=604800000/);
    assert.equal(await topicRetentionMs(kafkaAdmin, topics.dlq), -1);
  });
});
