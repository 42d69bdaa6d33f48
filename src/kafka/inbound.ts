import type { Consumer, EachBatchPayload, Kafka, KafkaMessage, Producer } from 'kafkajs';
import { Partitioners } from 'kafkajs';
import type { Logger } from 'pino';
import type { IntakeContext, IntakePort, Rejection } from '../cases/application/ports.ts';
import { DomainError, isTransient } from '../eventsourcing/core/errors.ts';
import { inSpan, SpanKind } from '../observability/tracing.ts';
import { DEAD_LETTER_CUT_VALUE_BYTES, type DeadLetterForm, writeDeadLetter } from './dead-letter-writer.ts';
import { headerText } from './headers.ts';
import { decodeIntakeValue } from './intake-value.ts';

export type Backoff = { initial: number; max: number };

export type InboundOptions = {
  kafka: Kafka;
  logger: Logger;
  topic: string;
  dlqTopic: string;
  groupId: string;
  intake: IntakePort;
  /** A message larger than this is refused (DLQ) before it is parsed. */
  maxMessageBytes: number;
  /** How many partitions are handled at once. */
  partitionsConcurrently?: number;
  /**
   * Messages of one partition in hand at once (default 32), each for a different idempotency key
   * (which decides the case): messages with the same key are handled in offset order. 1 handles
   * one message at a time in offset order.
   */
  concurrency?: number;
  /** Backoff between attempts at a message whose handling failed (default 200 ms doubling to 30 s). */
  retryDelayMs?: Backoff;
  /** Attempts at a message failing with an unclassified error before it is dead-lettered (default 5). */
  maxUnclassifiedAttempts?: number;
  /** Failed attempts at writing a dead letter in full before only reduced forms are tried (default 3). */
  deadLetterFullAttempts?: number;
  /** Bytes of the value kept by a `value-cut` dead letter (default 64 KiB). */
  deadLetterCutValueBytes?: number;
  /** Backoff between attempts to bring a crashed consumer back (default 1 s doubling to 30 s). */
  restartDelayMs?: Backoff;
  /** Called after each batch with how far the partition's committed position is behind its end. */
  onLag?: (topic: string, partition: number, lag: number) => void;
};

/** The step of a message's handling that failed: the intake itself, its audit record, or its dead letter. */
export type Step = 'open' | 'audit' | 'dead-letter';

export type PartitionHealth = {
  partition: number;
  offset: string;
  step: Step;
  /** Transient errors are retried for as long as they last; unclassified ones a bounded number of times. */
  errorClass: 'transient' | 'unclassified' | 'dead-letter';
  failures: number;
  lastError: string;
  since: string;
  nextAttemptAt: string;
};

export type ConsumerState = {
  /** `restarting`: the consumer crashed and is being brought back; nothing is consumed meanwhile. */
  state: 'starting' | 'running' | 'restarting' | 'stopped';
  since: string;
  restarts: number;
  lastCrash?: { at: string; error: string };
  /**
   * The last time the group coordinator answered (a heartbeat, every few seconds while all is
   * well, paused partitions or not; or a join). A consumer can be `running` and yet cut off from
   * the broker while kafkajs retries: this says for how long.
   */
  lastContactAt?: string;
};

export type InboundStatus = {
  running: boolean;
  consumer: ConsumerState;
  stalled: PartitionHealth[];
  opened: number;
  deadLettered: number;
  /** Dead letters written without their full value (see `DeadLetterForm`). */
  deadLetteredReduced: number;
  /** Dead letters written although their audit record could not be. */
  auditSkipped: number;
  /** Offset commits that failed: those messages may be delivered again (they are idempotent). */
  commitFailures: number;
};

/**
 * What has been done for one message. It outlives a failed attempt and a crashed consumer (not
 * the process), so a step already done (the audit record, the dead letter) is not done again when
 * a later step fails and the message comes round again.
 */
type Progress = {
  id: string;
  partition: number;
  offset: string;
  opened: boolean;
  rejection?: Rejection;
  audit: 'pending' | 'written' | 'skipped';
  auditFailure?: string;
  letter?: DeadLetterForm;
  /** Handled; only the offset commit is left. */
  done: boolean;
  step: Step;
  failures: number;
  unclassifiedFailures: number;
  letterFailures: number;
  lastError?: string;
  errorClass?: PartitionHealth['errorClass'];
  since?: string;
  nextAttemptAt?: string;
  /** The backoff before the next attempt, after a failed one. */
  retryInMs?: number;
};

/** Handled messages not yet committed are remembered this long (by count) to skip them on redelivery. */
const MAX_REMEMBERED = 10_000;

/** One message as delivered from one partition. */
type Delivery = { partition: number; message: KafkaMessage };

/** How a message's handling ended this time: handled (only the commit is left), or to be retried. */
type Outcome = 'done' | 'retry';

const messageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
const delayOf = (backoff: Backoff, failures: number) =>
  Math.min(backoff.max, backoff.initial * 2 ** Math.max(0, failures - 1));

/**
 * Kafka → command bridge for intake messages.
 *
 * Per message: decode (UTF-8 JSON) → validate → open the case → commit the offset. Messages of
 * one partition for different cases are handled concurrently (up to `concurrency`); messages
 * with the same idempotency key, which decides the case, are handled one after another in offset
 * order. A message that can never succeed (empty, too large, not UTF-8, not JSON, schema violations, a
 * broken domain rule) is recorded in the intake audit first, then written to the dead-letter
 * topic, then its offset is committed; a step done is not repeated when a later one fails.
 *
 * Errors decide what happens: a transient one (`isTransient`: event store unreachable, busy case)
 * is retried with backoff for as long as it lasts; a `DomainError` that is not transient is
 * dead-lettered with its code at once; anything else is retried `maxUnclassifiedAttempts` times,
 * then dead-lettered as `intake.processing_failed` with the error's message. A message to be
 * retried stops its batch from starting more messages; those in hand finish, then only that
 * partition is paused and rewound to the first message not handled (nothing is thrown into
 * kafkajs, so no error ends the consumer), while the other partitions keep flowing. Messages
 * after it that were handled are remembered and not handled again when they come round. A dead letter the topic refuses for its
 * size is written in a reduced form (see `DeadLetterForm`); one that cannot be written at all is
 * retried, and after `deadLetterFullAttempts` only reduced forms are tried.
 *
 * Offsets are committed by hand once per batch, up to the watermark: the first message not yet
 * handled, so a commit never passes an unfinished message. Should the consumer crash anyway (the broker
 * gone for longer than kafkajs retries), it is rebuilt with backoff until it runs again;
 * `status()` says which state it is in and since when.
 *
 * The idempotency key is the `idempotency-key` or `message-id` header, else
 * `kafka:<topic>/<partition>/<offset>@<timestamp>`: a redelivered record keeps its offset and
 * timestamp, so it opens no second case, while a record at the same offset of a re-created topic
 * (offsets start again at 0) has a later timestamp and counts as new.
 */
export function createInboundBridge(options: InboundOptions) {
  const { kafka, logger, intake, topic } = options;
  const delays = options.retryDelayMs ?? { initial: 200, max: 30_000 };
  const restartDelays = options.restartDelayMs ?? { initial: 1_000, max: 30_000 };
  const maxUnclassified = options.maxUnclassifiedAttempts ?? 5;
  const fullAttempts = options.deadLetterFullAttempts ?? 3;
  const cutValueBytes = options.deadLetterCutValueBytes ?? DEAD_LETTER_CUT_VALUE_BYTES;
  const progress = new Map<string, Progress>();
  const timers = new Set<NodeJS.Timeout>();
  let assigned = new Set<number>();
  let consumer: Consumer | undefined;
  let producer: Producer | undefined;
  let stopping = false;
  let lastContactAt: number | undefined;
  /** Crashes seen: a consumer that crashed while joining is not then called running. */
  let crashes = 0;
  /** Restart attempts since the consumer last ran: the backoff grows with them. */
  let failedRestarts = 0;
  let consumerState: ConsumerState = { state: 'stopped', since: new Date().toISOString(), restarts: 0 };
  const counts = { opened: 0, deadLettered: 0, deadLetteredReduced: 0, auditSkipped: 0, commitFailures: 0 };

  const concurrency = Math.max(1, options.concurrency ?? 32);

  function contextOf({ partition, message }: Delivery): IntakeContext {
    const key = message.key?.toString('utf8');
    const explicitKey =
      headerText(message.headers, 'idempotency-key') ?? headerText(message.headers, 'message-id');
    const traceparent = headerText(message.headers, 'traceparent');
    const position = `${topic}/${partition}/${message.offset}@${message.timestamp}`;
    return {
      idempotencyKey: explicitKey ?? `kafka:${position}`,
      correlationId: headerText(message.headers, 'correlation-id') ?? explicitKey ?? position,
      actor: `kafka:${topic}`,
      ...(traceparent === undefined ? {} : { traceparent }),
      source: { topic, partition, offset: message.offset, timestamp: message.timestamp, key },
    };
  }

  /**
   * The value as text for the audit record: whole up to the intake limit, beyond it only as much
   * as a reduced dead letter keeps (the whole value is in the dead-letter topic).
   */
  function rawText(value: Buffer | null): string {
    if (value === null) return '';
    return (value.length > options.maxMessageBytes ? value.subarray(0, cutValueBytes) : value).toString(
      'utf8',
    );
  }

  /** The intake opened, or why it never will be; throws what may pass (transient or unclassified). */
  async function judge(value: Buffer | null, context: IntakeContext): Promise<Rejection | 'opened'> {
    const decoded = decodeIntakeValue(value, options.maxMessageBytes);
    const raw = rawText(value);
    if (!decoded.ok) return { code: decoded.code, reason: decoded.reason, violations: [], raw };
    const checked = intake.validate(decoded.value);
    if (!checked.ok) {
      return {
        code: 'intake.invalid',
        reason: `${checked.violations.length} schema violation(s)`,
        violations: checked.violations,
        raw,
      };
    }
    try {
      await intake.open(checked.intake, context);
      return 'opened';
    } catch (error) {
      // A broken business rule breaks the same way on every retry: dead-letter it with its code.
      if (error instanceof DomainError && !error.transient) {
        return { code: error.code, reason: error.message, violations: [], raw };
      }
      throw error;
    }
  }

  /** Runs the steps not yet done for this message; throws the error of the step that failed. */
  async function advance(entry: Progress, payload: Delivery, context: IntakeContext): Promise<void> {
    if (!entry.opened && entry.rejection === undefined) {
      entry.step = 'open';
      const verdict = await judge(payload.message.value, context);
      if (verdict === 'opened') {
        entry.opened = true;
        counts.opened++;
        return;
      }
      entry.rejection = verdict;
    }
    const rejection = entry.rejection;
    if (entry.opened || rejection === undefined) return;
    if (entry.audit === 'pending') {
      entry.step = 'audit';
      await intake.recordRejected(rejection, context);
      entry.audit = 'written';
    }
    if (entry.letter === undefined) {
      entry.step = 'dead-letter';
      const { message, partition } = payload;
      const written = await writeDeadLetter(
        (record) => producer!.send({ topic: options.dlqTopic, acks: -1, messages: [record] }),
        {
          topic,
          partition,
          offset: message.offset,
          timestamp: message.timestamp,
          key: message.key,
          value: message.value,
          headers: message.headers,
          code: rejection.code,
          reason: rejection.reason,
          violations: rejection.violations,
          failedAt: new Date().toISOString(),
          ...(entry.auditFailure === undefined ? {} : { auditFailure: entry.auditFailure }),
        },
        {
          cutValueBytes,
          ...(entry.letterFailures >= fullAttempts
            ? { reducedOnly: `the full form failed ${entry.letterFailures} times: ${entry.lastError ?? ''}` }
            : {}),
        },
      );
      entry.letter = written.form;
      counts.deadLettered++;
      const fields = {
        partition,
        offset: message.offset,
        code: rejection.code,
        violations: rejection.violations.length,
      };
      if (written.form === 'full') logger.warn(fields, 'intake message dead-lettered');
      else {
        counts.deadLetteredReduced++;
        logger.error(
          {
            ...fields,
            logCode: 'kafka.dead_letter_reduced',
            form: written.form,
            because: written.reducedBecause,
          },
          'intake message dead-lettered in reduced form',
        );
      }
    }
  }

  /**
   * After a failed step: true when the failure is final for that step and a fallback was set
   * (dead-letter the intake as `intake.processing_failed`, or write the dead letter without its
   * audit record), so the caller goes on at once; false when the message is to be retried later.
   */
  function fallBack(entry: Progress, payload: Delivery, error: unknown): boolean {
    if (entry.step === 'dead-letter') {
      entry.letterFailures++;
      entry.errorClass = 'dead-letter';
      return false;
    }
    if (isTransient(error)) {
      entry.errorClass = 'transient';
      return false;
    }
    entry.errorClass = 'unclassified';
    entry.unclassifiedFailures++;
    if (entry.unclassifiedFailures < maxUnclassified) return false;
    const reason = `failed ${entry.unclassifiedFailures} times: ${messageOf(error)}`;
    if (entry.step === 'open') {
      entry.rejection = {
        code: 'intake.processing_failed',
        reason,
        violations: [],
        raw: rawText(payload.message.value),
      };
      entry.unclassifiedFailures = 0;
      return true;
    }
    entry.audit = 'skipped';
    entry.auditFailure = reason;
    counts.auditSkipped++;
    logger.error(
      { partition: entry.partition, offset: entry.offset, logCode: 'kafka.audit_failed', err: error },
      'intake audit record could not be written; dead-lettering without it',
    );
    return true;
  }

  /** Notes a failed attempt; returns how long to wait before the next one. */
  function failedAttempt(entry: Progress, error: unknown): number {
    entry.failures++;
    const delay = delayOf(delays, entry.failures);
    const now = Date.now();
    entry.since ??= new Date(now).toISOString();
    entry.lastError = messageOf(error);
    entry.nextAttemptAt = new Date(now + delay).toISOString();
    logger.error(
      {
        partition: entry.partition,
        offset: entry.offset,
        step: entry.step,
        errorClass: entry.errorClass,
        failures: entry.failures,
        retryInMs: delay,
        logCode: 'kafka.intake_retrying',
        err: error,
      },
      'intake failed; will retry',
    );
    return delay;
  }

  /** Commits the partition up to `watermark` and forgets the handled messages below it. */
  async function commit(partition: number, watermark: bigint, handled: Progress[], owner: Consumer) {
    try {
      await owner.commitOffsets([{ topic, partition, offset: watermark.toString() }]);
      for (const entry of handled) if (BigInt(entry.offset) < watermark) progress.delete(entry.id);
    } catch (error) {
      // The messages are handled; a later commit on this partition covers them. Should they come
      // back before that (a rebalance), the remembered progress skips straight to the commit.
      counts.commitFailures++;
      logger.warn(
        { partition, offset: (watermark - 1n).toString(), logCode: 'kafka.commit_failed', err: error },
        'offset commit failed; messages may be delivered again',
      );
    }
  }

  function progressFor({ partition, message }: Delivery): Progress {
    const id = `${partition}/${message.offset}/${message.timestamp}`;
    const known = progress.get(id);
    if (known !== undefined) return known;
    if (progress.size >= MAX_REMEMBERED) progress.delete(progress.keys().next().value!);
    const entry: Progress = {
      id,
      partition,
      offset: message.offset,
      opened: false,
      audit: 'pending',
      done: false,
      step: 'open',
      failures: 0,
      unclassifiedFailures: 0,
      letterFailures: 0,
    };
    progress.set(id, entry);
    return entry;
  }

  /**
   * Unfinished messages of this partition below where its batch starts were committed past by
   * another member after a rebalance; they would otherwise show as stalled for ever.
   */
  function forgetPassed(partition: number, from: bigint): void {
    for (const [id, entry] of progress) {
      if (entry.partition === partition && !entry.done && BigInt(entry.offset) < from) progress.delete(id);
    }
  }

  /** Runs the steps not yet done for this message; says whether it is handled or to be retried. */
  async function handleMessage(
    entry: Progress,
    delivery: Delivery,
    context: IntakeContext,
  ): Promise<Outcome> {
    if (entry.done) return 'done';
    for (;;) {
      try {
        await advance(entry, delivery, context);
        break;
      } catch (error) {
        if (!fallBack(entry, delivery, error)) {
          entry.retryInMs = failedAttempt(entry, error);
          return 'retry';
        }
      }
    }
    if (entry.failures > 0) {
      logger.info(
        {
          partition: entry.partition,
          offset: entry.offset,
          failures: entry.failures,
          logCode: 'kafka.intake_recovered',
        },
        'intake message handled after retries',
      );
    }
    entry.done = true;
    return 'done';
  }

  /** One consumer span per message, continuing the producer's trace when it sent one. */
  function tracedMessage(entry: Progress, delivery: Delivery, context: IntakeContext): Promise<Outcome> {
    const { partition, message } = delivery;
    return inSpan(
      `kafka.consume ${topic}`,
      {
        kind: SpanKind.CONSUMER,
        parent: context.traceparent,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.destination.name': topic,
          'messaging.kafka.destination.partition': partition,
          'messaging.kafka.message.offset': Number(message.offset),
        },
      },
      () => handleMessage(entry, delivery, context),
    );
  }

  /**
   * Handles one fetched batch of one partition. Messages are started in offset order, at most
   * `concurrency` at a time, each after the previous message with its idempotency key has been
   * handled. A message to be retried stops further starts; when those in hand have finished the
   * offset is committed up to the first message not handled, and should one be left the partition
   * is paused, rewound to it and resumed after the backoff. `owner` is the consumer that
   * delivered the batch: a retry or commit never goes to its successor after a restart.
   */
  async function eachBatch(payload: EachBatchPayload, owner: Consumer): Promise<void> {
    const { batch } = payload;
    const partition = batch.partition;
    if (batch.messages.length === 0) return;
    const first = BigInt(batch.messages[0]!.offset);
    forgetPassed(partition, first);
    type Started = { entry: Progress; outcome: Outcome | 'waiting' | 'blocked' };
    const started: Started[] = [];
    const inHand = new Set<Promise<void>>();
    const lastOfKey = new Map<string, Promise<Outcome | 'blocked'>>();
    let halted = false;
    for (const message of batch.messages) {
      while (inHand.size >= concurrency) await Promise.race(inHand);
      if (halted || !payload.isRunning() || payload.isStale()) break;
      try {
        await payload.heartbeat();
      } catch {
        // A rebalance under way: start nothing more, so that kafkajs can rejoin the group soon.
        break;
      }
      const delivery = { partition, message };
      const context = contextOf(delivery);
      const entry = progressFor(delivery);
      const slot: Started = { entry, outcome: 'waiting' };
      started.push(slot);
      const before = lastOfKey.get(context.idempotencyKey);
      const run = (async (): Promise<Outcome | 'blocked'> => {
        // The same case waits for its previous message, and is not handled past one left unhandled.
        if (before !== undefined && (await before) !== 'done') return 'blocked';
        const outcome = await tracedMessage(entry, delivery, context);
        if (outcome === 'retry') halted = true;
        return outcome;
      })();
      lastOfKey.set(context.idempotencyKey, run);
      const settled: Promise<void> = run.then((outcome) => {
        slot.outcome = outcome;
        inHand.delete(settled);
      });
      inHand.add(settled);
    }
    await Promise.all(inHand);

    const unhandled = started.find((slot) => slot.outcome !== 'done');
    const watermark =
      unhandled === undefined
        ? BigInt(started.at(-1)?.entry.offset ?? first - 1n) + 1n
        : BigInt(unhandled.entry.offset);
    if (watermark > first) {
      payload.resolveOffset((watermark - 1n).toString());
      await commit(
        partition,
        watermark,
        started.map((slot) => slot.entry),
        owner,
      );
    }
    const retries = started.filter((slot) => slot.outcome === 'retry').map((slot) => slot.entry);
    if (retries.length === 0) return;
    // Every message retried waits at least its own backoff.
    const delay = Math.max(...retries.map((entry) => entry.retryInMs ?? 0));
    // Returning (not throwing) keeps kafkajs from restarting its fetch loop; the seek makes the
    // next fetch of this partition start at the first unhandled message again.
    const resume = payload.pause();
    owner.seek({ topic, partition, offset: watermark.toString() });
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (consumer === owner) resume();
    }, delay);
    timers.add(timer);
  }

  function setState(state: ConsumerState['state'], extra: Partial<ConsumerState> = {}): void {
    consumerState = { ...consumerState, ...extra, state, since: new Date().toISOString() };
  }

  /** A new consumer joined to the group and consuming; the previous one, if any, is left behind. */
  async function startConsumer(): Promise<void> {
    const next = kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      // Also how long kafkajs sleeps when every assigned partition is paused: a retry waits for
      // its backoff plus up to this (kafkajs' default is 5 s; the Java client's 500 ms).
      maxWaitTimeInMs: 500,
      // kafkajs restarts a crashed consumer only for some errors; this bridge restarts it for all.
      retry: { retries: 5, restartOnFailure: async () => false },
    });
    consumer = next;
    next.on(next.events.GROUP_JOIN, ({ payload }) => {
      if (consumer !== next) return;
      assigned = new Set(payload.memberAssignment[topic] ?? []);
      lastContactAt = Date.now();
    });
    next.on(next.events.HEARTBEAT, () => {
      if (consumer === next) lastContactAt = Date.now();
    });
    next.on(next.events.CRASH, ({ payload }) => {
      if (consumer !== next || stopping) return;
      crashed(payload.error);
    });
    const onLag = options.onLag;
    if (onLag !== undefined) {
      next.on(next.events.END_BATCH_PROCESS, ({ payload }) =>
        onLag(payload.topic, payload.partition, Number(payload.offsetLagLow)),
      );
    }
    await next.connect();
    await next.subscribe({ topic, fromBeginning: true });
    await next.run({
      autoCommit: false,
      partitionsConsumedConcurrently: options.partitionsConcurrently ?? 4,
      // Offsets are resolved up to the watermark only: what is left is fetched again.
      eachBatchAutoResolve: false,
      eachBatch: (payload) => eachBatch(payload, next),
    });
  }

  function crashed(error: Error): void {
    crashes++;
    const at = new Date().toISOString();
    const wasRestarting = consumerState.state === 'restarting';
    consumerState = {
      ...consumerState,
      state: 'restarting',
      since: wasRestarting ? consumerState.since : at,
      lastCrash: { at, error: messageOf(error) },
    };
    restart(error);
  }

  function restart(error: unknown): void {
    failedRestarts++;
    const delay = delayOf(restartDelays, failedRestarts);
    logger.error(
      { logCode: 'kafka.consumer_crashed', attempt: failedRestarts, restartInMs: delay, err: error },
      'intake consumer stopped; restarting it',
    );
    const timer = setTimeout(async () => {
      timers.delete(timer);
      if (stopping) return;
      const previous = consumer;
      const crashesBefore = crashes;
      consumerState = { ...consumerState, restarts: consumerState.restarts + 1 };
      try {
        await previous?.disconnect().catch(() => undefined);
        await startConsumer();
        // A consumer that crashed while joining has already scheduled the next attempt.
        if (stopping || crashes !== crashesBefore) return;
        failedRestarts = 0;
        setState('running');
        logger.info({ logCode: 'kafka.consumer_restarted' }, 'intake consumer running again');
      } catch (startError) {
        if (stopping) return;
        consumerState = {
          ...consumerState,
          lastCrash: { at: new Date().toISOString(), error: messageOf(startError) },
        };
        restart(startError);
      }
    }, delay);
    timers.add(timer);
  }

  return {
    async start(): Promise<void> {
      stopping = false;
      setState('starting');
      // The partitioner named explicitly (murmur2, as the Java client): keys land where other
      // clients put them, and kafkajs does not warn about its changed default at every start.
      producer = kafka.producer({
        idempotent: true,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
      await producer.connect();
      const crashesBefore = crashes;
      await startConsumer();
      if (crashes === crashesBefore) setState('running');
      logger.info({ topic, groupId: options.groupId }, 'intake bridge consuming');
    },
    /** Stops fetching, lets the messages in hand finish (and commits them), and disconnects. */
    async stop(): Promise<void> {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await consumer?.disconnect();
      await producer?.disconnect();
      setState('stopped');
    },
    status(): InboundStatus {
      const stalled: PartitionHealth[] = [];
      for (const entry of progress.values()) {
        if (entry.done || entry.failures === 0 || !assigned.has(entry.partition)) continue;
        stalled.push({
          partition: entry.partition,
          offset: entry.offset,
          step: entry.step,
          errorClass: entry.errorClass ?? 'unclassified',
          failures: entry.failures,
          lastError: entry.lastError ?? '',
          since: entry.since ?? '',
          nextAttemptAt: entry.nextAttemptAt ?? '',
        });
      }
      return {
        running: consumerState.state === 'running',
        consumer: {
          ...consumerState,
          ...(lastContactAt === undefined ? {} : { lastContactAt: new Date(lastContactAt).toISOString() }),
        },
        stalled,
        ...counts,
      };
    },
  };
}

export type InboundBridge = ReturnType<typeof createInboundBridge>;
