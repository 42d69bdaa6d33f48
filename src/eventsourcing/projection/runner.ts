import type { EventRegistry } from '../core/event-definitions.ts';
import type { AllPosition, RecordedEvent } from '../core/events.ts';
import { comparePositions, maxPosition } from '../core/positions.ts';
import type { Projection } from '../core/projection.ts';
import type { AllFilter, EventStore, StoredEvent, SubscriptionMessage } from '../eventstore/port.ts';
import {
  type DocumentWrite,
  FencedOutError,
  type ReadStore,
  type VersionedDocument,
} from '../readstore/port.ts';
import { type Backoff, backoffDelay, sleep } from '../support/backoff.ts';
import { type ApplyFailure, planBatch, toRecorded, touchedDocuments } from './apply.ts';

/** One projection inside a runner: where it writes and how far it got. */
export type Lane = {
  projection: Projection;
  target: string;
  checkpoint: AllPosition | null;
  skips: ReadonlySet<string>;
  /**
   * Set only for a target that started empty and that this runner alone writes (a rebuild's
   * shadow): every document written so far, so the runner never reads the target back. Dropped
   * (and reads resume) once it would grow past {@link KNOWN_DOCUMENTS_LIMIT}.
   */
  known?: Map<string, VersionedDocument>;
};

/** Documents a rebuild keeps in memory instead of reading its shadow back. */
export const KNOWN_DOCUMENTS_LIMIT = 250_000;

export type RunnerFailure = ApplyFailure & { projection: string };

export type RunOutcome =
  | { kind: 'stopped' }
  | { kind: 'caughtUp' }
  | { kind: 'failed'; failure: RunnerFailure };

export type RunnerHooks = {
  /** After each flush: the batch's events, how many matched, and the lanes' new checkpoints. */
  flushed?(info: {
    events: number;
    matched: number;
    position: AllPosition | null;
    lastCreated: Date | null;
  }): void;
  /** A transient store error made a flush wait; `attempt` counts from 1. */
  retrying?(error: unknown, attempt: number): void;
  caughtUp?(): void;
};

export type RunnerOptions = {
  eventStore: EventStore;
  readStore: ReadStore;
  lanes: Lane[];
  filter?: AllFilter;
  registry?: EventRegistry;
  batchSize: number;
  batchDelayMs: number;
  checkpointInterval: number;
  backoff: Backoff;
  /** `rebuild` returns at the first caught-up marker; `live` runs until aborted. */
  mode: 'live' | 'rebuild';
  signal: AbortSignal;
  hooks?: RunnerHooks;
  /** A leader's fencing token: every write and checkpoint carries it (see `Fence`). */
  fenceToken?: number;
};

function isTransient(error: unknown): boolean {
  return error instanceof Error && (error as { transient?: unknown }).transient === true;
}

const TIMEOUT = Symbol('timeout');
const ABORTED = Symbol('aborted');

/**
 * One catch-up subscription feeding a set of lanes. For every batch, in this order: decode,
 * fold per document, one bulk write per lane, then each lane's checkpoint. Transient store
 * errors retry the same batch with backoff (writes are position-guarded, so a repeat is
 * harmless); a failure to apply an event writes everything before it, then stops the run.
 * Subscription errors propagate to the caller, which resubscribes from the checkpoints.
 */
export async function runLanes(options: RunnerOptions): Promise<RunOutcome> {
  const { lanes, signal } = options;
  const from = lanes.reduce<AllPosition | null | undefined>((min, lane) => {
    if (min === null || lane.checkpoint === null) return null;
    if (min === undefined) return lane.checkpoint;
    return comparePositions(lane.checkpoint, min) < 0 ? lane.checkpoint : min;
  }, undefined);
  const subscription = options.eventStore.subscribeToAll({
    from: from ?? 'start',
    ...(options.filter ? { filter: options.filter } : {}),
    checkpointInterval: options.checkpointInterval,
  });
  const iterator = subscription[Symbol.asyncIterator]();
  const aborted = new Promise<typeof ABORTED>((resolve) => {
    if (signal.aborted) resolve(ABORTED);
    signal.addEventListener('abort', () => resolve(ABORTED), { once: true });
  });

  let batch: StoredEvent[] = [];
  let batchEnd: AllPosition | null = null;
  let deadline: number | null = null;
  // The pending read is raced later; until then a rejection (subscription dropped) must not
  // count as unhandled, or the process dies instead of resubscribing.
  const pull = () => {
    const promise = iterator.next();
    promise.catch(() => undefined);
    return promise;
  };
  let next = pull();

  async function flushWithRetry(
    events: StoredEvent[],
    end: AllPosition | null,
  ): Promise<RunnerFailure | null> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await flush(options, events, end);
      } catch (error) {
        if (!isTransient(error) || signal.aborted) throw error;
        options.hooks?.retrying?.(error, attempt);
        await sleep(backoffDelay(options.backoff, attempt), signal);
        if (signal.aborted) throw error;
      }
    }
  }

  try {
    for (;;) {
      const waiters: Promise<IteratorResult<SubscriptionMessage> | typeof TIMEOUT | typeof ABORTED>[] = [
        next,
        aborted,
      ];
      let timer: NodeJS.Timeout | undefined;
      if (deadline !== null) {
        const wait = Math.max(0, deadline - Date.now());
        waiters.push(new Promise((resolve) => (timer = setTimeout(() => resolve(TIMEOUT), wait))));
      }
      const result = await Promise.race(waiters);
      clearTimeout(timer);

      if (result === ABORTED) {
        // Finish the batch in hand so a stop loses no work, then leave.
        if (batch.length > 0 || batchEnd) {
          const failure = await flushWithRetry(batch, batchEnd).catch(() => null);
          if (failure) return { kind: 'failed', failure };
        }
        return { kind: 'stopped' };
      }
      if (result === TIMEOUT) {
        const failure = await flushWithRetry(batch, batchEnd);
        if (failure) return { kind: 'failed', failure };
        batch = [];
        batchEnd = null;
        deadline = null;
        continue;
      }
      if (result.done) throw new Error('the $all subscription ended unexpectedly');
      next = pull();
      const message = result.value;
      if (message.kind === 'event') {
        batch.push(message.event);
        batchEnd = maxPosition(batchEnd, message.event.position);
        if (batch.length === 1) deadline = Date.now() + options.batchDelayMs;
        if (batch.length < options.batchSize) continue;
      } else if (message.kind === 'checkpoint') {
        // Everything up to here was delivered: the stored position may advance even when
        // nothing matched the filter.
        batchEnd = maxPosition(batchEnd, message.position);
        if (batch.length > 0) continue;
      }
      const failure = await flushWithRetry(batch, batchEnd);
      if (failure) return { kind: 'failed', failure };
      batch = [];
      batchEnd = null;
      deadline = null;
      if (message.kind === 'caughtUp') {
        options.hooks?.caughtUp?.();
        if (options.mode === 'rebuild') return { kind: 'caughtUp' };
      }
    }
  } finally {
    await subscription.close();
  }
}

type Entry = { index: number; stored: StoredEvent; recorded: () => RecordedEvent };

/** Writes one batch to every lane; returns the first failure after writing what precedes it. */
async function flush(
  options: RunnerOptions,
  events: StoredEvent[],
  end: AllPosition | null,
): Promise<RunnerFailure | null> {
  const cache = new Map<number, RecordedEvent>();
  const entries: Entry[] = events.map((stored, index) => ({
    index,
    stored,
    recorded: () => {
      let recorded = cache.get(index);
      if (!recorded) {
        recorded = toRecorded(stored, options.registry);
        cache.set(index, recorded);
      }
      return recorded;
    },
  }));

  type LanePlan = { lane: Lane; plan: Exclude<ReturnType<typeof planBatch>, { failure: ApplyFailure }> };
  const plans: LanePlan[] = [];
  let failure: RunnerFailure | null = null;
  for (const lane of options.lanes) {
    const handles = new Set<string>(lane.projection.handles);
    const relevant = entries.filter(
      (e) =>
        handles.has(e.stored.type) &&
        (lane.checkpoint === null || comparePositions(e.stored.position, lane.checkpoint) > 0) &&
        !lane.skips.has(e.stored.id),
    );
    if (relevant.length === 0) {
      plans.push({ lane, plan: { writes: [], matched: 0 } });
      continue;
    }
    const { ids, fresh } = touchedDocuments(lane.projection, relevant);
    const unread = lane.known ? new Set<string>() : fresh;
    const current = lane.known
      ? new Map(
          ids.flatMap((id): [string, VersionedDocument][] => {
            const known = lane.known?.get(id);
            return known ? [[id, known]] : [];
          }),
        )
      : await options.readStore.load(
          lane.target,
          ids.filter((id) => !unread.has(id)),
        );
    const plan = planBatch(lane.projection, relevant, current, unread);
    if ('failure' in plan) {
      if (!failure || plan.failure.index < failure.index)
        failure = { ...plan.failure, projection: lane.projection.name };
      continue;
    }
    plans.push({ lane, plan });
  }

  if (failure) {
    // Apply everything before the poison event, so the checkpoint stops exactly in front of it.
    const before = events.slice(0, failure.index);
    const prior = failure.index > 0 ? events[failure.index - 1]!.position : null;
    if (before.length > 0) await flush(options, before, prior);
    return failure;
  }

  let matched = 0;
  for (const { lane, plan } of plans) {
    matched += plan.matched;
    const fence =
      options.fenceToken === undefined
        ? undefined
        : { projection: lane.projection.name, token: options.fenceToken };
    if (plan.writes.length > 0) await options.readStore.write(lane.target, plan.writes, fence);
    if (lane.known) remember(lane, plan.writes);
  }
  if (end) {
    for (const { lane } of plans) {
      if (lane.checkpoint && comparePositions(end, lane.checkpoint) <= 0) continue;
      const saved = await options.readStore.saveCheckpoint(
        lane.projection.name,
        lane.target,
        end,
        options.fenceToken,
      );
      if (saved.outcome === 'superseded') {
        throw new SupersededError(lane.projection.name, lane.target);
      }
      if (saved.outcome === 'fenced') {
        throw new FencedOutError(lane.projection.name, options.fenceToken ?? 0, saved.highest);
      }
      lane.checkpoint = end;
    }
  }
  options.hooks?.flushed?.({
    events: events.length,
    matched,
    position: end,
    lastCreated: events.at(-1)?.created ?? null,
  });
  return null;
}

function remember(lane: Lane, writes: readonly DocumentWrite[]) {
  const known = lane.known;
  if (!known) return;
  for (const write of writes) {
    if (write.op === 'upsert')
      known.set(write.document.id, { document: write.document, position: write.position });
    else known.set(write.id, { document: null, position: write.position });
  }
  if (known.size > KNOWN_DOCUMENTS_LIMIT) delete lane.known;
}

/** The target this runner writes to was swapped out by a rebuild elsewhere: reload and restart. */
export class SupersededError extends Error {
  constructor(projection: string, target: string) {
    super(`projection ${projection}: target ${target} is no longer active`);
    this.name = 'SupersededError';
  }
}
