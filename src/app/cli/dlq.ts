import {
  type DeadLetter,
  DeadLetterReadError,
  idleMs,
  joinMs,
  readDeadLetters,
} from '../../kafka/dead-letters.ts';
import type { KafkaHeaders } from '../../kafka/headers.ts';
import { headerText } from '../../kafka/headers.ts';
import { CliError, guarded } from './admin-client.ts';
import type { CliCommand } from './command.ts';

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

/** Control characters would garble the terminal; a message value may hold anything. */
const printable = (text: string): string => text.replace(/\p{Cc}/gu, ' ');

function violationsOf(headers: KafkaHeaders | undefined): string[] {
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
    ...(header('dlq-reduced') === undefined
      ? []
      : [
          `  reduced: ${header('dlq-reduced')}, the original value had ${header('dlq-value-bytes') ?? '?'} bytes, sha256 ${header('dlq-value-sha256') ?? '?'}`,
        ]),
    ...(header('dlq-audit-failed') === undefined
      ? []
      : [`  not in the intake audit: ${printable(header('dlq-audit-failed') ?? '')}`]),
    `  key: ${message.key === null ? '(none)' : printable(message.key.toString('utf8'))}`,
    `  value: ${value === null ? '(none)' : value.length > 200 ? `${value.slice(0, 200)}…` : value}`,
  ];
}

export const dlqCommand: CliCommand = {
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
      const { letters, total, complete } = await readDeadLetters(settings).catch((error: unknown) => {
        throw error instanceof DeadLetterReadError ? new CliError(error.message) : error;
      });
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
