import { DomainError } from '../core/errors.ts';
import type { EventRegistry } from '../core/event-definitions.ts';
import type { AllPosition } from '../core/events.ts';
import { comparePositions, formatPosition } from '../core/positions.ts';
import type { Projection, ReadDocument } from '../core/projection.ts';
import type { AllFilter, EventStore } from '../eventstore/port.ts';
import type { Leadership } from '../leadership/lease.ts';
import { FencedOutError, type ReadStore, type SkippedEvent } from '../readstore/port.ts';
import { type Backoff, backoffDelay, sleep } from '../support/backoff.ts';
import { type Lag, lagBehind, relevanceOf } from './lag.ts';
import { type Lane, type RunnerFailure, runLanes } from './runner.ts';
import { readStoreSkipLog, type SkipLog } from './skip-log.ts';

/** Structured logger (pino's call shape); the projector logs failures, retries and rebuilds. */
export type Logger = {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
};

const silent: Logger = { info() {}, warn() {}, error() {} };

/** Why the projector stopped: the event it could not apply and what went wrong. */
export type ProjectionFailure = {
  projection: string;
  eventId: string;
  streamId: string;
  type: string;
  position: AllPosition;
  reason: string;
  at: Date;
};

export type RebuildProgress = {
  projection: string;
  eventsDone: number;
  eventsPerSecond: number;
  /** Share of `$all` (by position) behind the rebuild, 0..1. */
  fraction: number;
  estimatedRemainingSeconds: number | null;
  position: AllPosition | null;
  done: boolean;
};

export type ProjectorState = 'stopped' | 'starting' | 'catching_up' | 'live' | 'retrying' | 'failed';

export type ProjectorStatus = {
  name: string;
  state: ProjectorState;
  /** False while an event stops any projection: readiness reports it. Retrying stays healthy. */
  healthy: boolean;
  /** The oldest checkpoint among live projections (null = nothing processed yet). */
  position: AllPosition | null;
  processedEvents: number;
  /** When the newest event this projector processed was written. */
  lastEventAt: Date | null;
  projections: {
    name: string;
    version: number;
    target: string | null;
    checkpoint: AllPosition | null;
    rebuilding: boolean;
    /** An event stopped this projection (see `failures`). */
    stopped: boolean;
  }[];
  /** The first of `failures`, or null. */
  failure: ProjectionFailure | null;
  /**
   * Each projection an event stopped, with that event. A stopped projection holds only itself
   * back: the others keep following the log.
   */
  failures: ProjectionFailure[];
  transientError: { reason: string; attempts: number; since: Date } | null;
  rebuilds: RebuildProgress[];
};

export type ProjectorOptions = {
  /** Names the group in logs and status. */
  name: string;
  eventStore: EventStore;
  readStore: ReadStore;
  projections: readonly Projection<ReadDocument, never>[] | readonly Projection[];
  /** Server-side filter of the group's subscription, e.g. `{ streamPrefixes: ['case-'] }`. */
  filter?: AllFilter;
  /** Decodes and upcasts events; without it projections get the stored JSON. */
  events?: EventRegistry;
  /** Events per batch (default 500) and the longest a partial batch waits (default 25 ms). */
  batchSize?: number;
  batchDelayMs?: number;
  checkpointInterval?: number;
  backoff?: Backoff;
  /** Indexes to create on each projection's collection (field lists), by projection name. */
  indexes?: Readonly<Record<string, readonly (readonly string[])[]>>;
  logger?: Logger;
  /** Where operators' skips are kept; default the read store (durable only when it is). */
  skipLog?: SkipLog;
  onRebuildProgress?: (progress: RebuildProgress) => void;
};

export type Projector = {
  /**
   * Creates missing slots, starts the live subscription from the stored checkpoints and, for
   * each projection whose version differs from its slot's, a rebuild into a shadow collection
   * (the old collection keeps serving until the swap). Resolves once the loop is running.
   * With `leadership`, every write and checkpoint carries its fencing token; when the read store
   * refuses one (another replica leads now) the projector stops and calls `fencedOut`.
   */
  start(leadership?: Leadership): Promise<void>;
  /** Finishes the batch in hand, saves its checkpoint and stops; idempotent. */
  stop(): Promise<void>;
  status(): ProjectorStatus;
  lag(maxCount?: number): Promise<Lag>;
  /** Operator: try the failed event again (e.g. after a fix was deployed). */
  retry(): void;
  /**
   * Operator: record that the failed event is skipped by its projection, then resume. The skip
   * is stored, so rebuilds skip it too. Throws when `eventId` is not the current failure.
   */
  skip(eventId: string, decision: { reason: string; operator: string }): Promise<void>;
  /**
   * Replays one projection from the start of `$all` into a shadow collection while the live one
   * serves, then swaps atomically and carries the checkpoint. Resolves when swapped.
   */
  rebuild(projection: string, onProgress?: (progress: RebuildProgress) => void): Promise<void>;
  /** Resolves true once every live projection's checkpoint is at or past `position`. */
  waitFor(position: AllPosition, timeoutMs: number): Promise<boolean>;
};

function notStarted(projection: string): RebuildProgress {
  return {
    projection,
    eventsDone: 0,
    eventsPerSecond: 0,
    fraction: 0,
    estimatedRemainingSeconds: null,
    position: null,
    done: false,
  };
}

/** Creates the projector runtime for one group of projections sharing one subscription. */
export function createProjector(options: ProjectorOptions): Projector {
  const logger = options.logger ?? silent;
  const backoff = options.backoff ?? { initialDelayMs: 50, maxDelayMs: 10_000, factor: 2 };
  const batchSize = options.batchSize ?? 500;
  const batchDelayMs = options.batchDelayMs ?? 25;
  const checkpointInterval = options.checkpointInterval ?? 1;
  const projections = new Map<string, Projection>();
  for (const projection of options.projections as readonly Projection[]) {
    if (projections.has(projection.name))
      throw new Error(`projection ${projection.name} is registered twice`);
    projections.set(projection.name, projection);
  }

  const skipLog = options.skipLog ?? readStoreSkipLog(options.readStore);
  const relevant = relevanceOf([...projections.values()], options.filter);

  let state: ProjectorState = 'stopped';
  // Projections stopped by an event they cannot apply, with the lane (and checkpoint) they had.
  const failures = new Map<string, { failure: RunnerFailure; at: Date; lane: Lane | undefined }>();
  // Projections an operator released (retry, skip) until the loop takes them back: they still
  // hold waits back from where they stopped.
  const resuming = new Map<string, Lane>();
  // Projections being rebuilt whose serving collection no longer follows the log (the last phase
  // of a rebuild; the whole of a version-change rebuild), by the lane that last served them. Its
  // checkpoint is what reads can see until the swap, so waits and readiness are held there.
  const holding = new Map<string, Lane>();
  let transient: { reason: string; attempts: number; since: Date } | null = null;
  let leadership: Leadership | undefined;
  let processed = 0;
  let lastEventAt: Date | null = null;
  let loop: Promise<void> | null = null;
  let stopping = false;
  let runAbort: AbortController | null = null;
  let wake: (() => void) | null = null;
  const live = new Map<string, Lane>();
  const rebuilding = new Map<string, RebuildProgress>();
  const rebuildTasks = new Set<Promise<void>>();
  const waiters = new Set<{ position: AllPosition; resolve(ok: boolean): void }>();

  function livePosition(): AllPosition | null {
    let min: AllPosition | null = null;
    let first = true;
    for (const lane of [...live.values(), ...resuming.values(), ...holding.values()]) {
      if (lane.checkpoint === null) return null;
      if (first || (min && comparePositions(lane.checkpoint, min) < 0)) min = lane.checkpoint;
      first = false;
    }
    return min;
  }

  function failureList(): ProjectionFailure[] {
    return [...failures.values()].map(({ failure, at }) => ({
      projection: failure.projection,
      eventId: failure.event.id,
      streamId: failure.event.streamId,
      type: failure.event.type,
      position: failure.event.position,
      reason: failure.reason,
      at,
    }));
  }

  /** A stopped projection that has not reached `position` will not reach it until an operator acts. */
  function blockedBefore(position: AllPosition): boolean {
    for (const { lane } of failures.values()) {
      const checkpoint = lane?.checkpoint ?? null;
      if (checkpoint === null || comparePositions(checkpoint, position) < 0) return true;
    }
    return false;
  }

  function notifyWaiters() {
    const position = livePosition();
    if (!position) return;
    for (const waiter of waiters) {
      if (comparePositions(position, waiter.position) >= 0) {
        waiters.delete(waiter);
        waiter.resolve(true);
      }
    }
  }

  async function laneFor(
    projection: Projection,
    target: string,
    checkpoint: AllPosition | null,
  ): Promise<Lane> {
    const skips = await skipLog.list(projection.name);
    return { projection, target, checkpoint, skips: new Set(skips.map((s) => s.eventId)) };
  }

  async function loadLiveLanes(): Promise<void> {
    // Built aside and swapped in whole: a wait must never see a half-loaded set of lanes.
    const loaded = new Map<string, Lane>();
    for (const projection of projections.values()) {
      // A rebuilding projection keeps serving and following until its last phase (holding).
      const swapping = rebuilding.has(projection.name) && holding.has(projection.name);
      if (swapping || failures.has(projection.name)) continue;
      const slot = await options.readStore.slot(projection.name);
      if (!slot || slot.version !== projection.version) continue;
      loaded.set(projection.name, await laneFor(projection, slot.target, slot.checkpoint));
    }
    live.clear();
    for (const [name, lane] of loaded) live.set(name, lane);
    resuming.clear();
  }

  let reloaded: (() => void)[] = [];

  /**
   * Restarts the live subscription (new lane set, or resume after an operator decision).
   * Resolves once the loop has let go of the old lanes, so no write to a swapped-out target
   * can follow.
   */
  function restartLive(): Promise<void> {
    const done = new Promise<void>((resolve) => {
      if (!loop || stopping) resolve();
      else reloaded.push(resolve);
    });
    runAbort?.abort();
    wake?.();
    return done;
  }

  function lanesReloaded() {
    const callbacks = reloaded;
    reloaded = [];
    for (const callback of callbacks) callback();
  }

  async function liveLoop(): Promise<void> {
    let attempts = 0;
    while (!stopping) {
      const controller = new AbortController();
      runAbort = controller;
      try {
        await loadLiveLanes();
        lanesReloaded();
        if (live.size === 0) {
          state = failures.size > 0 ? 'failed' : 'live';
          await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          continue;
        }
        state = state === 'live' ? 'live' : 'catching_up';
        const outcome = await runLanes({
          eventStore: options.eventStore,
          readStore: options.readStore,
          lanes: [...live.values()],
          ...(options.filter ? { filter: options.filter } : {}),
          ...(options.events ? { registry: options.events } : {}),
          batchSize,
          batchDelayMs,
          checkpointInterval,
          backoff,
          mode: 'live',
          signal: controller.signal,
          ...(leadership === undefined ? {} : { fenceToken: leadership.token }),
          hooks: {
            flushed(info) {
              processed += info.events;
              if (info.lastCreated) lastEventAt = info.lastCreated;
              if (transient) {
                logger.info({ projector: options.name }, 'projector recovered');
                transient = null;
              }
              if (state === 'retrying') state = 'catching_up';
              attempts = 0;
              notifyWaiters();
            },
            retrying(error, attempt) {
              state = 'retrying';
              transient = {
                reason: String((error as Error).message),
                attempts: attempt,
                since: transient?.since ?? new Date(),
              };
              logger.warn(
                { projector: options.name, attempt, err: error },
                'read store unavailable; retrying batch',
              );
            },
            caughtUp() {
              state = 'live';
            },
          },
        });
        if (outcome.kind === 'failed') {
          // Only this projection stops; the loop goes round again with the others.
          const failed = outcome.failure;
          failures.set(failed.projection, {
            failure: failed,
            at: new Date(),
            lane: live.get(failed.projection),
          });
          logger.error(
            {
              projector: options.name,
              projection: failed.projection,
              eventId: failed.event.id,
              streamId: failed.event.streamId,
              eventType: failed.event.type,
              position: formatPosition(failed.event.position),
              reason: failed.reason,
            },
            'projection cannot apply event; that projection stopped',
          );
          for (const waiter of waiters) {
            if (blockedBefore(waiter.position)) {
              waiters.delete(waiter);
              waiter.resolve(false);
            }
          }
        }
      } catch (error) {
        if (stopping) break;
        if (error instanceof FencedOutError) {
          // Another replica leads now: stop following without marking any event as failed.
          logger.warn(
            { projector: options.name, token: error.token, highest: error.highest },
            'fenced out: another replica leads; projector stops',
          );
          transient = null;
          leadership?.fencedOut(error.message);
          break;
        }
        attempts++;
        state = 'retrying';
        transient = {
          reason: String((error as Error).message),
          attempts,
          since: transient?.since ?? new Date(),
        };
        logger.warn(
          { projector: options.name, attempt: attempts, err: error },
          'projector subscription failed; resubscribing',
        );
        await sleep(backoffDelay(backoff, attempts));
      } finally {
        if (runAbort === controller) runAbort = null;
      }
    }
    state = 'stopped';
    lanesReloaded();
  }

  async function rebuildInto(
    projection: Projection,
    onProgress?: (progress: RebuildProgress) => void,
  ): Promise<void> {
    const report = (progress: RebuildProgress) => {
      rebuilding.set(projection.name, progress);
      onProgress?.(progress);
      options.onRebuildProgress?.(progress);
    };
    const started = Date.now();
    const head = await options.eventStore.headOfAll();
    let done = 0;
    const progressOf = (position: AllPosition | null, finished: boolean): RebuildProgress => {
      const elapsed = Math.max(0.001, (Date.now() - started) / 1000);
      const fraction =
        finished || !head || head.position.commit === 0n
          ? 1
          : position
            ? Math.min(1, Number(position.commit) / Number(head.position.commit))
            : 0;
      return {
        projection: projection.name,
        eventsDone: done,
        eventsPerSecond: Math.round(done / elapsed),
        fraction,
        estimatedRemainingSeconds: fraction > 0 ? (elapsed * (1 - fraction)) / fraction : null,
        position,
        done: finished,
      };
    };
    report(progressOf(null, false));
    logger.info({ projector: options.name, projection: projection.name }, 'rebuild started');

    const shadow = await options.readStore.beginShadow(projection.name, projection.version);
    await options.readStore.prepareTarget(shadow.target, options.indexes?.[projection.name] ?? []);
    // The shadow starts empty and only this rebuild writes it: keep what it wrote in memory.
    const lane: Lane = { ...(await laneFor(projection, shadow.target, null)), known: new Map() };
    let lastReport = 0;
    const runShadow = async () => {
      for (let attempt = 1; ; attempt++) {
        const controller = new AbortController();
        const stopWatch = setInterval(() => stopping && controller.abort(), 100);
        try {
          const outcome = await runLanes({
            eventStore: options.eventStore,
            readStore: options.readStore,
            lanes: [lane],
            ...(options.filter ? { filter: options.filter } : {}),
            ...(options.events ? { registry: options.events } : {}),
            batchSize,
            batchDelayMs,
            checkpointInterval,
            backoff,
            mode: 'rebuild',
            signal: controller.signal,
            ...(leadership === undefined ? {} : { fenceToken: leadership.token }),
            hooks: {
              flushed(info) {
                done += info.matched;
                if (Date.now() - lastReport >= 500) {
                  lastReport = Date.now();
                  report(progressOf(info.position, false));
                }
              },
            },
          });
          if (outcome.kind === 'failed') {
            throw new Error(
              `rebuild of ${projection.name} stopped at event ${outcome.failure.event.id}: ${outcome.failure.reason}`,
            );
          }
          if (outcome.kind === 'stopped')
            throw new Error(`rebuild of ${projection.name} interrupted by stop`);
          return;
        } catch (error) {
          if (stopping || !(error instanceof Error && (error as { transient?: boolean }).transient))
            throw error;
          await sleep(backoffDelay(backoff, attempt));
        } finally {
          clearInterval(stopWatch);
        }
      }
    };

    await runShadow();
    // Take the projection out of the live group so nothing writes its old target, catch the
    // shadow up to the head once more, then swap data and checkpoint in one step.
    const serving = live.get(projection.name);
    rebuilding.set(projection.name, progressOf(lane.checkpoint, false));
    // Out of the live group until the swap, the projection still holds waits back at the
    // checkpoint of the collection that serves reads (frozen from here on): a wait passes a write
    // only once a read can see it, which for later writes is after the swap. Holding the shadow's
    // checkpoint instead would let a wait pass while reads still go to the old collection.
    if (serving) {
      holding.set(projection.name, serving);
      await restartLive();
    }
    await runShadow();
    const slot = await options.readStore.slot(projection.name);
    if (!slot) throw new Error(`projection ${projection.name} lost its slot during the rebuild`);
    const swapped = await options.readStore.swap(projection.name, slot);
    if (swapped.outcome === 'conflict') {
      rebuilding.delete(projection.name);
      await restartLive();
      holding.delete(projection.name);
      throw new Error(`rebuild of ${projection.name}: the slot changed underneath; not swapped`);
    }
    await options.readStore.retire(swapped.previous);
    const final = progressOf(lane.checkpoint, true);
    rebuilding.delete(projection.name);
    onProgress?.(final);
    options.onRebuildProgress?.(final);
    logger.info(
      {
        projector: options.name,
        projection: projection.name,
        events: done,
        seconds: (Date.now() - started) / 1000,
      },
      'rebuild swapped in',
    );
    await restartLive();
    holding.delete(projection.name);
    notifyWaiters();
  }

  function track(task: Promise<void>) {
    rebuildTasks.add(task);
    task.finally(() => rebuildTasks.delete(task)).catch(() => undefined);
  }

  return {
    async start(given) {
      if (loop) return;
      leadership = given;
      stopping = false;
      state = 'starting';
      for (const projection of projections.values()) {
        const slot = await options.readStore.createSlot(
          projection.name,
          projection.collection,
          projection.version,
        );
        await options.readStore.prepareTarget(slot.target, options.indexes?.[projection.name] ?? []);
        if (slot.version !== projection.version) {
          logger.info(
            {
              projector: options.name,
              projection: projection.name,
              from: slot.version,
              to: projection.version,
            },
            'projection version changed; rebuilding',
          );
          // The old version's collection keeps serving but no longer follows the log: waits and
          // readiness hold at its checkpoint until the rebuilt one is swapped in.
          holding.set(projection.name, {
            projection,
            target: slot.target,
            checkpoint: slot.checkpoint,
            skips: new Set(),
          });
          rebuilding.set(projection.name, notStarted(projection.name));
          track(
            // A failed rebuild keeps holding: waits for later writes must not pass a collection
            // that does not follow them (they time out; lag and readiness show it).
            rebuildInto(projection).catch((error: unknown) => {
              rebuilding.delete(projection.name);
              if (!stopping)
                logger.error(
                  { projector: options.name, projection: projection.name, err: error },
                  'rebuild failed',
                );
            }),
          );
        }
      }
      loop = liveLoop();
    },

    async stop() {
      stopping = true;
      runAbort?.abort();
      wake?.();
      await loop;
      await Promise.allSettled([...rebuildTasks]);
      loop = null;
      state = 'stopped';
      for (const waiter of waiters) waiter.resolve(false);
      waiters.clear();
    },

    status() {
      return {
        name: options.name,
        state: failures.size > 0 ? 'failed' : state,
        healthy: failures.size === 0,
        position: livePosition(),
        processedEvents: processed,
        lastEventAt,
        projections: [...projections.values()].map((projection) => {
          const lane =
            live.get(projection.name) ?? holding.get(projection.name) ?? failures.get(projection.name)?.lane;
          return {
            name: projection.name,
            version: projection.version,
            target: lane?.target ?? null,
            checkpoint: lane?.checkpoint ?? null,
            rebuilding: rebuilding.has(projection.name),
            stopped: failures.has(projection.name),
          };
        }),
        failure: failureList()[0] ?? null,
        failures: failureList(),
        transientError: transient,
        rebuilds: [...rebuilding.values()],
      };
    },

    lag(maxCount = 1000) {
      return lagBehind(options.eventStore, livePosition(), maxCount, relevant);
    },

    retry() {
      if (failures.size === 0) return;
      for (const [projection, { failure }] of failures) {
        logger.info({ projector: options.name, projection, eventId: failure.event.id }, 'operator retry');
      }
      for (const [projection, { lane }] of failures) if (lane) resuming.set(projection, lane);
      failures.clear();
      state = 'catching_up';
      void restartLive();
    },

    async skip(eventId, decision) {
      const stopped = [...failures.values()].find(({ failure }) => failure.event.id === eventId);
      if (stopped === undefined) {
        const first = failureList()[0];
        throw new DomainError(
          'projection.not_stopped_at_event',
          first
            ? `The projector stopped at event ${first.eventId} in ${first.projection}, not at ${eventId}`
            : 'The projector is not stopped',
          { stopped_at: first?.eventId ?? null },
        );
      }
      const { failure } = stopped;
      const skipped: SkippedEvent = {
        eventId,
        position: failure.event.position,
        streamId: failure.event.streamId,
        type: failure.event.type,
        reason: decision.reason,
        operator: decision.operator,
        at: new Date(),
      };
      await skipLog.record(failure.projection, skipped);
      logger.warn(
        { projector: options.name, projection: failure.projection, ...skipped },
        'operator skipped event',
      );
      if (stopped.lane) resuming.set(failure.projection, stopped.lane);
      failures.delete(failure.projection);
      if (failures.size === 0) state = 'catching_up';
      void restartLive();
    },

    async rebuild(name, onProgress) {
      const projection = projections.get(name);
      if (!projection) throw new Error(`unknown projection ${name}`);
      if (rebuilding.has(name)) throw new Error(`projection ${name} is already rebuilding`);
      // Shown as rebuilding from the call on, not from the rebuild's first await.
      rebuilding.set(name, notStarted(name));
      const task = rebuildInto(projection, onProgress);
      track(task);
      try {
        await task;
      } finally {
        rebuilding.delete(name);
      }
    },

    waitFor(position, timeoutMs) {
      if (blockedBefore(position)) return Promise.resolve(false);
      const current = livePosition();
      if (current && comparePositions(current, position) >= 0) return Promise.resolve(true);
      return new Promise((resolve) => {
        const waiter = {
          position,
          resolve: (ok: boolean) => {
            clearTimeout(timer);
            resolve(ok);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          resolve(false);
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
}
