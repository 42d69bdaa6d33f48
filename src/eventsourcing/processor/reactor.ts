import { DomainError } from '../core/errors.ts';
import type { EventRegistry } from '../core/event-definitions.ts';
import type { AllPosition } from '../core/events.ts';
import { comparePositions } from '../core/positions.ts';
import type {
  EventStore,
  ParkedEvent,
  PersistentGroupSettings,
  PersistentSource,
  StoredEvent,
} from '../eventstore/port.ts';
import { filterPredicate, lagBehind } from '../projection/lag.ts';
import type { Logger } from '../projection/projector.ts';
import type { SkipLog } from '../projection/skip-log.ts';
import {
  type ConsumerHandler,
  type ConsumerStatus,
  createPersistentConsumer,
} from '../subscription/consumer.ts';
import type { Backoff } from '../support/backoff.ts';
import type { Processor, ProcessorFailure, ProcessorStatus } from './processor.ts';

export type ReactorOptions = {
  /** Names the processor; also the persistent subscription group unless `group` says otherwise. */
  name: string;
  eventStore: EventStore;
  source: PersistentSource;
  group?: string;
  settings?: Partial<PersistentGroupSettings>;
  /** The side effect; must be idempotent (delivery is at least once). Throwing nacks the event. */
  handler: ConsumerHandler;
  events?: EventRegistry;
  /** Where operators' skips are kept, so a skipped event stays skipped across restarts. */
  skipLog: SkipLog;
  concurrency?: number;
  backoff?: Backoff;
  logger?: Logger;
  /** Opens what the handler needs (a producer) before the first event, closes it after the last. */
  resources?: { open(): Promise<void>; close(): Promise<void> };
};

export type Reactor = Processor & {
  readonly kind: 'reactor';
  /** Events the server parked for this reactor, oldest first. */
  listParked(limit?: number): Promise<ParkedEvent[]>;
  /** Sends parked events back (all, or the first `stopAt`). */
  replayParked(stopAt?: number): Promise<void>;
  /** The persistent consumer's own counters (handled, nacked for retry, parked, in flight). */
  consumerStatus(): ConsumerStatus;
};

/** Parked events looked at when a reactor starts, so its status names what waits for an operator. */
const PARKED_AT_START = 100;

function parkedFailure(event: StoredEvent, reason: string, at: Date): ProcessorFailure {
  return {
    eventId: event.id,
    streamId: event.streamId,
    type: event.type,
    position: event.position,
    reason,
    at,
    action: 'parked',
  };
}

/**
 * A reactor: side effects from a persistent subscription group, acknowledged only after the
 * handler resolved (at least once; per-stream order, see `createPersistentConsumer`). Its
 * failure domain: an event the handler keeps failing on is parked by the server after the
 * group's retries and the reactor goes on with the others, listing it under `failures` until it
 * is handled (after `retry`, which replays what is parked) or skipped.
 *
 * `rebuild` is not supported: replaying a side effect from the start of the log would repeat it
 * (a notification sent twice); `retry` replays what the reactor gave up on.
 */
export function createReactor(options: ReactorOptions): Reactor {
  const group = options.group ?? options.name;
  const logger = options.logger;
  const skipped = new Set<string>();
  const failures = new Map<string, ProcessorFailure>();
  let position: AllPosition | null = null;
  let handled = 0;
  let running = false;
  const passes = filterPredicate('filter' in options.source ? options.source.filter : undefined);

  const consumer = createPersistentConsumer({
    eventStore: options.eventStore,
    source: options.source,
    group,
    handler: options.handler,
    isSkipped: (eventId) => skipped.has(eventId),
    onAcked(event, outcome) {
      failures.delete(event.id);
      if (outcome === 'handled') handled++;
      if (position === null || comparePositions(event.position, position) > 0) position = event.position;
    },
    onParked(event, reason) {
      failures.set(event.id, parkedFailure(event, reason, new Date()));
    },
    ...(options.settings === undefined ? {} : { settings: options.settings }),
    ...(options.events === undefined ? {} : { events: options.events }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
    ...(logger === undefined ? {} : { logger }),
  });

  const listParked = (limit = 100) => consumer.listParked(limit);

  const notRebuildable =
    'a reactor causes side effects: replaying it from the start would repeat them; retry replays the events it parked';

  return {
    name: options.name,
    kind: 'reactor',
    rebuildSupport: { supported: false, reason: notRebuildable },
    async start() {
      if (running) return;
      for (const skip of await options.skipLog.list(options.name)) skipped.add(skip.eventId);
      await options.resources?.open();
      try {
        await consumer.start();
      } catch (error) {
        await options.resources?.close().catch(() => undefined);
        throw error;
      }
      running = true;
      // What an earlier run parked still waits for an operator: name it from the start.
      const parked = await listParked(PARKED_AT_START).catch(() => []);
      for (const { event, reason, parkedAt } of parked) {
        if (!skipped.has(event.id) && !failures.has(event.id))
          failures.set(event.id, parkedFailure(event, reason, parkedAt ?? new Date()));
      }
    },
    async stop() {
      if (!running) return;
      running = false;
      await consumer.stop();
      await options.resources?.close();
    },
    status(): ProcessorStatus {
      const consumerStatus = consumer.status();
      const open = [...failures.values()].filter((failure) => !skipped.has(failure.eventId));
      return {
        name: options.name,
        kind: 'reactor',
        state: running ? (open.length > 0 ? 'failed' : 'running') : 'stopped',
        phase: consumerStatus.state,
        position,
        handledEvents: handled,
        failures: open,
        rebuilds: [],
        details: { ...consumerStatus, skipped: skipped.size },
      };
    },
    async lag(maxCount = 1_000) {
      if (position === null) return null;
      return lagBehind(options.eventStore, position, maxCount, passes);
    },
    async retry() {
      const parked = await listParked(1);
      const events = [...failures.keys()];
      if (parked.length === 0 && events.length === 0) return { outcome: 'nothing_to_retry' };
      logger?.info({ reactor: options.name, events }, 'operator retry: replaying parked events');
      await consumer.replayParked();
      return { outcome: 'retrying', events };
    },
    async skip(eventId, decision) {
      let failure = failures.get(eventId);
      if (failure === undefined) {
        const parked = (await listParked(1_000)).find((entry) => entry.event.id === eventId);
        if (parked) failure = parkedFailure(parked.event, parked.reason, parked.parkedAt ?? new Date());
      }
      if (failure === undefined) {
        throw new DomainError(
          'processor.not_failed_at_event',
          `Processor ${options.name} has not parked event ${eventId}`,
          { stopped_at: [...failures.keys()] },
        );
      }
      await options.skipLog.record(options.name, {
        eventId,
        position: failure.position ?? { commit: 0n, prepare: 0n },
        streamId: failure.streamId,
        type: failure.type,
        reason: decision.reason,
        operator: decision.operator,
        at: new Date(),
      });
      skipped.add(eventId);
      failures.delete(eventId);
      logger?.warn({ reactor: options.name, eventId, ...decision }, 'operator skipped event');
    },
    async rebuild() {
      throw new DomainError(
        'processor.rebuild_not_supported',
        `Processor ${options.name} cannot be rebuilt: ${notRebuildable}`,
      );
    },
    listParked,
    replayParked: (stopAt) => consumer.replayParked(stopAt),
    consumerStatus: () => consumer.status(),
  };
}
