import type { EventRegistry } from '../core/event-definitions.ts';
import type { RecordedEvent } from '../core/events.ts';
import type {
  EnsureGroupOutcome,
  EventStore,
  ParkedEvent,
  PersistentDelivery,
  PersistentGroupSettings,
  PersistentSource,
  StoredEvent,
} from '../eventstore/port.ts';
import { toRecorded } from '../projection/apply.ts';
import type { Logger } from '../projection/projector.ts';
import { type Backoff, backoffDelay, sleep } from '../support/backoff.ts';

/** Server-side defaults of our groups: Pinned, so one stream's events go to one consumer. */
export const defaultGroupSettings: PersistentGroupSettings = {
  startFrom: 'start',
  strategy: 'pinned',
  maxRetryCount: 5,
  messageTimeoutMs: 30_000,
  liveBufferSize: 500,
  readBatchSize: 20,
  historyBufferSize: 500,
  checkpointAfterMs: 2_000,
  minCheckpointCount: 10,
  maxCheckpointCount: 1_000,
  maxSubscriberCount: 0,
};

export type ConsumerHandler = (event: RecordedEvent, delivery: { retryCount: number }) => Promise<void>;

export type PersistentConsumerOptions = {
  eventStore: EventStore;
  source: PersistentSource;
  group: string;
  settings?: Partial<PersistentGroupSettings>;
  handler: ConsumerHandler;
  /** Decodes and upcasts; an event that cannot be decoded is parked at once (retrying cannot help). */
  events?: EventRegistry;
  /** Streams handled at the same time (events of one stream are always one after another). Default 8. */
  concurrency?: number;
  /** Events the server may have in flight to this consumer. Default 4 × concurrency. */
  bufferSize?: number;
  backoff?: Backoff;
  logger?: Logger;
  /**
   * An operator decided this event is not to be handled: it is acknowledged without calling the
   * handler (asked before decoding, so an undecodable event can be skipped too).
   */
  isSkipped?: (eventId: string) => boolean;
  /** After an event was acknowledged: handled, or passed over because it is skipped. */
  onAcked?: (event: StoredEvent, outcome: 'handled' | 'skipped') => void;
  /** After this consumer parked an event, with the reason it gave the server. */
  onParked?: (event: StoredEvent, reason: string) => void;
};

export type ConsumerStatus = {
  state: 'stopped' | 'running' | 'reconnecting';
  group: string;
  ensured: EnsureGroupOutcome | null;
  handled: number;
  retried: number;
  parked: number;
  inFlight: number;
  lastError: { eventId: string; reason: string; at: Date } | null;
};

export type PersistentConsumer = {
  /** Ensures the group (create, or update when settings changed), then starts consuming. */
  start(): Promise<void>;
  /** Stops taking events, waits for handlers in progress, then unsubscribes. Unsettled events are redelivered. */
  stop(): Promise<void>;
  status(): ConsumerStatus;
  /** Events the server parked for this group, oldest first. */
  listParked(limit?: number): Promise<ParkedEvent[]>;
  /** Sends parked events back to the group (all, or the first `stopAt`). */
  replayParked(stopAt?: number): Promise<void>;
};

function reasonOf(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * An at-least-once consumer of a persistent subscription group.
 *
 * Ordering: events of one stream are handled one after another in delivery order; different
 * streams run concurrently up to `concurrency`. Each event is acked only after its handler
 * resolved. A handler failure nacks it with `retry` and the reason; on its last allowed
 * attempt (`retryCount` = `maxRetryCount`) it is parked with that reason. A retried event comes
 * back after the stream's later events (the server's retry queue): persistent subscriptions
 * do not keep order across retries, so handlers must tolerate that and be idempotent
 * (redelivery after a timeout, a restart or a leader change is normal).
 */
export function createPersistentConsumer(options: PersistentConsumerOptions): PersistentConsumer {
  const settings: PersistentGroupSettings = { ...defaultGroupSettings, ...options.settings };
  const concurrency = options.concurrency ?? 8;
  const bufferSize = options.bufferSize ?? concurrency * 4;
  const backoff = options.backoff ?? { initialDelayMs: 100, maxDelayMs: 10_000, factor: 2 };
  const logger = options.logger;
  const status: ConsumerStatus = {
    state: 'stopped',
    group: options.group,
    ensured: null,
    handled: 0,
    retried: 0,
    parked: 0,
    inFlight: 0,
    lastError: null,
  };
  let stopping = false;
  let loop: Promise<void> | null = null;
  let closeCurrent: (() => Promise<void>) | null = null;
  let idle: (() => Promise<void>) | null = null;

  async function consume(): Promise<void> {
    const subscription = options.eventStore.persistent.subscribe(options.source, options.group, {
      bufferSize,
    });
    closeCurrent = () => subscription.close();
    const queues = new Map<string, PersistentDelivery[]>();
    const ready: string[] = [];
    const active = new Set<Promise<void>>();
    let running = 0;
    idle = async () => {
      while (active.size > 0) await Promise.allSettled([...active]);
    };

    async function handleOne(delivery: PersistentDelivery): Promise<boolean> {
      if (options.isSkipped?.(delivery.event.id)) {
        await delivery.ack();
        options.onAcked?.(delivery.event, 'skipped');
        return true;
      }
      let recorded: RecordedEvent;
      try {
        recorded = toRecorded(delivery.event, options.events);
      } catch (error) {
        const reason = `cannot decode: ${reasonOf(error)}`;
        status.parked++;
        status.lastError = { eventId: delivery.event.id, reason, at: new Date() };
        logger?.error(
          { group: options.group, eventId: delivery.event.id, reason },
          'parking undecodable event',
        );
        await delivery.nack('park', reason);
        options.onParked?.(delivery.event, reason);
        return false;
      }
      try {
        await options.handler(recorded, { retryCount: delivery.retryCount });
      } catch (error) {
        const reason = reasonOf(error);
        status.lastError = { eventId: delivery.event.id, reason, at: new Date() };
        // On the last allowed attempt park it ourselves: the server would park it too, but its
        // parked record would say "reached retry count" instead of why the handler failed.
        const park = delivery.retryCount >= settings.maxRetryCount;
        if (park) status.parked++;
        else status.retried++;
        logger?.warn(
          { group: options.group, eventId: delivery.event.id, retryCount: delivery.retryCount, reason },
          park ? 'handler failed for the last time; parking' : 'handler failed; nacking for retry',
        );
        await delivery.nack(park ? 'park' : 'retry', reason);
        if (park) options.onParked?.(delivery.event, reason);
        return false;
      }
      await delivery.ack();
      status.handled++;
      options.onAcked?.(delivery.event, 'handled');
      return true;
    }

    async function drainStream(streamId: string): Promise<void> {
      const queue = queues.get(streamId)!;
      while (queue.length > 0) {
        const delivery = queue.shift()!;
        await handleOne(delivery).catch(() => false);
        status.inFlight--;
      }
      queues.delete(streamId);
    }

    function pump() {
      while (running < concurrency && ready.length > 0) {
        const streamId = ready.shift()!;
        running++;
        const task = drainStream(streamId).finally(() => {
          running--;
          active.delete(task);
          pump();
        });
        active.add(task);
      }
    }

    try {
      for await (const delivery of subscription) {
        if (stopping) break;
        status.inFlight++;
        const streamId = delivery.event.streamId;
        const queue = queues.get(streamId);
        if (queue) {
          queue.push(delivery);
        } else {
          queues.set(streamId, [delivery]);
          ready.push(streamId);
          pump();
        }
      }
    } finally {
      while (active.size > 0) await Promise.allSettled([...active]);
      await subscription.close();
      closeCurrent = null;
    }
  }

  async function run(): Promise<void> {
    let attempt = 0;
    while (!stopping) {
      try {
        status.state = 'running';
        await consume();
        if (stopping) break;
        throw new Error('persistent subscription ended');
      } catch (error) {
        if (stopping) break;
        attempt++;
        status.state = 'reconnecting';
        logger?.warn(
          { group: options.group, attempt, err: error },
          'persistent subscription dropped; resubscribing',
        );
        await sleep(backoffDelay(backoff, attempt));
      }
    }
    status.state = 'stopped';
  }

  return {
    async start() {
      if (loop) return;
      stopping = false;
      status.ensured = await options.eventStore.persistent.ensureGroup(
        options.source,
        options.group,
        settings,
      );
      loop = run();
    },
    async stop() {
      stopping = true;
      // Let handlers in progress settle their events before the subscription goes away.
      await idle?.();
      await closeCurrent?.();
      await loop;
      loop = null;
    },
    status: () => ({ ...status }),
    listParked: (limit = 100) =>
      options.eventStore.persistent.listParked(options.source, options.group, limit),
    replayParked: (stopAt) =>
      options.eventStore.persistent.replayParked(options.source, options.group, stopAt),
  };
}
