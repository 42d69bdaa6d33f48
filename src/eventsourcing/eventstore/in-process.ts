import {
  createFilter,
  type EmulatorAllPosition,
  type EmulatorStore,
  type ProposedEvent,
  TOMBSTONE_REVISION,
} from '../../emulator/index.ts';
import type { AllPosition } from '../core/events.ts';
import {
  type AllFiltering,
  type AllMessage,
  AT_HEAD,
  allMessages,
  READ_BATCH_SIZE,
} from './in-process-all.ts';
import type {
  AllFilter,
  AllSubscription,
  AllSubscriptionOptions,
  AppendOutcome,
  EventStore,
  HeadOfAll,
  NewEvent,
  PersistentSubscriptions,
  StoredEvent,
  SubscriptionMessage,
} from './port.ts';
import { EventStoreUnavailableError } from './port.ts';

/** What the adapter needs of a running emulator: its store (`startEmulator(...)` returns it). */
export type InProcessHandle = { store: EmulatorStore };

export type InProcessEventStoreOptions = {
  /**
   * Persistent subscriptions, typically `createEsdbEventStore({ connectionString }).persistent`
   * over the same emulator (its groups live in the gRPC service). Absent: every call throws.
   */
  persistent?: PersistentSubscriptions;
};

/** The server refuses appends larger than this (data + metadata + 2 × type length), as a node does. */
const MAX_APPEND_SIZE = 1024 * 1024;
/** Revision the wire carries for a tombstone (long.MaxValue). */
const TOMBSTONE_WIRE_REVISION = 2n ** 63n - 1n;
const LONG_MAX = 2n ** 63n - 1n;
const EMPTY = new Uint8Array(0);

/**
 * An error the EventStoreDB client would raise as one of its own classes (this adapter does not
 * import the driver): same name and meaning, not the same class.
 */
function serverError(name: string, message: string): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

/** Parses an event id the way the server does (.NET `Guid.Parse`: dashed, 32 hex digits, braces). */
function parseUuid(value: string): Buffer | undefined {
  let text = value.trim();
  if ((text.startsWith('{') && text.endsWith('}')) || (text.startsWith('(') && text.endsWith(')'))) {
    text = text.slice(1, -1);
  }
  if (text.length === 36) {
    if (text[8] !== '-' || text[13] !== '-' || text[18] !== '-' || text[23] !== '-') return undefined;
    text = text.slice(0, 8) + text.slice(9, 13) + text.slice(14, 18) + text.slice(19, 23) + text.slice(24);
  }
  if (text.length !== 32) return undefined;
  // Hex decoding stops at the first character that is not a hex digit, so 16 bytes means all were.
  const bytes = Buffer.from(text, 'hex');
  return bytes.length === 16 ? bytes : undefined;
}

function formatUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * A new event as the client's `jsonEvent` puts it on the wire: data always JSON, metadata JSON
 * unless given as bytes, no metadata when it is falsy. Checks in the server's order.
 */
function toProposed(event: NewEvent): { proposed: ProposedEvent; size: number } {
  const data = Buffer.from(JSON.stringify(event.data), 'utf8');
  const raw = event.metadata;
  const metadata = !raw
    ? EMPTY
    : raw instanceof Uint8Array
      ? raw
      : Buffer.from(JSON.stringify(raw) as string, 'utf8');
  const id = parseUuid(event.id);
  if (id === undefined) throw serverError('UnknownError', 'Unrecognized Guid format.');
  if (id.every((byte) => byte === 0)) throw serverError('UnknownError', 'Empty eventId provided.');
  if (event.type === '') throw serverError('UnknownError', 'Empty eventType provided.');
  return {
    proposed: { id, type: event.type, isJson: true, data, metadata },
    size: data.length + metadata.length + 2 * event.type.length,
  };
}

/** Parsed as the client parses a recorded event: JSON if it parses, else the text (data) or bytes (metadata). */
function parseData(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function parseMetadata(bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8'));
  } catch {
    return new Uint8Array(bytes);
  }
}

function toStored(store: EmulatorStore, index: number): StoredEvent {
  const event = store.event(index);
  const position = BigInt(event.position);
  return {
    id: formatUuid(event.id),
    streamId: event.stream,
    type: event.type,
    revision: event.revision === TOMBSTONE_REVISION ? TOMBSTONE_WIRE_REVISION : BigInt(event.revision),
    position: { commit: position, prepare: position },
    // The wire carries 100 ns ticks; the client keeps whole milliseconds.
    created: new Date(Math.floor(event.createdMicros / 1000)),
    data: event.isJson ? parseData(event.data) : new Uint8Array(event.data),
    metadata: parseMetadata(event.metadata),
  };
}

/** A port position as the server reads it; commit < prepare or beyond long.MaxValue is refused. */
function emulatorPosition(position: AllPosition): EmulatorAllPosition {
  const { commit, prepare } = position;
  if (commit < prepare || commit > LONG_MAX || prepare > LONG_MAX || commit < 0n || prepare < 0n) {
    throw serverError('UnknownError', `invalid $all position ${commit}/${prepare}`);
  }
  const cap = (value: bigint) =>
    value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  return { commit: cap(commit), prepare: cap(prepare) };
}

function filtering(filter: AllFilter, checkpointInterval: number): AllFiltering {
  const spec =
    'streamPrefixes' in filter
      ? { on: 'stream' as const, prefixes: filter.streamPrefixes, regex: undefined }
      : 'eventTypePrefixes' in filter
        ? { on: 'type' as const, prefixes: filter.eventTypePrefixes, regex: undefined }
        : { on: 'stream' as const, prefixes: [], regex: filter.streamRegex };
  return {
    filter: createFilter(spec),
    searchWindow: READ_BATCH_SIZE,
    multiplier: Math.max(1, checkpointInterval),
  };
}

function isSystem(store: EmulatorStore, index: number): boolean {
  return store.streamName(index).startsWith('$') || store.eventType(index).startsWith('$');
}

/**
 * The event store port over the embedded emulator's own store, in this process: no gRPC, no
 * protobuf, no copies beyond decoding each event once. It behaves as `createEsdbEventStore`
 * connected to the same emulator: the same outcomes, revisions and `$all` positions, the same
 * idempotency (the store's own check), the same subscription messages and checkpoints, the same
 * system events in `readAll` and `headOfAll`, and {@link EventStoreUnavailableError} once the
 * emulator (or this adapter) is closed. Both write to the one log, so gRPC clients of the emulator
 * see what this appends and the other way round. Errors the client would raise as its own classes
 * (a deleted stream, an oversized append, a malformed id) are plain errors with the client's class
 * name. Persistent subscriptions are delegated to `options.persistent`.
 *
 * `close()` ends this adapter's subscriptions; the emulator and the delegate have their own owners.
 */
export function createInProcessEventStore(
  handle: InProcessHandle,
  options: InProcessEventStoreOptions = {},
): EventStore {
  const { store } = handle;
  let closed = false;
  const subscriptions = new Set<{ close(): Promise<void> }>();

  function assertAvailable(): void {
    if (closed)
      throw new EventStoreUnavailableError('event store unavailable: the in-process client is closed');
    if (store.isClosed)
      throw new EventStoreUnavailableError('event store unavailable: the embedded store is closed');
  }

  /** Runs `operation` as a call to the server: unavailability surfaces as a rejection, never a throw. */
  async function call<T>(operation: () => T | Promise<T>): Promise<T> {
    assertAvailable();
    return operation();
  }

  function subscribe(subscriptionOptions: AllSubscriptionOptions): AllSubscription {
    const interval = subscriptionOptions.checkpointInterval ?? 1;
    // The client checks this before sending the request.
    if (subscriptionOptions.filter && interval <= 0)
      throw new Error('CheckpointInterval must be greater than 0.');
    const subscribedAt = store.isClosed ? 0 : store.visible;
    let failure: unknown;
    let messages: Generator<AllMessage | typeof AT_HEAD, never, undefined> | undefined;
    try {
      const from =
        subscriptionOptions.from === 'start' ? 'start' : emulatorPosition(subscriptionOptions.from);
      const filtered = subscriptionOptions.filter
        ? filtering(subscriptionOptions.filter, interval)
        : undefined;
      messages = allMessages(store, from, filtered, subscribedAt);
    } catch (error) {
      // As over gRPC, a request the server refuses drops the subscription on the first read.
      failure = serverError('UnknownError', error instanceof Error ? error.message : String(error));
    }
    const unfiltered = subscriptionOptions.filter === undefined;
    let ended = false;
    let stopWaiting: (() => void) | undefined;

    const waitForCommit = () =>
      new Promise<void>((resolve) => {
        const cancel = store.onNextCommit(resolve);
        stopWaiting = () => {
          cancel();
          resolve();
        };
      });

    async function next(): Promise<IteratorResult<SubscriptionMessage>> {
      for (;;) {
        if (ended) return { value: undefined, done: true };
        if (failure !== undefined) {
          ended = true;
          throw failure;
        }
        if (store.isClosed) {
          failure = new EventStoreUnavailableError('event store unavailable: the embedded store was closed');
          continue;
        }
        const step = messages!.next().value;
        if (step === AT_HEAD) {
          await waitForCommit();
          stopWaiting = undefined;
          continue;
        }
        if (step.kind === 'event') {
          // Without a server-side filter the client gets system events too; the esdb adapter drops them.
          if (unfiltered && isSystem(store, step.index)) continue;
          return { value: { kind: 'event', event: toStored(store, step.index) }, done: false };
        }
        if (step.kind === 'checkpoint') {
          // (-1,-1) travels as uint64 max, which the esdb adapter drops as "no position".
          if (step.position.commit < 0) continue;
          const commit = BigInt(step.position.commit);
          const prepare = BigInt(step.position.prepare);
          return { value: { kind: 'checkpoint', position: { commit, prepare } }, done: false };
        }
        return { value: { kind: 'caughtUp' }, done: false };
      }
    }

    const subscription: AllSubscription = {
      [Symbol.asyncIterator]: () => ({ next, return: async () => ({ value: undefined, done: true }) }),
      close: async () => {
        ended = true;
        subscriptions.delete(subscription);
        stopWaiting?.();
      },
    };
    if (closed)
      failure = new EventStoreUnavailableError('event store unavailable: the in-process client is closed');
    else subscriptions.add(subscription);
    return subscription;
  }

  const unsupported = (): never => {
    throw new Error(
      'persistent subscriptions are not served in process: pass `persistent` (the gRPC adapter’s) to createInProcessEventStore',
    );
  };

  return {
    readStream: (stream, options) =>
      call(() => {
        // Inclusive from `fromRevision`, as the EventStoreDB adapter reads.
        const from = options?.fromRevision ?? 'start';
        const read = store.readStream(stream, 'forwards', from, Number.MAX_SAFE_INTEGER);
        if (read.kind === 'deleted') throw serverError('StreamDeletedError', `${stream} is deleted.`);
        if (read.kind === 'not_found') return null;
        const events: StoredEvent[] = [];
        for (const index of read.indexes) events.push(toStored(store, index));
        return events;
      }),

    appendToStream: (stream, events, expected) =>
      call(async (): Promise<AppendOutcome> => {
        const proposed: ProposedEvent[] = [];
        let size = 0;
        for (const event of events) {
          const converted = toProposed(event);
          proposed.push(converted.proposed);
          size += converted.size;
        }
        if (size > MAX_APPEND_SIZE) {
          throw serverError(
            'MaxAppendSizeExceededError',
            `Maximum Append Size of ${MAX_APPEND_SIZE} Exceeded.`,
          );
        }
        const result = await store.append(stream, expected, proposed);
        if (result.outcome === 'stream_deleted')
          throw serverError('StreamDeletedError', `${stream} is deleted.`);
        if (result.outcome === 'wrong_expected_version') {
          return {
            outcome: 'conflict',
            expected,
            actual: result.current >= 0 ? BigInt(result.current) : 'no_stream',
          };
        }
        const position = BigInt(result.position);
        return {
          outcome: 'appended',
          // An empty append to a stream with no events answers "no stream", which the client reads as 0.
          nextRevision: result.revision < 0 ? 0n : BigInt(result.revision),
          position: { commit: position, prepare: position },
        };
      }),

    subscribeToAll: subscribe,

    readAll: (after, maxCount) =>
      call(() => {
        // The esdb adapter reads one more from an inclusive position and drops `after` itself.
        const count = after === 'start' ? maxCount : maxCount + 1;
        if (!(count > 0)) throw serverError('UnknownError', `invalid count ${count}`);
        let index = after === 'start' ? 0 : store.indexFrom(emulatorPosition(after));
        const end = store.visible;
        const events: StoredEvent[] = [];
        for (let remaining = count; remaining > 0 && index < end; remaining--) {
          const current = index++;
          if (after !== 'start') {
            const position = BigInt(store.position(current));
            if (position === after.commit && position === after.prepare) continue;
          }
          if (events.length < maxCount) events.push(toStored(store, current));
        }
        return events;
      }),

    headOfAll: () =>
      call((): HeadOfAll | null => {
        if (store.visible === 0) return null;
        const event = toStored(store, store.visible - 1);
        return { position: event.position, created: event.created };
      }),

    persistent: options.persistent ?? {
      ensureGroup: unsupported,
      subscribe: unsupported,
      listParked: unsupported,
      replayParked: unsupported,
      deleteGroup: unsupported,
    },

    close: async () => {
      closed = true;
      await Promise.all([...subscriptions].map((subscription) => subscription.close()));
    },
  };
}
