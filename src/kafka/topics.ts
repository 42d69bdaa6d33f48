import type { Admin, ConfigResourceTypes } from 'kafkajs';

/**
 * `ConfigResourceTypes.TOPIC`: kafkajs builds its exports with a spread, so Node cannot see the
 * enum as a named export of the CommonJS module; the protocol's number is stable.
 */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;

export type TopicSpec = {
  topic: string;
  partitions: number;
  maxMessageBytes?: number;
  /** How long the topic keeps a message (`retention.ms`); the topic is `cleanup.policy=delete`. */
  retentionMs?: number;
};

/** One day in milliseconds, for retention settings. */
export const DAY_MS = 86_400_000;

/** The topic settings a created topic gets from its spec (the broker's defaults for the rest). */
export function topicConfigEntries(spec: TopicSpec): { name: string; value: string }[] {
  return [
    ...(spec.maxMessageBytes === undefined
      ? []
      : [{ name: 'max.message.bytes', value: String(spec.maxMessageBytes) }]),
    ...(spec.retentionMs === undefined
      ? []
      : [
          // Deleted by age, never compacted: a compacted topic would keep the last message per
          // case id (with the names it carries) for ever.
          { name: 'cleanup.policy', value: 'delete' },
          { name: 'retention.ms', value: String(spec.retentionMs) },
        ]),
  ];
}

/**
 * Room a dead letter needs above the largest message it carries: the `dlq-*` headers (reason,
 * violations, origin, size and hash of the value).
 */
export const DEAD_LETTER_HEADROOM_BYTES = 65_536;

/**
 * Makes sure the topics exist before the bridge starts. With `create` the missing ones are
 * created (waiting for their leaders, so the first produce does not race the election), each
 * with its `max.message.bytes` and retention when the spec has them; without it a missing topic is a start-up
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
      configEntries: topicConfigEntries(spec),
    })),
  });
}

/** A whole-number setting of a topic (its own value, or the broker's default). */
export async function topicNumberConfig(admin: Admin, topic: string, name: string): Promise<number> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: TOPIC_RESOURCE, name: topic, configNames: [name] }],
  });
  const raw = resources[0]?.configEntries.find((entry) => entry.configName === name)?.configValue;
  const value = Number(raw);
  if (raw === undefined || !Number.isSafeInteger(value)) {
    throw new Error(`cannot read ${name} of topic ${topic} (got ${String(raw)})`);
  }
  return value;
}

/** The largest record batch the topic takes (`max.message.bytes`, its own or the broker's default). */
export const topicMaxMessageBytes = (admin: Admin, topic: string): Promise<number> =>
  topicNumberConfig(admin, topic, 'max.message.bytes');

/** How long the topic keeps messages (`retention.ms`; -1 means for ever). */
export const topicRetentionMs = (admin: Admin, topic: string): Promise<number> =>
  topicNumberConfig(admin, topic, 'retention.ms');

export type BridgeTopics = {
  inbound: string;
  dlq: string;
  notifications: string;
  partitions: number;
  create: boolean;
  /** `retention.ms` of the intake and notification topics the service creates. */
  retentionMs: number;
  /** `retention.ms` of the dead-letter topic it creates: short, the dead letters hold whole messages. */
  dlqRetentionMs: number;
};

export type BridgeTopicLimits = {
  inboundMaxMessageBytes: number;
  dlqMaxMessageBytes: number;
  /** What an operator should fix about the dead-letter topic's size; the bridge runs anyway. */
  warnings: string[];
  /** Existing topics that keep messages longer than configured; the bridge runs anyway. */
  retentionWarnings: string[];
};

/**
 * The bridge's three topics, checked or created, with the dead-letter topic able to take what the
 * inbound topic can carry: a created one gets `max.message.bytes` of the inbound topic plus
 * {@link DEAD_LETTER_HEADROOM_BYTES}; an existing one with a smaller limit than the inbound topic's
 * is reported in `warnings` (its largest dead letters will then be written in reduced form).
 * Created topics get the configured retention; an existing topic that keeps messages longer than
 * configured (or for ever) is reported in `warnings` too: the service does not change topics it did
 * not create.
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
      { topic: topics.inbound, partitions: topics.partitions, retentionMs: topics.retentionMs },
      { topic: topics.notifications, partitions: topics.partitions, retentionMs: topics.retentionMs },
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
        retentionMs: topics.dlqRetentionMs,
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
  const retentions: [string, number, string][] = [
    [topics.inbound, topics.retentionMs, 'KAFKA_TOPIC_RETENTION_MS'],
    [topics.notifications, topics.retentionMs, 'KAFKA_TOPIC_RETENTION_MS'],
    [topics.dlq, topics.dlqRetentionMs, 'KAFKA_DLQ_RETENTION_MS'],
  ];
  const retentionWarnings: string[] = [];
  for (const [topic, wantedMs, setting] of retentions) {
    const keptMs = await topicRetentionMs(admin, topic);
    if (keptMs < 0 || keptMs > wantedMs) {
      retentionWarnings.push(
        `topic ${topic} keeps messages ${keptMs < 0 ? 'for ever' : `for ${keptMs} ms`} (retention.ms), longer than ${setting}=${wantedMs}: set its retention.ms to at most ${wantedMs}`,
      );
    }
  }
  return { inboundMaxMessageBytes, dlqMaxMessageBytes, warnings, retentionWarnings };
}
