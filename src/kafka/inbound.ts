import {
  type Consumer,
  type EachMessagePayload,
  type IHeaders,
  type Kafka,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import { DomainError } from '../eventsourcing/core/errors.ts';
import { inSpan, SpanKind } from '../observability/tracing.ts';
import { headerText } from './headers.ts';

export type Violation = { path: string; message: string };

/** Where an intake came from, for the audit trail and the dead-letter headers. */
export type IntakeSource = { topic: string; partition: number; offset: string; key: string | undefined };

export type IntakeContext = {
  idempotencyKey: string;
  correlationId: string;
  actor: string;
  traceparent?: string;
  source: IntakeSource;
};

export type Rejection = { code: string; reason: string; violations: Violation[]; raw: string };

/** What the bridge needs from the case service: validate, open, and record what was refused. */
export type IntakePort = {
  validate(value: unknown): { ok: true; intake: unknown } | { ok: false; violations: Violation[] };
  open(intake: unknown, context: IntakeContext): Promise<unknown>;
  recordRejected(rejection: Rejection, context: IntakeContext): Promise<void>;
};

export type InboundOptions = {
  kafka: Kafka;
  logger: Logger;
  topic: string;
  dlqTopic: string;
  groupId: string;
  intake: IntakePort;
  /** A message larger than this is refused (DLQ) before it is parsed. */
  maxMessageBytes: number;
  /** How many partitions are handled at once; one partition is always handled in order. */
  partitionsConcurrently?: number;
  /** Backoff between retries of a message that failed for a transient reason. */
  retryDelayMs?: { initial: number; max: number };
  /** Called after each batch with how far the partition's committed position is behind its end. */
  onLag?: (topic: string, partition: number, lag: number) => void;
};

export type PartitionHealth = {
  partition: number;
  offset: string;
  failures: number;
  lastError: string;
  since: string;
};

export type InboundStatus = {
  running: boolean;
  stalled: PartitionHealth[];
  deadLettered: number;
  opened: number;
};

type Verdict = { kind: 'opened' } | { kind: 'dead-letter'; rejection: Rejection };

/**
 * Kafka → command bridge for intake messages.
 *
 * Per message, in order: decode (UTF-8 JSON) → validate → open the case → let the offset be
 * committed. A message that can never succeed (bad JSON, schema violations, too large, a domain
 * rule) goes to the dead-letter topic with its key, value and headers plus the reason, is
 * recorded in the intake audit, and only then is its offset committed. A transient failure
 * (event store down, timeout) pauses that partition, backs off and retries the same message, so
 * nothing is skipped and the other partitions keep flowing. The idempotency key is the
 * `idempotency-key` or `message-id` header, else topic/partition/offset, so a redelivery opens no
 * second case.
 */
export function createInboundBridge(options: InboundOptions) {
  const { kafka, logger, intake } = options;
  const delays = options.retryDelayMs ?? { initial: 200, max: 30_000 };
  const stalled = new Map<number, PartitionHealth>();
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let running = false;
  let deadLettered = 0;
  let opened = 0;

  function contextOf(payload: EachMessagePayload): IntakeContext {
    const { topic, partition, message } = payload;
    const key = message.key?.toString('utf8');
    const explicitKey =
      headerText(message.headers, 'idempotency-key') ?? headerText(message.headers, 'message-id');
    const traceparent = headerText(message.headers, 'traceparent');
    return {
      idempotencyKey: explicitKey ?? `kafka:${topic}/${partition}/${message.offset}`,
      correlationId:
        headerText(message.headers, 'correlation-id') ??
        explicitKey ??
        `${topic}/${partition}/${message.offset}`,
      actor: `kafka:${topic}`,
      ...(traceparent === undefined ? {} : { traceparent }),
      source: { topic, partition, offset: message.offset, key },
    };
  }

  async function judge(value: Buffer | null, context: IntakeContext): Promise<Verdict> {
    const raw = value?.toString('utf8') ?? '';
    const refuse = (code: string, reason: string, violations: Violation[] = []): Verdict => ({
      kind: 'dead-letter',
      rejection: { code, reason, violations, raw },
    });
    if (value === null) return refuse('intake.empty', 'the message has no value');
    if (value.length > options.maxMessageBytes) {
      return refuse(
        'intake.too_large',
        `the message has ${value.length} bytes; at most ${options.maxMessageBytes} are accepted`,
      );
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(value));
    } catch (error) {
      return refuse(
        'intake.invalid_json',
        `not UTF-8 JSON: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    const checked = intake.validate(parsed);
    if (!checked.ok) {
      return refuse('intake.invalid', `${checked.violations.length} schema violation(s)`, checked.violations);
    }
    try {
      await intake.open(checked.intake, context);
      return { kind: 'opened' };
    } catch (error) {
      // A broken business rule will break the same way on every retry: dead-letter it.
      if (error instanceof DomainError && !error.transient) return refuse(error.code, error.message);
      throw error;
    }
  }

  async function deadLetter(
    payload: EachMessagePayload,
    context: IntakeContext,
    rejection: Rejection,
  ): Promise<void> {
    const { topic, partition, message } = payload;
    const headers: IHeaders = {
      ...message.headers,
      'dlq-error-code': rejection.code,
      'dlq-error-reason': rejection.reason,
      'dlq-violations': JSON.stringify(rejection.violations),
      'dlq-original-topic': topic,
      'dlq-original-partition': String(partition),
      'dlq-original-offset': message.offset,
      'dlq-original-timestamp': message.timestamp,
      'dlq-failed-at': new Date().toISOString(),
    };
    await producer!.send({
      topic: options.dlqTopic,
      acks: -1,
      messages: [{ key: message.key, value: message.value, headers }],
    });
    await intake.recordRejected(rejection, context);
    deadLettered++;
    logger.warn(
      {
        topic,
        partition,
        offset: message.offset,
        code: rejection.code,
        violations: rejection.violations.length,
      },
      'intake message dead-lettered',
    );
  }

  /** One consumer span per message, continuing the producer's trace when it sent one. */
  function eachMessage(payload: EachMessagePayload): Promise<void> {
    const { topic, partition, message } = payload;
    return inSpan(
      `kafka.consume ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        parent: headerText(message.headers, 'traceparent'),
        attributes: {
          'messaging.system': 'kafka',
          'messaging.destination.name': topic,
          'messaging.kafka.destination.partition': partition,
          'messaging.kafka.message.offset': Number(message.offset),
        },
      },
      () => handleMessage(payload),
    );
  }

  async function handleMessage(payload: EachMessagePayload): Promise<void> {
    const { partition, message } = payload;
    const context = contextOf(payload);
    try {
      const verdict = await judge(message.value, context);
      if (verdict.kind === 'dead-letter') await deadLetter(payload, context, verdict.rejection);
      else opened++;
      stalled.delete(partition);
    } catch (error) {
      const previous = stalled.get(partition);
      const failures =
        previous !== undefined && previous.offset === message.offset ? previous.failures + 1 : 1;
      const delay = Math.min(delays.max, delays.initial * 2 ** (failures - 1));
      const reason = error instanceof Error ? error.message : String(error);
      stalled.set(partition, {
        partition,
        offset: message.offset,
        failures,
        lastError: reason,
        since: previous?.since ?? new Date().toISOString(),
      });
      logger.error(
        { partition, offset: message.offset, failures, retryInMs: delay, err: error },
        'intake failed; will retry',
      );
      // Pausing and rethrowing makes the consumer come back to this very offset after the delay,
      // without committing it and without holding up the other partitions.
      const resume = payload.pause();
      setTimeout(resume, delay).unref();
      throw error;
    }
  }

  return {
    async start(): Promise<void> {
      // The partitioner named explicitly (murmur2, as the Java client): keys land where other
      // clients put them, and kafkajs does not warn about its changed default at every start.
      producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      consumer = kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: false });
      await consumer.connect();
      await consumer.subscribe({ topic: options.topic, fromBeginning: true });
      const onLag = options.onLag;
      if (onLag !== undefined) {
        consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) =>
          onLag(payload.topic, payload.partition, Number(payload.offsetLagLow)),
        );
      }
      await consumer.run({
        partitionsConsumedConcurrently: options.partitionsConcurrently ?? 4,
        eachMessage,
      });
      running = true;
      logger.info({ topic: options.topic, groupId: options.groupId }, 'intake bridge consuming');
    },
    /** Stops fetching, lets the message in hand finish, commits, and disconnects. */
    async stop(): Promise<void> {
      running = false;
      await consumer?.disconnect();
      await producer?.disconnect();
    },
    status(): InboundStatus {
      return { running, stalled: [...stalled.values()], deadLettered, opened };
    },
  };
}

export type InboundBridge = ReturnType<typeof createInboundBridge>;
