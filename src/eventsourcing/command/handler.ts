import type { Decider } from '../core/decider.ts';
import type { EventRegistry } from '../core/event-definitions.ts';
import type { AllPosition, DomainEvent, EventMetadata } from '../core/events.ts';
import { deterministicEventId } from '../eventstore/event-ids.ts';
import type { EventStore, NewEvent, StoredEvent } from '../eventstore/port.ts';
import { type Backoff, backoffDelay, sleep } from '../support/backoff.ts';
import {
  type CachedStream,
  createStateCache,
  type HandledAt,
  keyBytes,
  type StateCache,
  type StateCacheOptions,
  type StateCacheStats,
} from './state-cache.ts';

/** Who and what caused the command; correlation and causation default to the idempotency key. */
export type CommandContext = {
  /** Identifies this command; retries and redeliveries must carry the same key. */
  idempotencyKey: string;
  /**
   * The stream revision the caller saw (e.g. from an ETag). When set, a mismatch is returned as
   * a conflict instead of being retried. `'no_stream'` pins "the stream must not exist yet".
   */
  expectedRevision?: bigint | 'no_stream';
  actor: string;
  correlationId?: string;
  causationId?: string;
  traceparent?: string;
};

/** A consistency token: read models at or past `position` include the command's effect. */
export type CommandResult<State, Event extends DomainEvent> =
  | {
      outcome: 'appended';
      events: readonly Event[];
      state: State;
      nextRevision: bigint;
      position: AllPosition;
    }
  | {
      /** The decider produced no events; revision and position are those of the stream's last event. */
      outcome: 'unchanged';
      state: State;
      nextRevision: bigint | null;
      position: AllPosition | null;
    }
  | {
      /** Events of this idempotency key are already in the stream; nothing was appended. */
      outcome: 'already_handled';
      state: State;
      nextRevision: bigint;
      position: AllPosition;
    }
  | {
      /**
       * `pinned`: the caller's expected revision no longer matches (HTTP 412).
       * `retries_exhausted`: concurrent writers kept winning (HTTP 409 or 503 with Retry-After).
       */
      outcome: 'conflict';
      reason: 'pinned' | 'retries_exhausted';
      expectedRevision: bigint | 'no_stream';
      actualRevision: bigint | 'no_stream';
    };

export type CommandHandlerOptions<Command, Event extends DomainEvent, State> = {
  eventStore: EventStore;
  decider: Decider<Command, Event, State>;
  /** Maps the aggregate id to its stream, e.g. `(id) => streamName('case', id)`. */
  streamName: (id: string) => string;
  events: EventRegistry<Event>;
  /** Attempts after the first on a concurrent write when no revision was pinned. Default 5. */
  maxRetries?: number;
  backoff?: Backoff;
  /**
   * Streams are usually new (one per receipt, say): decide from the initial state and append
   * expecting no stream, without reading it first. When the stream exists the append fails, the
   * stream is read and the command decided again, so results are the same; a new stream costs
   * one append instead of a read and an append. A retry of the command that created the stream
   * lands on the events it wrote (the store recognises their ids) and may be answered `appended`
   * with their position rather than `already_handled`; nothing is written twice. Default false.
   */
  assumeNewStreams?: boolean;
  /** Derives event ids; defaults to the name-based UUID of stream + key + index. */
  eventId?: (stream: string, idempotencyKey: string, index: number) => string;
  /**
   * The aggregate state cache (on by default): streams' folded state, revision and idempotency
   * keys, kept so a command appends with the cached revision without reading. `false` reads the
   * whole stream for every attempt. See the framework README, "Aggregate state cache".
   */
  cache?: false | StateCacheOptions;
};

export type CommandHandler<Command, Event extends DomainEvent, State> = {
  /**
   * Reads the stream (or takes it from the cache), folds it, decides, and appends with the
   * revision it read.
   *
   * Ordering: one read (none on a cache hit), one decide, one append per attempt. Idempotency:
   * event ids derive from the idempotency key, and a stream that already holds events of this
   * key returns `already_handled` without calling `decide`. Without a pinned revision a
   * concurrent write is retried with backoff up to `maxRetries` times. With the cache, only an
   * `appended` outcome is answered without reading the server: the append's expected-revision
   * check proves the cached state was current; every other outcome (and every error from
   * `decide`) is first confirmed against the stream's tail.
   *
   * Throws: whatever `decide` throws (a DomainError for broken rules), EventValidationError
   * when decided events do not match their schema, EventStoreUnavailableError when the store
   * cannot be reached, and errors decoding the stored events.
   *
   * `prepare`, when given, completes the command from the state it will be decided on (e.g.
   * answers from an outside service, recorded in the command so a replay never asks again); it
   * runs before each decision, on the same state, so the stream is read once for both. Not
   * called for a key already handled.
   */
  handle(
    id: string,
    command: Command,
    context: CommandContext,
    prepare?: (command: Command, state: State) => Promise<Command>,
  ): Promise<CommandResult<State, Event>>;
  /** The cache's gauges and counters (all zero with `enabled: false` when the cache is off). */
  stats(): StateCacheStats;
  /**
   * Forgets the cached state of one aggregate, e.g. after its stream was deleted elsewhere: the
   * next command reads the stream. A no-op when the cache is off.
   */
  invalidate(id: string): void;
};

/**
 * What an attempt decides from: the stream's last revision and position, its folded state and
 * its idempotency keys. A cached entry is a view of an existing stream; a view of a missing
 * stream (`no_stream`) is never cached.
 */
type StreamView<State> =
  | CachedStream<State>
  | {
      revision: 'no_stream';
      position: null;
      state: State;
      keys: Map<string, HandledAt>;
      keyBytes: number;
      bytes: number;
    };

type Evaluation<State, Event extends DomainEvent> =
  | { kind: 'done'; result: CommandResult<State, Event> }
  | { kind: 'append'; events: NewEvent[]; folded: Event[] };

function metadataOf(stored: StoredEvent): Partial<EventMetadata> {
  const metadata = stored.metadata;
  return metadata !== null && typeof metadata === 'object' ? (metadata as Partial<EventMetadata>) : {};
}

const disabledStats = (): StateCacheStats => ({
  enabled: false,
  entries: 0,
  bytes: 0,
  maxEntries: 0,
  maxBytes: 0,
  hits: 0,
  misses: 0,
  tailReads: 0,
  staleConflicts: 0,
  evictions: 0,
  invalidations: 0,
  oversized: 0,
});

/** Builds a command handler for one aggregate type. See {@link CommandHandler.handle}. */
export function createCommandHandler<Command, Event extends DomainEvent, State>(
  options: CommandHandlerOptions<Command, Event, State>,
): CommandHandler<Command, Event, State> {
  const { eventStore, decider, events: registry } = options;
  const maxRetries = options.maxRetries ?? 5;
  const backoff = options.backoff ?? { initialDelayMs: 10, maxDelayMs: 500, factor: 2 };
  const eventId = options.eventId ?? deterministicEventId;
  const cache: StateCache<State> | null =
    options.cache === false ? null : createStateCache<State>(options.cache ?? {});

  /**
   * Folds stored events (oldest first, contiguous after `view.revision`) into `view`, in place.
   * All or nothing: an event that cannot be decoded leaves the view as it was.
   */
  function extend(view: StreamView<State>, stored: readonly StoredEvent[]): void {
    let state = view.state;
    const keys: [string, HandledAt][] = [];
    for (const event of stored) {
      const metadata = metadataOf(event);
      state = decider.evolve(state, registry.decode(event.type, event.data, metadata.schemaVersion ?? 1));
      const key = metadata.idempotencyKey;
      if (typeof key === 'string') keys.push([key, { revision: event.revision, position: event.position }]);
    }
    for (const [key, at] of keys) {
      if (!view.keys.has(key)) view.keyBytes += keyBytes(key);
      view.keys.set(key, at);
    }
    view.state = state;
    const last = stored.at(-1);
    if (last) {
      view.revision = last.revision;
      view.position = last.position;
    }
  }

  /** Runs a read or an append; on any error the stream's entry is dropped (it may be stale). */
  async function guarded<T>(stream: string, operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch (error) {
      cache?.delete(stream, true);
      throw error;
    }
  }

  /** The view of a stream that does not exist. */
  function emptyView(): StreamView<State> {
    return {
      revision: 'no_stream',
      position: null,
      state: decider.initialState(),
      keys: new Map(),
      keyBytes: 0,
      bytes: 0,
    };
  }

  /** Reads and folds the whole stream; caches the result when the stream exists. */
  async function load(stream: string): Promise<StreamView<State>> {
    const stored = await guarded(stream, () => eventStore.readStream(stream));
    const view = emptyView();
    await guarded(stream, async () => extend(view, stored ?? []));
    if (cache) {
      if (view.revision === 'no_stream') cache.delete(stream);
      else cache.offer(stream, view);
    }
    return view;
  }

  /**
   * Brings `view` up to the stream's end by reading from its revision on. The read includes the
   * cached revision itself so a stream that was deleted and written again (its old events hidden)
   * shows as a gap and falls back to a full read rather than a fold over stale state.
   */
  async function refresh(stream: string, view: StreamView<State>): Promise<StreamView<State>> {
    if (!cache || view.revision === 'no_stream') return load(stream);
    cache.count('tailReads');
    const from = view.revision;
    const stored = await guarded(stream, () => eventStore.readStream(stream, { fromRevision: from }));
    // An adapter that ignores `fromRevision` returns the whole stream: skip what came before.
    const tail = stored?.filter((event) => event.revision >= from) ?? null;
    if (!tail || tail[0]?.revision !== from) {
      cache.delete(stream, true);
      return load(stream);
    }
    // A concurrent command may have moved the view on while this read was in flight.
    const current = view.revision;
    await guarded(stream, async () =>
      extend(
        view,
        tail.filter((event) => event.revision > current),
      ),
    );
    cache.offer(stream, view);
    return view;
  }

  function evaluate(
    stream: string,
    view: StreamView<State>,
    command: Command,
    context: CommandContext,
  ): Evaluation<State, Event> {
    const { state, revision: currentRevision } = view;
    const handledAt = view.keys.get(context.idempotencyKey);
    // A retry of a command that did land must not look like a conflict.
    if (handledAt) {
      return {
        kind: 'done',
        result: {
          outcome: 'already_handled',
          state,
          nextRevision: handledAt.revision,
          position: handledAt.position,
        },
      };
    }
    if (context.expectedRevision !== undefined && context.expectedRevision !== currentRevision) {
      return {
        kind: 'done',
        result: {
          outcome: 'conflict',
          reason: 'pinned',
          expectedRevision: context.expectedRevision,
          actualRevision: currentRevision,
        },
      };
    }
    const decided = decider.decide(command, state);
    if (decided.length === 0) {
      return {
        kind: 'done',
        result: {
          outcome: 'unchanged',
          state,
          nextRevision: view.revision === 'no_stream' ? null : view.revision,
          position: view.position,
        },
      };
    }
    const folded: Event[] = [];
    const events: NewEvent[] = decided.map((event, index) => {
      const encoded = registry.encode(event);
      // Fold what a reader will decode (the data as stored), so cached and read state agree.
      folded.push({ ...event, data: encoded.data });
      const metadata: EventMetadata = {
        correlationId: context.correlationId ?? context.idempotencyKey,
        causationId: context.causationId ?? context.idempotencyKey,
        idempotencyKey: context.idempotencyKey,
        actor: context.actor,
        schemaVersion: encoded.schemaVersion,
        ...(context.traceparent === undefined ? {} : { traceparent: context.traceparent }),
      };
      return {
        id: eventId(stream, context.idempotencyKey, index),
        type: encoded.type,
        data: encoded.data,
        metadata,
      };
    });
    return { kind: 'append', events, folded };
  }

  /** Records a successful append from `base` in the view and the cache. */
  function appended(
    stream: string,
    view: StreamView<State>,
    base: { revision: bigint | 'no_stream'; state: State },
    folded: readonly Event[],
    key: string,
    outcome: { nextRevision: bigint; position: AllPosition },
    cacheable: boolean,
  ): State {
    let next = base.state;
    for (const event of folded) next = decider.evolve(next, event);
    if (!cache) return next;
    if (!cacheable) {
      cache.delete(stream);
      return next;
    }
    if (view.revision !== base.revision) {
      // Another command of this process moved the view on meanwhile (e.g. a tail read that
      // already holds this append): keep it when it is at or past ours, otherwise start over.
      if (view.revision === 'no_stream' || view.revision < outcome.nextRevision) cache.delete(stream, true);
      return next;
    }
    if (!view.keys.has(key)) view.keyBytes += keyBytes(key);
    view.keys.set(key, { revision: outcome.nextRevision, position: outcome.position });
    view.state = next;
    const entry = view as CachedStream<State>;
    entry.revision = outcome.nextRevision;
    entry.position = outcome.position;
    cache.offer(stream, entry);
    return next;
  }

  async function handle(
    stream: string,
    command: Command,
    context: CommandContext,
    prepare?: (command: Command, state: State) => Promise<Command>,
  ): Promise<CommandResult<State, Event>> {
    const cached = cache?.get(stream);
    const assumed = cached === undefined && options.assumeNewStreams === true;
    let view: StreamView<State> = cached ?? (assumed ? emptyView() : await load(stream));
    // Read from the server during this call: a cached or assumed view is trusted only by a
    // successful append (expecting exactly the revision it holds).
    let fresh = cached === undefined && !assumed;
    for (let retries = 0; ; ) {
      let evaluation: Evaluation<State, Event>;
      try {
        const prepared =
          prepare === undefined || view.keys.has(context.idempotencyKey)
            ? command
            : await prepare(command, view.state);
        evaluation = evaluate(stream, view, prepared, context);
      } catch (error) {
        if (fresh) throw error;
        // The rule may have been broken only in the cached state: confirm against the tail.
        view = await refresh(stream, view);
        fresh = true;
        continue;
      }
      if (evaluation.kind === 'done') {
        if (fresh) return evaluation.result;
        view = await refresh(stream, view);
        fresh = true;
        continue;
      }
      const base = { revision: view.revision, state: view.state };
      const outcome = await guarded(stream, () =>
        eventStore.appendToStream(stream, evaluation.events, base.revision),
      );
      const count = BigInt(evaluation.events.length);
      if (
        outcome.outcome === 'appended' &&
        base.revision !== 'no_stream' &&
        outcome.nextRevision !== base.revision + count
      ) {
        // The store recognised the event ids further on in the stream: this key landed there
        // already (through another process). Decide again from the stream as it is.
        view = await refresh(stream, view);
        fresh = true;
        continue;
      }
      if (outcome.outcome === 'appended') {
        // A soft-deleted stream written again goes on from its old revisions (or the store
        // recognised the ids elsewhere): such a stream is not cached from the append.
        const cacheable = base.revision !== 'no_stream' || outcome.nextRevision === count - 1n;
        const state = appended(
          stream,
          view,
          base,
          evaluation.folded,
          context.idempotencyKey,
          outcome,
          cacheable,
        );
        return {
          outcome: 'appended',
          events: evaluation.folded,
          state,
          nextRevision: outcome.nextRevision,
          position: outcome.position,
        };
      }
      if (!fresh) {
        // The cache was behind (another process wrote), or the stream assumed new exists: read
        // it and decide again, at once.
        if (!assumed) cache?.count('staleConflicts');
        view = await refresh(stream, view);
        fresh = true;
        continue;
      }
      if (context.expectedRevision !== undefined) {
        return {
          outcome: 'conflict',
          reason: 'pinned',
          expectedRevision: context.expectedRevision,
          actualRevision: outcome.actual,
        };
      }
      if (retries >= maxRetries) {
        return {
          outcome: 'conflict',
          reason: 'retries_exhausted',
          expectedRevision: base.revision,
          actualRevision: outcome.actual,
        };
      }
      retries++;
      await sleep(backoffDelay(backoff, retries));
      view = await refresh(stream, view);
    }
  }

  return {
    handle: (id, command, context, prepare) => handle(options.streamName(id), command, context, prepare),
    stats: () => cache?.stats() ?? disabledStats(),
    invalidate(id) {
      cache?.delete(options.streamName(id), true);
    },
  };
}
