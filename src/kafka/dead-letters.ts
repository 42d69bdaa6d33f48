import { randomUUID } from 'node:crypto';
import { Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { headerText } from './headers.ts';

export type DeadLetterSource = { brokers: readonly string[]; topic: string; limit: number };

/** Kafka or the topic could not be reached or read; the message says which and why. */
export class DeadLetterReadError extends Error {}

export type DeadLetter = { partition: number; message: KafkaMessage };

/** How long to wait for the group to join, then for each next message, before giving up. */
export const joinMs = 30_000;
export const idleMs = 10_000;

/** Reads up to `limit` messages, stopping at the high watermarks taken before the read. */
export async function readDeadLetters(
  settings: DeadLetterSource,
): Promise<{ letters: DeadLetter[]; total: number; complete: boolean }> {
  const kafka = new Kafka({
    clientId: 'kyc-cli-dlq',
    brokers: [...settings.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 2 },
  });
  const admin = kafka.admin();
  const where = settings.brokers.join(',');
  try {
    await admin.connect();
  } catch (error) {
    throw new DeadLetterReadError(`cannot reach Kafka at ${where}: ${messageOf(error)}`);
  }
  const groupId = `kyc-cli-dlq-${randomUUID()}`;
  let grouped = false;
  try {
    if (!(await admin.listTopics()).includes(settings.topic)) {
      throw new DeadLetterReadError(`topic "${settings.topic}" does not exist on ${where}`);
    }
    // Where the topic ends now: messages arriving while we read are left for the next look.
    const ends = new Map<number, bigint>();
    let total = 0;
    for (const { partition, high, low } of await admin.fetchTopicOffsets(settings.topic)) {
      if (BigInt(high) > BigInt(low)) {
        ends.set(partition, BigInt(high));
        total += Number(BigInt(high) - BigInt(low));
      }
    }
    if (total === 0) return { letters: [], total: 0, complete: true };

    // A fresh group that never commits: it starts from the beginning and leaves no offsets behind.
    const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false });
    grouped = true;
    const letters: DeadLetter[] = [];
    let complete = true;
    try {
      await consumer.connect();
      await consumer.subscribe({ topic: settings.topic, fromBeginning: true });
      await new Promise<void>((resolve, reject) => {
        let idle: NodeJS.Timeout | undefined;
        const finish = (error?: unknown) => {
          clearTimeout(idle);
          if (error === undefined) resolve();
          else reject(error);
        };
        const wait = (ms = idleMs) => {
          clearTimeout(idle);
          idle = setTimeout(() => {
            complete = false;
            finish();
          }, ms);
        };
        wait(joinMs);
        consumer.on(consumer.events.GROUP_JOIN, () => wait());
        consumer.on(consumer.events.CRASH, ({ payload }) => finish(payload.error));
        consumer
          .run({
            autoCommit: false,
            eachMessage: async ({ partition, message }) => {
              const end = ends.get(partition);
              if (end === undefined || BigInt(message.offset) >= end || letters.length >= settings.limit) {
                return;
              }
              letters.push({ partition, message });
              wait();
              if (BigInt(message.offset) + 1n >= end) ends.delete(partition);
              if (ends.size === 0 || letters.length >= settings.limit) finish();
            },
          })
          .catch(finish);
      });
    } finally {
      await consumer.disconnect().catch(() => undefined);
    }
    return { letters, total, complete };
  } catch (error) {
    if (error instanceof DeadLetterReadError) throw error;
    throw new DeadLetterReadError(`reading ${settings.topic} on ${where} failed: ${messageOf(error)}`);
  } finally {
    // The group has no offsets and no members left; removing it keeps the broker's list clean.
    if (grouped) await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** One dead letter as data: where it was refused from, why, and the start of what it carried. */
export function deadLetterView({ partition, message }: DeadLetter, topic: string) {
  const header = (name: string) => headerText(message.headers, name);
  let violations: unknown = [];
  try {
    violations = JSON.parse(header('dlq-violations') ?? '[]');
  } catch {
    violations = header('dlq-violations');
  }
  const value = message.value?.toString('utf8') ?? null;
  return {
    topic,
    partition,
    offset: message.offset,
    original_topic: header('dlq-original-topic') ?? null,
    original_partition: header('dlq-original-partition') ?? null,
    original_offset: header('dlq-original-offset') ?? null,
    error_code: header('dlq-error-code') ?? null,
    reason: header('dlq-error-reason') ?? null,
    violations,
    failed_at: header('dlq-failed-at') ?? null,
    original_timestamp: header('dlq-original-timestamp') ?? null,
    // Set when the dead letter does not carry the whole value (see src/kafka/dead-letter-writer.ts).
    reduced: header('dlq-reduced') ?? null,
    value_bytes: header('dlq-value-bytes') === undefined ? null : Number(header('dlq-value-bytes')),
    value_sha256: header('dlq-value-sha256') ?? null,
    audit_failed: header('dlq-audit-failed') ?? null,
    key: message.key?.toString('utf8') ?? null,
    value: value === null ? null : value.slice(0, 2_000),
  };
}
