import { randomUUID } from 'node:crypto';
import { type IHeaders, Kafka, type KafkaMessage, logLevel } from 'kafkajs';
import { headerText } from '../../kafka/headers.ts';
import type { CliCommand } from '../cli.ts';
import { CliError, guarded } from './admin-client.ts';

const help = `usage: npm run --silent cli -- dlq list [--limit <n>] [--brokers <host:port,...>] [--topic <dlq>]

Shows the intake messages the Kafka bridge refused: where each came from (topic/partition/offset),
the error code and reason, every schema violation, the key and the start of the value, in the
order they were refused. Reads the topic from its beginning up to where it ends when the command
starts, under a throw-away consumer group that commits nothing, so the service's own groups are
never touched. With --limit and several partitions, which partition's messages come first is up
to the broker.

  --limit    at most this many messages (default 50, at most 10000)
  --brokers  Kafka bootstrap brokers (default KAFKA_BROKERS)
  --topic    the dead-letter topic (default KAFKA_DLQ_TOPIC, else kyc_events.dlq)
Exit code: 0 when the topic was read (even if empty), 1 when Kafka or the topic cannot be
reached, 2 on a usage error.`;

type Settings = { brokers: string[]; topic: string; limit: number };

const flags = ['--limit', '--brokers', '--topic'];

class UsageError extends Error {}

/** The command's settings: flags first, then the same environment variables the service reads. */
export function dlqSettings(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Settings {
  for (const [i, arg] of args.entries()) {
    const isValue = i > 0 && flags.includes(args[i - 1]!);
    if (!isValue && !flags.includes(arg)) throw new UsageError(`unknown argument "${arg}"`);
  }
  const option = (name: string): string | undefined => {
    const index = args.indexOf(name);
    if (index < 0) return undefined;
    const value = args[index + 1];
    if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
    return value;
  };
  const fromEnv = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === '' ? undefined : value;
  };
  const rawBrokers = option('--brokers') ?? fromEnv('KAFKA_BROKERS');
  if (rawBrokers === undefined) throw new UsageError('no brokers: pass --brokers or set KAFKA_BROKERS');
  const brokers = rawBrokers.split(',').map((broker) => broker.trim());
  for (const broker of brokers) {
    if (!/^[^\s:]+:\d{1,5}$/.test(broker)) throw new UsageError(`"${broker}" is not host:port`);
  }
  const rawLimit = option('--limit') ?? '50';
  if (!/^\d+$/.test(rawLimit) || Number(rawLimit) < 1 || Number(rawLimit) > 10_000) {
    throw new UsageError(`--limit must be a whole number from 1 to 10000, got "${rawLimit}"`);
  }
  return {
    brokers,
    topic: option('--topic') ?? fromEnv('KAFKA_DLQ_TOPIC') ?? 'kyc_events.dlq',
    limit: Number(rawLimit),
  };
}

type DeadLetter = { partition: number; message: KafkaMessage };

/** How long to wait for the group to join, then for each next message, before giving up. */
const joinMs = 30_000;
const idleMs = 10_000;

/** Reads up to `limit` messages, stopping at the high watermarks taken before the read. */
async function readDeadLetters(
  settings: Settings,
): Promise<{ letters: DeadLetter[]; total: number; complete: boolean }> {
  const kafka = new Kafka({
    clientId: 'kyc-cli-dlq',
    brokers: settings.brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3000,
    retry: { retries: 2 },
  });
  const admin = kafka.admin();
  const where = settings.brokers.join(',');
  try {
    await admin.connect();
  } catch (error) {
    throw new CliError(`cannot reach Kafka at ${where}: ${messageOf(error)}`);
  }
  const groupId = `kyc-cli-dlq-${randomUUID()}`;
  let grouped = false;
  try {
    if (!(await admin.listTopics()).includes(settings.topic)) {
      throw new CliError(`topic "${settings.topic}" does not exist on ${where}`);
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
    if (error instanceof CliError) throw error;
    throw new CliError(`reading ${settings.topic} on ${where} failed: ${messageOf(error)}`);
  } finally {
    // The group has no offsets and no members left; removing it keeps the broker's list clean.
    if (grouped) await admin.deleteGroups([groupId]).catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Control characters would garble the terminal; a message value may hold anything. */
const printable = (text: string): string => text.replace(/\p{Cc}/gu, ' ');

function violationsOf(headers: IHeaders | undefined): string[] {
  const raw = headerText(headers, 'dlq-violations');
  if (raw === undefined) return [];
  try {
    const parsed = JSON.parse(raw) as unknown;
    if (!Array.isArray(parsed)) return [printable(raw)];
    return parsed.map((item: unknown) => {
      const { path, message } = (typeof item === 'object' && item !== null ? item : {}) as {
        path?: unknown;
        message?: unknown;
      };
      return `${String(path ?? '?')}: ${String(message ?? JSON.stringify(item))}`;
    });
  } catch {
    return [printable(raw)];
  }
}

function describe({ partition, message }: DeadLetter, topic: string): string[] {
  const header = (name: string) => headerText(message.headers, name);
  const origin = `${header('dlq-original-topic') ?? '?'}/${header('dlq-original-partition') ?? '?'}/${header('dlq-original-offset') ?? '?'}`;
  const value = message.value === null ? null : printable(message.value.toString('utf8'));
  return [
    `${origin}  ${header('dlq-error-code') ?? '(no error code)'}  failed at ${header('dlq-failed-at') ?? '?'}  (${topic}/${partition}/${message.offset})`,
    `  reason: ${printable(header('dlq-error-reason') ?? '-')}`,
    ...violationsOf(message.headers).map((violation) => `  violation ${printable(violation)}`),
    `  key: ${message.key === null ? '(none)' : printable(message.key.toString('utf8'))}`,
    `  value: ${value === null ? '(none)' : value.length > 200 ? `${value.slice(0, 200)}…` : value}`,
  ];
}

export const dlqCommand: CliCommand = {
  summary: 'list the intake messages on the dead-letter topic',
  run: (args) =>
    guarded(async () => {
      const [action, ...rest] = args;
      if (args.includes('--help') || args.includes('-h') || action !== 'list') {
        console.log(help);
        return args.includes('--help') || args.includes('-h') ? 0 : 2;
      }
      let settings: Settings;
      try {
        settings = dlqSettings(rest, process.env);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        console.error(`error: ${error.message}\n\n${help}`);
        return 2;
      }
      const { letters, total, complete } = await readDeadLetters(settings);
      if (total === 0) {
        console.log(`no dead letters in ${settings.topic}`);
        return 0;
      }
      if (letters.length === 0) {
        throw new CliError(
          `${settings.topic} holds ${total} message(s) but none arrived within ${joinMs / 1000} s; is the broker healthy?`,
        );
      }
      const ordered = [...letters].sort(
        (a, b) =>
          Number(a.message.timestamp) - Number(b.message.timestamp) ||
          a.partition - b.partition ||
          Number(BigInt(a.message.offset) - BigInt(b.message.offset)),
      );
      for (const letter of ordered) console.log(describe(letter, settings.topic).join('\n'));
      const more = letters.length < total ? ` (of ${total} on the topic; --limit to see more)` : '';
      console.log(`${letters.length} dead letter(s) in ${settings.topic}${more}`);
      if (!complete) {
        console.log(`stopped waiting after ${idleMs / 1000} s without a message; the topic may hold gaps`);
      }
      return 0;
    }),
};
