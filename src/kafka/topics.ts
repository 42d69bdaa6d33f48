import type { Admin } from 'kafkajs';

export type TopicSpec = { topic: string; partitions: number };

/**
 * Makes sure the bridge's topics exist before it starts. With `create` the missing ones are
 * created (waiting for their leaders, so the first produce does not race the election); without
 * it a missing topic is a start-up error naming every missing topic.
 */
export async function ensureTopics(
  admin: Admin,
  topics: readonly TopicSpec[],
  create: boolean,
): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = topics.filter((spec) => !existing.has(spec.topic));
  if (missing.length === 0) return;
  if (!create) {
    throw new Error(
      `Kafka topics missing: ${missing.map((spec) => spec.topic).join(', ')} (create them, or set KAFKA_CREATE_TOPICS=true)`,
    );
  }
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((spec) => ({ topic: spec.topic, numPartitions: spec.partitions })),
  });
}
