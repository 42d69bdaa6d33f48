import type { AllPosition } from '../core/events.ts';
import type {
  AllFilter,
  AllSubscription,
  AllSubscriptionOptions,
  EventStore,
  ExpectedRevision,
  PersistentSubscriptions,
  StoredEvent,
  SubscriptionMessage,
} from '../eventstore/port.ts';
import { AsyncQueue } from '../eventstore/queue.ts';

const READ_BATCH = 32;

function passes(filter: AllFilter | undefined, event: StoredEvent): boolean {
  if (!filter) return !event.streamId.startsWith('$') && !event.type.startsWith('$');
  if ('streamPrefixes' in filter) return filter.streamPrefixes.some((p) => event.streamId.startsWith(p));
  if ('eventTypePrefixes' in filter) return filter.eventTypePrefixes.some((p) => event.type.startsWith(p));
  return new RegExp(filter.streamRegex).test(event.streamId);
}

function unsupported(): never {
  throw new Error('persistent subscriptions are not supported by the in-memory event store');
}

/**
 * An in-process event store with EventStoreDB's append and subscription semantics (expected
 * revision, id-based idempotency, exclusive `from`, filtered checkpoints, caught-up marker).
 * For unit tests and benchmarks of code above the port; persistent subscriptions are absent.
 */
export function createInMemoryEventStore(options: { clock?: () => Date } = {}): EventStore & {
  /** Every event in `$all` order (a copy). */
  all(): StoredEvent[];
} {
  const clock = options.clock ?? (() => new Date());
  const log: StoredEvent[] = [];
  const streams = new Map<string, StoredEvent[]>();
  const listeners = new Set<() => void>();
  let nextPosition = 0n;

  function indexAfter(from: AllPosition | 'start'): number {
    if (from === 'start') return 0;
    // Positions grow with the index, so binary search the first event after `from`.
    let low = 0;
    let high = log.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (log[mid]!.position.commit <= from.commit) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  function subscribe(subscription: AllSubscriptionOptions): AllSubscription {
    const queue = new AsyncQueue<SubscriptionMessage>(undefined);
    const interval = READ_BATCH * (subscription.checkpointInterval ?? 1);
    let cursor = indexAfter(subscription.from);
    let considered = 0;
    let caughtUp = false;
    let closed = false;
    const pump = () => {
      if (closed) return;
      // Stay a bounded distance ahead of the consumer, like a server-side stream with flow control.
      while (cursor < log.length && queue.length < 4096) {
        const event = log[cursor++]!;
        if (passes(subscription.filter, event)) queue.push({ kind: 'event', event });
        considered++;
        if (subscription.filter && considered % interval === 0) {
          queue.push({ kind: 'checkpoint', position: event.position });
        }
      }
      if (cursor < log.length) {
        void queue.drained().then(pump);
        return;
      }
      if (!caughtUp) {
        caughtUp = true;
        const last = log.at(-1);
        if (subscription.filter && last) queue.push({ kind: 'checkpoint', position: last.position });
        queue.push({ kind: 'caughtUp' });
      }
    };
    listeners.add(pump);
    queueMicrotask(pump);
    return {
      [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
      close: async () => {
        closed = true;
        listeners.delete(pump);
        queue.end();
      },
    };
  }

  function current(stream: string): bigint | 'no_stream' {
    const events = streams.get(stream);
    return events && events.length > 0 ? events.at(-1)!.revision : 'no_stream';
  }

  const persistent: PersistentSubscriptions = {
    ensureGroup: unsupported,
    subscribe: unsupported,
    listParked: unsupported,
    replayParked: unsupported,
    deleteGroup: unsupported,
  };

  return {
    async readStream(stream, readOptions) {
      const events = streams.get(stream);
      if (!events) return null;
      const from = readOptions?.fromRevision;
      // Revisions are the array indexes: no deletes in this store.
      return from === undefined ? [...events] : events.slice(Number(from));
    },

    async appendToStream(stream, events, expected: ExpectedRevision) {
      const existing = streams.get(stream) ?? [];
      const actual = current(stream);
      const ids = new Map(existing.map((e) => [e.id, e]));
      const first = events[0];
      const firstKnown = first ? ids.get(first.id) : undefined;
      if (firstKnown && events.every((e) => ids.has(e.id))) {
        const lastKnown = ids.get(events.at(-1)!.id)!;
        return { outcome: 'appended', nextRevision: lastKnown.revision, position: lastKnown.position };
      }
      const ok =
        expected === 'any' ||
        (expected === 'no_stream' && actual === 'no_stream') ||
        (expected === 'stream_exists' && actual !== 'no_stream') ||
        (typeof expected === 'bigint' && expected === actual);
      if (!ok) return { outcome: 'conflict', expected, actual };
      let revision = actual === 'no_stream' ? -1n : actual;
      const created = clock();
      for (const event of events) {
        revision++;
        nextPosition += 128n;
        const stored: StoredEvent = {
          id: event.id,
          streamId: stream,
          type: event.type,
          revision,
          position: { commit: nextPosition, prepare: nextPosition },
          created,
          data: structuredClone(event.data),
          metadata: structuredClone(event.metadata),
        };
        existing.push(stored);
        log.push(stored);
      }
      streams.set(stream, existing);
      for (const listener of listeners) listener();
      const last = existing.at(-1)!;
      return { outcome: 'appended', nextRevision: last.revision, position: last.position };
    },

    subscribeToAll: subscribe,

    async readAll(after, maxCount) {
      const start = indexAfter(after);
      return log.slice(start, start + maxCount);
    },

    async headOfAll() {
      const last = log.at(-1);
      return last ? { position: last.position, created: last.created } : null;
    },

    persistent,

    all: () => [...log],

    async close() {
      for (const listener of [...listeners]) listeners.delete(listener);
    },
  };
}
