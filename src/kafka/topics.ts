import type { Admin, ConfigResourceTypes } from 'kafkajs';

/**
 * `ConfigResourceTypes.TOPIC`: kafkajs builds its exports with a spread, so Node cannot see the
 * enum as a named export of the CommonJS module; the protocol's number is stable.
 */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

export type TopicSpec = { topic: string; partitions: number; maxMessageBytes?: number };

/**
 * Room a dead letter needs above the largest message it carries: the `dlq-*` headers (reason,
 * violations, origin, size and hash of the value).
 */
export const DEAD_LETTER_HEADROOM_BYTES = 65_536;

/**
 * Makes sure the topics exist before the bridge starts. With `create` the missing ones are
 * created (waiting for their leaders, so the first produce does not race the election), each
 * with its `max.message.bytes` when the spec has one; without it a missing topic is a start-up
 * error naming every missing topic.
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
    topics: missing.map((spec) => ({
      topic: spec.topic,
      numPartitions: spec.partitions,
      ...(spec.maxMessageBytes === undefined
        ? {}
        : { configEntries: [{ name: 'max.message.bytes', value: String(spec.maxMessageBytes) }] }),
    })),
  });
}

/** The largest record batch the topic takes (`max.message.bytes`, its own or the broker's default). */
export async function topicMaxMessageBytes(admin: Admin, topic: string): Promise<number> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: ['max.message.bytes'] }],
  });
  const raw = resources[0]?.configEntries.find(
    (entry) => entry.configName === 'max.message.bytes',
  )?.configValue;
  const bytes = Number(raw);
  if (raw === undefined || !Number.isSafeInteger(bytes)) {
    throw new Error(`cannot read max.message.bytes of topic ${topic} (got ${String(raw)})`);
  }
  return bytes;
}

export type BridgeTopics = {
  inbound: string;
  dlq: string;
  notifications: string;
  partitions: number;
  create: boolean;
};

export type BridgeTopicLimits = {
  inboundMaxMessageBytes: number;
  dlqMaxMessageBytes: number;
  /** What an operator should fix; the bridge runs anyway. */
  warnings: string[];
};

/**
 * The bridge's three topics, checked or created, with the dead-letter topic able to take what the
 * inbound topic can carry: a created one gets `max.message.bytes` of the inbound topic plus
 * {@link DEAD_LETTER_HEADROOM_BYTES}; an existing one with a smaller limit than the inbound topic's
 * is reported in `warnings` (its largest dead letters will then be written in reduced form).
 */
export async function ensureBridgeTopics(admin: Admin, topics: BridgeTopics): Promise<BridgeTopicLimits> {
  const existing = new Set(await admin.listTopics());
  const wanted = [topics.inbound, topics.dlq, topics.notifications];
  const missing = wanted.filter((topic) => !existing.has(topic));
  if (missing.length > 0 && !topics.create) {
    throw new Error(
      `Kafka topics missing: ${missing.join(', ')} (create them, or set KAFKA_CREATE_TOPICS=true)`,
    );
  }
  // The inbound topic first: the dead-letter topic's limit is read off it.
  await ensureTopics(
    admin,
    [
      { topic: topics.inbound, partitions: topics.partitions },
      { topic: topics.notifications, partitions: topics.partitions },
    ],
    topics.create,
  );
  const inboundMaxMessageBytes = await topicMaxMessageBytes(admin, topics.inbound);
  await ensureTopics(
    admin,
    [
      {
        topic: topics.dlq,
        partitions: 1,
        maxMessageBytes: inboundMaxMessageBytes + DEAD_LETTER_HEADROOM_BYTES,
      },
    ],
    topics.create,
  );
  const dlqMaxMessageBytes = await topicMaxMessageBytes(admin, topics.dlq);
  const warnings =
    dlqMaxMessageBytes < inboundMaxMessageBytes
      ? [
          `dead-letter topic ${topics.dlq} takes at most ${dlqMaxMessageBytes} bytes (max.message.bytes) but inbound topic ${topics.inbound} carries up to ${inboundMaxMessageBytes}: larger dead letters are written in reduced form; raise its max.message.bytes to at least ${inboundMaxMessageBytes + DEAD_LETTER_HEADROOM_BYTES}`,
        ]
      : [];
  return { inboundMaxMessageBytes, dlqMaxMessageBytes, warnings };
}
