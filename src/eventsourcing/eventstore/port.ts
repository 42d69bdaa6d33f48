import type { AllPosition } from '../core/events.ts';

/** An event as stored: data and metadata are parsed JSON (or raw bytes for non-JSON events). */
export type StoredEvent = {
  id: string;
  streamId: string;
  type: string;
  revision: bigint;
  position: AllPosition;
  created: Date;
  data: unknown;
  metadata: unknown;
};

/** An event to append; `id` must be a UUID (derive it with `deterministicEventId`). */
export type NewEvent = { id: string; type: string; data: unknown; metadata: unknown };

/** What the stream must look like for an append to succeed. */
export type ExpectedRevision = bigint | 'no_stream' | 'any' | 'stream_exists';

export type AppendOutcome =
  | { outcome: 'appended'; nextRevision: bigint; position: AllPosition }
  | { outcome: 'conflict'; expected: ExpectedRevision; actual: bigint | 'no_stream' };

/** Where a stream read starts. */
export type ReadStreamOptions = {
  /**
   * Inclusive: the first revision to return. A revision past the end returns `[]` when the
   * stream exists. Default: the stream's first event.
   */
  fromRevision?: bigint;
};

/** Server-side filter of a `$all` subscription. */
export type AllFilter =
  | { streamPrefixes: readonly string[] }
  | { eventTypePrefixes: readonly string[] }
  | { streamRegex: string };

export type AllSubscriptionOptions = {
  /** Exclusive: events strictly after this position. */
  from: AllPosition | 'start';
  filter?: AllFilter;
  /**
   * How often a filtered subscription reports a checkpoint, as a multiple of the server's read
   * batch (32 events considered). Default 1.
   */
  checkpointInterval?: number;
};

/**
 * Messages of a catch-up subscription, in `$all` order. A `checkpoint` at P means every event
 * at or before P that passes the filter has already been delivered.
 */
export type SubscriptionMessage =
  | { kind: 'event'; event: StoredEvent }
  | { kind: 'checkpoint'; position: AllPosition }
  | { kind: 'caughtUp' };

/** Iterate once; the iteration throws when the subscription drops. `close` ends it. */
export type AllSubscription = AsyncIterable<SubscriptionMessage> & { close(): Promise<void> };

/** The newest event in `$all`. */
export type HeadOfAll = { position: AllPosition; created: Date };

/** Where a persistent subscription group reads from. */
export type PersistentSource = { stream: string } | { all: true; filter?: AllFilter };

export type ConsumerStrategy = 'pinned' | 'round_robin' | 'dispatch_to_single';

export type PersistentGroupSettings = {
  /** Where a new group starts: the first event or new events only. */
  startFrom: 'start' | 'end';
  strategy: ConsumerStrategy;
  maxRetryCount: number;
  messageTimeoutMs: number;
  liveBufferSize: number;
  readBatchSize: number;
  historyBufferSize: number;
  checkpointAfterMs: number;
  minCheckpointCount: number;
  maxCheckpointCount: number;
  maxSubscriberCount: number;
};

export type NackAction = 'retry' | 'park' | 'skip';

/** One delivery of a persistent subscription; settle it exactly once with ack or nack. */
export type PersistentDelivery = {
  event: StoredEvent;
  retryCount: number;
  ack(): Promise<void>;
  nack(action: NackAction, reason: string): Promise<void>;
};

export type PersistentSubscription = AsyncIterable<PersistentDelivery> & { close(): Promise<void> };

/** An event the server parked after the consumer gave up on it. */
export type ParkedEvent = { event: StoredEvent; reason: string; parkedAt: Date | null };

export type EnsureGroupOutcome = 'created' | 'updated' | 'unchanged';

/** Persistent subscriptions: the server keeps the checkpoint, retries and parks. */
export type PersistentSubscriptions = {
  /** Creates the group, or updates it when its settings differ; idempotent. */
  ensureGroup(
    source: PersistentSource,
    group: string,
    settings: PersistentGroupSettings,
  ): Promise<EnsureGroupOutcome>;
  subscribe(source: PersistentSource, group: string, options: { bufferSize: number }): PersistentSubscription;
  /** Parked events, oldest first, up to `limit`. */
  listParked(source: PersistentSource, group: string, limit: number): Promise<ParkedEvent[]>;
  /** Puts parked events back on the group's retry queue (all, or the first `stopAt`). */
  replayParked(source: PersistentSource, group: string, stopAt?: number): Promise<void>;
  deleteGroup(source: PersistentSource, group: string): Promise<void>;
};

/**
 * The event store as the framework needs it. Expected outcomes are values (`conflict`); an
 * unreachable server surfaces as {@link EventStoreUnavailableError}; anything else propagates.
 */
export type EventStore = {
  /**
   * The events of a stream from `options.fromRevision` (default: all), oldest first; `null` when
   * the stream does not exist (or was soft-deleted). An adapter that ignores the options returns
   * the whole stream, which callers must tolerate (the command handler skips what it has).
   */
  readStream(stream: string, options?: ReadStreamOptions): Promise<StoredEvent[] | null>;
  /** Appends atomically; ids already written at the expected place make it an idempotent no-op. */
  appendToStream(
    stream: string,
    events: readonly NewEvent[],
    expected: ExpectedRevision,
  ): Promise<AppendOutcome>;
  subscribeToAll(options: AllSubscriptionOptions): AllSubscription;
  /** Up to `maxCount` events of `$all` strictly after `after`. */
  readAll(after: AllPosition | 'start', maxCount: number): Promise<StoredEvent[]>;
  /** The newest event of `$all`, or null when the store is empty. */
  headOfAll(): Promise<HeadOfAll | null>;
  persistent: PersistentSubscriptions;
  close(): Promise<void>;
};

/** The server could not be reached or timed out: worth retrying with backoff. */
export class EventStoreUnavailableError extends Error {
  readonly transient = true;
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'EventStoreUnavailableError';
  }
}
