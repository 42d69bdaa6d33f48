import type { AllPosition } from '../core/events.ts';

/** Where the last event of one idempotency key sits in its stream. */
export type HandledAt = { revision: bigint; position: AllPosition };

/**
 * One stream as the handler last knew it: the revision and position of its last event, the state
 * folded from all its events, and every idempotency key among them. The key map is complete
 * because an entry is only ever built from a full read and then extended by contiguous tail
 * reads and the handler's own appends: a key missing from it is absent from the stream up to
 * `revision`, which is what lets a new command append without reading.
 */
export type CachedStream<State> = {
  revision: bigint;
  position: AllPosition;
  state: State;
  keys: Map<string, HandledAt>;
  /** Estimated bytes of `keys`, kept as keys are added. */
  keyBytes: number;
  /** Estimated bytes of the whole entry when it was last accounted. */
  bytes: number;
};

export type StateCacheOptions = {
  /** Streams kept. Default 10,000. */
  maxEntries?: number;
  /** Estimated bytes of all entries together. Default 64 MiB. */
  maxBytes?: number;
  /**
   * An entry estimated larger than this is dropped rather than kept, so one huge stream cannot
   * push out all others; its commands read the whole stream as without a cache. Default
   * `maxBytes / 16`.
   */
  maxEntryBytes?: number;
  /** Estimates the bytes a state holds. Default: {@link estimateBytes}. */
  sizeOf?: (state: unknown) => number;
};

/** Counters (since creation) and gauges (now) of one handler's cache, for metrics. */
export type StateCacheStats = {
  enabled: boolean;
  /** Gauges. */
  entries: number;
  bytes: number;
  maxEntries: number;
  maxBytes: number;
  /** A command found its stream in the cache. */
  hits: number;
  /** A command did not, and read the whole stream. */
  misses: number;
  /** Reads of a stream's tail after a cached revision (a conflict, or confirming a non-append). */
  tailReads: number;
  /** Appends refused because the cached revision was behind (another writer, another process). */
  staleConflicts: number;
  /** Entries dropped to stay within the bounds (least recently used first). */
  evictions: number;
  /** Entries dropped because they could not be trusted (an error, a deleted or truncated stream). */
  invalidations: number;
  /** Entries not kept because they alone exceeded `maxEntryBytes`. */
  oversized: number;
};

type Counter = 'tailReads' | 'staleConflicts' | 'invalidations';

/** The LRU store behind the command handler's cache. One per handler; not shared across processes. */
export type StateCache<State> = {
  /** The entry of `stream`, marked most recently used; counts a hit or a miss. */
  get(stream: string): CachedStream<State> | undefined;
  /** The entry of `stream`, without counting or reordering. */
  peek(stream: string): CachedStream<State> | undefined;
  /**
   * Keeps `entry` for `stream` (or re-accounts it after it changed in place), unless the cache
   * already holds a different entry at the same or a later revision. Evicts to stay in bounds.
   */
  offer(stream: string, entry: CachedStream<State>): void;
  /** Drops the entry of `stream`; `invalidated` counts it as untrusted. */
  delete(stream: string, invalidated?: boolean): void;
  clear(): void;
  count(counter: Counter): void;
  stats(): StateCacheStats;
};

/** Approximate heap cost of a Map entry holding a key and a small record with two bigints. */
const KEY_OVERHEAD_BYTES = 120;
const ENTRY_OVERHEAD_BYTES = 200;

/** Estimated bytes one idempotency key adds to an entry. */
export function keyBytes(key: string): number {
  return KEY_OVERHEAD_BYTES + 2 * key.length;
}

/**
 * A rough estimate of the heap a JSON-like value holds: strings at two bytes a character, numbers
 * and booleans at eight, objects and arrays at a fixed overhead plus their members. Shared
 * sub-objects count once per reference (an overestimate); cycles count once.
 */
export function estimateBytes(value: unknown): number {
  let total = 0;
  const stack: unknown[] = [value];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const current = stack.pop();
    switch (typeof current) {
      case 'string':
        total += 16 + 2 * current.length;
        break;
      case 'number':
      case 'boolean':
        total += 8;
        break;
      case 'bigint':
        total += 24;
        break;
      case 'object': {
        if (current === null) {
          total += 8;
          break;
        }
        if (seen.has(current)) break;
        seen.add(current);
        if (Array.isArray(current)) {
          total += 32 + 8 * current.length;
          for (const item of current) stack.push(item);
        } else if (current instanceof Map) {
          total += 64 + 32 * current.size;
          for (const [k, v] of current) stack.push(k, v);
        } else if (current instanceof Set) {
          total += 64 + 16 * current.size;
          for (const v of current) stack.push(v);
        } else if (current instanceof Date) {
          total += 32;
        } else {
          total += 32;
          for (const key in current) {
            total += 16 + 2 * key.length;
            stack.push((current as Record<string, unknown>)[key]);
          }
        }
        break;
      }
      default:
        total += 8;
    }
  }
  return total;
}

/** Builds the LRU behind the handler's state cache, bounded by entries and estimated bytes. */
export function createStateCache<State>(options: StateCacheOptions = {}): StateCache<State> {
  const maxEntries = options.maxEntries ?? 10_000;
  const maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
  const maxEntryBytes = options.maxEntryBytes ?? Math.floor(maxBytes / 16);
  const sizeOf = options.sizeOf ?? estimateBytes;
  if (!(maxEntries >= 1) || !(maxBytes >= 1)) throw new Error('cache bounds must be at least 1');
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const entries = new Map<string, CachedStream<State>>();
  let bytes = 0;
  const counters = {
    hits: 0,
    misses: 0,
    tailReads: 0,
    staleConflicts: 0,
    evictions: 0,
    invalidations: 0,
    oversized: 0,
  };

  function remove(stream: string): void {
    const entry = entries.get(stream);
    if (!entry) return;
    entries.delete(stream);
    bytes -= entry.bytes;
  }

  function evict(): void {
    while (entries.size > maxEntries || bytes > maxBytes) {
      const oldest = entries.keys().next();
      if (oldest.done) return;
      remove(oldest.value);
      counters.evictions++;
    }
  }

  return {
    get(stream) {
      const entry = entries.get(stream);
      if (!entry) {
        counters.misses++;
        return undefined;
      }
      counters.hits++;
      entries.delete(stream);
      entries.set(stream, entry);
      return entry;
    },

    peek: (stream) => entries.get(stream),

    offer(stream, entry) {
      const current = entries.get(stream);
      if (current && current !== entry && current.revision >= entry.revision) return;
      remove(stream);
      entry.bytes = ENTRY_OVERHEAD_BYTES + 2 * stream.length + entry.keyBytes + sizeOf(entry.state);
      if (entry.bytes > maxEntryBytes) {
        counters.oversized++;
        return;
      }
      entries.set(stream, entry);
      bytes += entry.bytes;
      evict();
    },

    delete(stream, invalidated = false) {
      if (invalidated && entries.has(stream)) counters.invalidations++;
      remove(stream);
    },

    clear() {
      entries.clear();
      bytes = 0;
    },

    count(counter) {
      counters[counter]++;
    },

    stats: () => ({ enabled: true, entries: entries.size, bytes, maxEntries, maxBytes, ...counters }),
  };
}
