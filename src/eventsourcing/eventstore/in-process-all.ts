import type { EmulatorAllPosition, EmulatorStore, EventFilter } from '../../emulator/index.ts';

/** Events the server considers per catch-up page; also the default filter search window. */
export const READ_BATCH_SIZE = 32;

/** What a `$all` catch-up subscription sends, as global indexes into the store's log. */
export type AllMessage =
  | { kind: 'event'; index: number }
  | { kind: 'checkpoint'; position: EmulatorAllPosition }
  | { kind: 'caughtUp' };

/** Yielded when the cursor stands at the head: resume it after the next commit. */
export const AT_HEAD = Symbol('at head');

export type AllFiltering = {
  filter: EventFilter;
  /** Events considered per catch-up page (32 unless a window is given). */
  searchWindow: number;
  /** Checkpoint every `multiplier × searchWindow` considered events. */
  multiplier: number;
};

function positionOf(store: EmulatorStore, index: number): EmulatorAllPosition {
  if (index < 0) return { commit: -1, prepare: -1 };
  const position = store.position(index);
  return { commit: position, prepare: position };
}

function compare(a: EmulatorAllPosition, b: EmulatorAllPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/**
 * The messages of a catch-up subscription to `$all` after `from` (exclusive), exactly as the
 * emulator's gRPC service sends them (`subscribeToAll` in `src/emulator/subscriptions.ts`, which
 * follows the server's `Enumerator.AllSubscriptionFiltered`), as a synchronous cursor: the caller
 * pulls, and waits for a commit whenever it yields {@link AT_HEAD}. Unfiltered: every event,
 * `caughtUp`, live events, no checkpoints. Filtered: during catch-up a checkpoint each time the
 * considered events reach the interval (at the start of the page that reached it) and one at the
 * end of catch-up (the last sent event, or the start position when nothing matched: (-1,-1) from
 * the start); live, one every interval of `$all` events counted from `subscribedAt`. A checkpoint
 * is never repeated nor sent backwards. The gRPC service keeps its own loop; the in-process
 * contract test compares the two message for message.
 */
export function* allMessages(
  store: EmulatorStore,
  from: 'start' | EmulatorAllPosition,
  filtered: AllFiltering | undefined,
  /** `store.visible` when the subscription was made. */
  subscribedAt: number,
): Generator<AllMessage | typeof AT_HEAD, never, undefined> {
  let cursor = from === 'start' ? 0 : store.indexAfter(from);

  if (filtered === undefined) {
    for (let caught = false; ; ) {
      while (cursor < store.visible) yield { kind: 'event', index: cursor++ };
      if (!caught) {
        caught = true;
        yield { kind: 'caughtUp' };
      }
      yield AT_HEAD;
    }
  }

  const { filter, searchWindow, multiplier } = filtered;
  const interval = searchWindow * multiplier;
  let checkpoint: EmulatorAllPosition = from === 'start' ? { commit: -1, prepare: -1 } : from;
  let lastCheckpoint: EmulatorAllPosition | undefined;
  const newer = (position: EmulatorAllPosition): boolean => {
    if (lastCheckpoint !== undefined && compare(position, lastCheckpoint) <= 0) return false;
    lastCheckpoint = position;
    return true;
  };
  let liveCounter = 0;
  const countLive = (index: number): boolean => {
    if (index < subscribedAt) return false;
    if (++liveCounter < interval) return false;
    liveCounter = 0;
    return true;
  };

  // Catch-up, page by page, as the server's filtered read does.
  let pageStart: EmulatorAllPosition = from === 'start' ? { commit: 0, prepare: 0 } : from;
  let counter = 0;
  for (;;) {
    let matched = 0;
    let considered = 0;
    let reachedEnd = false;
    while (matched < READ_BATCH_SIZE && considered < searchWindow) {
      if (cursor >= store.visible) {
        reachedEnd = true;
        break;
      }
      const index = cursor++;
      considered++;
      countLive(index);
      if (filter.allows(store.streamName(index), store.eventType(index))) {
        matched++;
        yield { kind: 'event', index };
        checkpoint = positionOf(store, index);
      }
    }
    counter += considered;
    if (reachedEnd) {
      if (newer(checkpoint)) yield { kind: 'checkpoint', position: checkpoint };
      break;
    }
    if (counter >= interval) {
      counter %= interval;
      if (compare(checkpoint, pageStart) < 0) checkpoint = pageStart;
      if (newer(checkpoint)) yield { kind: 'checkpoint', position: checkpoint };
    }
    // The next page starts just after the last considered record (prepare 0 sorts it before that record).
    pageStart = { commit: store.postPosition(cursor - 1), prepare: 0 };
  }
  yield { kind: 'caughtUp' };
  for (;;) {
    while (cursor < store.visible) {
      const index = cursor++;
      if (filter.allows(store.streamName(index), store.eventType(index))) {
        yield { kind: 'event', index };
      }
      if (countLive(index)) {
        const position = positionOf(store, index);
        if (newer(position)) yield { kind: 'checkpoint', position };
      }
    }
    yield AT_HEAD;
  }
}
