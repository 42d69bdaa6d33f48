import { type IHeaders, type Kafka, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { type NotificationRequired, toSeedNotificationEnvelope } from '../cases/index.ts';
import type { EventRegistry } from '../eventsourcing/core/event-definitions.ts';
import type { RecordedEvent } from '../eventsourcing/core/events.ts';
import type { EventStore, PersistentGroupSettings } from '../eventsourcing/eventstore/port.ts';
import { createReactor, type Reactor } from '../eventsourcing/processor/reactor.ts';
import { eventStoreSkipLog, type SkipLog } from '../eventsourcing/projection/skip-log.ts';
import { currentTraceparent, inSpan, SpanKind } from '../observability/tracing.ts';

export type OutboundOptions = {
  kafka: Kafka;
  eventStore: EventStore;
  events: EventRegistry;
  logger: Logger;
  topic: string;
  group?: string;
  /** Where operators' skips of notifications are kept; default a stream in the event store. */
  skipLog?: SkipLog;
  settings?: Partial<PersistentGroupSettings>;
  /** Attempts to publish one event in-process before it goes back to the server's retry queue. */
  attempts?: number;
  retryDelayMs?: { initial: number; max: number };
};

export const notificationGroup = 'notifications-to-kafka';

/** Kafka headers of a published notification: what consumers dedupe, route and trace by. */
export function notificationHeaders(event: RecordedEvent<NotificationRequired>): IHeaders {
  return {
    'message-id': event.id,
    'event-type': event.type,
    'case-revision': String(event.revision),
    'correlation-id': event.metadata.correlationId,
    ...(event.metadata.traceparent === undefined ? {} : { traceparent: event.metadata.traceparent }),
  };
}

/** The producer span's own context, so the consumer's trace continues from the publish. */
function traceHeader(): IHeaders {
  const traceparent = currentTraceparent();
  return traceparent === undefined ? {} : { traceparent };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * EventStoreDB → Kafka for notifications, at least once.
 *
 * A persistent subscription on `$all` (server-side filter: `NotificationRequired`, Pinned, so one
 * case's events go to one consumer) hands each event to an idempotent producer (`acks: -1`); the
 * event is acked in EventStoreDB only after Kafka acknowledged it. A failed publish is retried
 * here first, holding back that case's later notifications so per-case order survives a broker
 * blip; only when those attempts run out is it nacked for the server's retry queue (order may
 * then break for that case), and after `maxRetryCount` the server parks it for an operator to
 * replay. Consumers dedupe by the `message-id` header (the event id).
 *
 * It is a reactor (see `createReactor`): its own subscription group and failure domain, listed
 * with the projectors by name. A notification that cannot be published is parked and the others
 * go on; `retry` replays what is parked, `skip` lets an operator pass one over for good.
 */
export function createNotificationPublisher(options: OutboundOptions): NotificationPublisher {
  const { logger } = options;
  const attempts = options.attempts ?? 5;
  const delays = options.retryDelayMs ?? { initial: 200, max: 5_000 };
  let producer: Producer | undefined;
  let published = 0;
  let retried = 0;

  /** One producer span per notification, in the trace of the command that raised it. */
  function publish(event: RecordedEvent): Promise<void> {
    return inSpan(
      `kafka.produce ${options.topic}`,
      {
        kind: SpanKind.PRODUCER,
        parent: event.metadata.traceparent,
        attributes: {
          'messaging.system': 'kafka',
          'messaging.destination.name': options.topic,
          'event.id': event.id,
        },
      },
      () => publishNow(event),
    );
  }

  async function publishNow(event: RecordedEvent): Promise<void> {
    const notification = event as RecordedEvent<NotificationRequired>;
    const envelope = toSeedNotificationEnvelope(notification);
    for (let attempt = 1; ; attempt++) {
      try {
        await producer!.send({
          topic: options.topic,
          acks: -1,
          messages: [
            {
              key: envelope.aggregate_id,
              value: JSON.stringify(envelope),
              headers: { ...notificationHeaders(notification), ...traceHeader() },
            },
          ],
        });
        published++;
        return;
      } catch (error) {
        if (attempt >= attempts) throw error;
        retried++;
        const delay = Math.min(delays.max, delays.initial * 2 ** (attempt - 1));
        logger.warn(
          { eventId: event.id, attempt, retryInMs: delay, err: error },
          'notification publish failed; retrying',
        );
        await sleep(delay);
      }
    }
  }

  const group = options.group ?? notificationGroup;
  const reactor = createReactor({
    name: group,
    eventStore: options.eventStore,
    source: { all: true, filter: { eventTypePrefixes: ['NotificationRequired'] } },
    group,
    settings: { strategy: 'pinned', ...options.settings },
    events: options.events,
    handler: publish,
    skipLog: options.skipLog ?? eventStoreSkipLog(options.eventStore),
    logger,
    resources: {
      async open() {
        // The partitioner named explicitly (murmur2, as the Java client): keys land where other
        // clients put them, and kafkajs does not warn about its changed default at every start.
        producer = options.kafka.producer({
          idempotent: true,
          maxInFlightRequests: 1,
          createPartitioner: Partitioners.DefaultPartitioner,
        });
        await producer.connect();
      },
      async close() {
        await producer?.disconnect();
      },
    },
  });

  return {
    ...reactor,
    async start() {
      await reactor.start();
      logger.info({ topic: options.topic, group }, 'notification publisher started');
    },
    status() {
      const status = reactor.status();
      return { ...status, details: { ...status.details, published, publishRetries: retried } };
    },
    counts: () => ({ published, retried }),
  };
}

/** The publisher: a reactor, plus its Kafka counts (in-process publish retries included). */
export type NotificationPublisher = Reactor & { counts(): { published: number; retried: number } };
