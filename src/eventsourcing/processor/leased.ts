import { DomainError } from '../core/errors.ts';
import type { AllPosition } from '../core/events.ts';
import {
  checkLeaseTiming,
  decideLease,
  type Lease,
  type LeaseStore,
  type LeaseTiming,
} from '../leadership/lease.ts';
import type { Lag } from '../projection/lag.ts';
import type { Logger } from '../projection/projector.ts';
import { type Backoff, backoffDelay, sleep } from '../support/backoff.ts';
import type { Processor, ProcessorStatus } from './processor.ts';

/** Time as the lease loop sees it; tests pass a fake that they move on by hand. */
export type LeaseTimers = {
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
};

const realTimers: LeaseTimers = { now: () => Date.now(), sleep };

/** Where a follower learns how far the read models are: the checkpoints the leader stores. */
export type Following = {
  waitFor(position: AllPosition, timeoutMs: number): Promise<boolean>;
  lag(maxCount: number): Promise<Lag>;
};

export type LeasedOptions = {
  /** Unique per process: two processes with one id would both think they hold the lease. */
  replicaId: string;
  timing: LeaseTiming;
  /** The lease's name; default the processor's name. */
  leaseName?: string;
  timers?: LeaseTimers;
  /**
   * How often a follower looks while another holds the lease, so a released lease is taken
   * soon rather than at its expiry. Default `timing.renewAfterMs`.
   */
  followPollMs?: number;
  /** Retries after a lease-store error. */
  backoff?: Backoff;
  logger?: Logger;
  /** For a projector: how a follower answers waits and lag (from the stored checkpoints). */
  following?: Following;
};

export type LeasedProcessor<P extends Processor> = P & {
  /** Whether this replica runs the processor now. */
  isLeader(): boolean;
};

const silent: Logger = { info() {}, warn() {}, error() {} };

/**
 * Runs `processor` only while this replica holds its lease, a document in `leases` shared by
 * every replica. One loop per processor: read the lease, `decideLease`, write what it says
 * (acquire or renew, each a compare-and-set), sleep until the decision's `checkAt`. On `lead`
 * the processor starts with the lease's fencing token; when the decision stops being `lead`,
 * when the lease is not renewed by its end less the margin, or when the read store refuses a
 * write for a newer token, the processor stops (finishing the batch in hand; the store refuses
 * its checkpoint once another replica took over). `stop` stops the processor, then releases the
 * lease so another replica takes it at its next look instead of at the expiry.
 *
 * Lease-store errors never throw out of the loop: it retries with backoff, and a leader whose
 * lease ends meanwhile stops leading at the end less the margin, as a dead one would.
 */
export function leased<P extends Processor>(
  processor: P,
  leases: LeaseStore,
  options: LeasedOptions,
): LeasedProcessor<P> {
  checkLeaseTiming(options.timing);
  const name = options.leaseName ?? processor.name;
  const timers = options.timers ?? realTimers;
  const logger = options.logger ?? silent;
  const backoff = options.backoff ?? {
    initialDelayMs: 200,
    maxDelayMs: options.timing.renewAfterMs,
    factor: 2,
  };
  const followPollMs = options.followPollMs ?? options.timing.renewAfterMs;
  const replica = options.replicaId;

  /** The lease as last read or written. */
  let seen: Lease | null = null;
  /** While leading: the token the processor writes with and when leading must end. */
  let leading: { token: number; until: number } | null = null;
  let running: Promise<void> | null = null;
  let stopped = new AbortController();
  // Cut short by whatever should make the loop look at once (fenced out, stop).
  let nap = new AbortController();
  let watchdog = new AbortController();
  let fencedOut = 0;
  let storeError: { reason: string; attempts: number } | null = null;
  // Starting and stopping the processor come from the loop, the watchdog and the fence: one at a time.
  let transitions: Promise<unknown> = Promise.resolve();
  function serially<T>(step: () => Promise<T>): Promise<T> {
    const next = transitions.then(step, step);
    transitions = next.catch(() => undefined);
    return next;
  }

  function fields(extra: object = {}) {
    return { processor: processor.name, replica, lease: name, ...extra };
  }

  /** Runs the processor with `token` until `until` (starting it unless it runs with that token). */
  function lead(token: number, until: number): Promise<void> {
    return serially(async () => {
      if (stopped.signal.aborted) return;
      if (leading?.token !== token) {
        if (leading !== null) await stepDownNow(`token ${leading.token} replaced by ${token}`);
        leading = { token, until };
        logger.info(fields({ token, until: new Date(until).toISOString() }), 'lease acquired');
        try {
          await processor.start({
            token,
            fencedOut(reason) {
              fencedOut++;
              logger.warn(fields({ token, reason }), 'fenced out: another replica leads; stepping down');
              void stepDown('fenced out by a newer token').then(() => nap.abort());
            },
          });
        } catch (error) {
          // Not leading after all (the read store may be down): the loop tries again.
          await stepDownNow('the processor could not start');
          throw error;
        }
      }
      leading = { token, until };
      armWatchdog(token, until);
    });
  }

  function stepDown(reason: string): Promise<void> {
    return serially(() => stepDownNow(reason));
  }

  async function stepDownNow(reason: string): Promise<void> {
    if (leading === null) return;
    const { token } = leading;
    leading = null;
    watchdog.abort();
    logger.warn(fields({ token, reason }), 'lease lost');
    await processor.stop();
  }

  /** Stops leading at `until` unless a renewal moved it on, even while the store does not answer. */
  function armWatchdog(token: number, until: number) {
    watchdog.abort();
    const current = new AbortController();
    watchdog = current;
    void timers.sleep(Math.max(0, until - timers.now()), current.signal).then(() => {
      if (current.signal.aborted || leading?.token !== token || leading.until > until) return;
      void stepDown('not renewed before the end of the lease').then(() => nap.abort());
    });
  }

  /** One look at the lease; returns how long to sleep before the next. */
  async function look(): Promise<number> {
    const now = timers.now();
    const current = await leases.read(name);
    seen = current;
    const decision = decideLease(current, replica, now, options.timing);
    switch (decision.action) {
      case 'acquire': {
        if (leading !== null) await stepDown('the lease ended');
        const written = await leases.acquire(name, replica, current, decision.expiresAt);
        seen = written.outcome === 'written' ? written.lease : written.current;
        // Taken: the next look says `lead`. Lost the race: it says `follow`.
        return 0;
      }
      case 'renew': {
        if (!decision.leading) await stepDown('the lease was not renewed in time');
        const written = await leases.renew(current as Lease, decision.expiresAt);
        if (written.outcome === 'conflict') {
          seen = written.current;
          await stepDown('another replica took the lease');
          return 0;
        }
        seen = written.lease;
        const until = written.lease.expiresAt - options.timing.marginMs;
        if (leading?.token === written.lease.token) {
          leading = { token: written.lease.token, until };
          armWatchdog(written.lease.token, until);
        }
        return 0;
      }
      case 'lead':
        await lead(decision.token, decision.until);
        return decision.checkAt - timers.now();
      case 'follow':
        if (leading !== null) await stepDown(`the lease is held by ${decision.holder}`);
        return Math.min(decision.checkAt - now, followPollMs);
    }
  }

  async function loop(signal: AbortSignal): Promise<void> {
    let attempts = 0;
    while (!signal.aborted) {
      let wait: number;
      try {
        wait = await look();
        if (storeError) logger.info(fields(), 'lease store answers again');
        storeError = null;
        attempts = 0;
      } catch (error) {
        attempts++;
        storeError = { reason: error instanceof Error ? error.message : String(error), attempts };
        if (attempts === 1 || attempts % 10 === 0)
          logger.warn(fields({ attempt: attempts, err: error }), 'lease look failed; retrying');
        wait = backoffDelay(backoff, attempts);
      }
      if (signal.aborted) break;
      if (wait > 0) {
        nap = new AbortController();
        const both = AbortSignal.any([signal, nap.signal]);
        await timers.sleep(wait, both);
      }
    }
  }

  const wrapped: Processor = {
    ...processor,
    async start() {
      if (running) return;
      stopped = new AbortController();
      running = loop(stopped.signal);
    },
    async stop() {
      if (!running) return;
      stopped.abort();
      nap.abort();
      await running;
      running = null;
      const held = leading;
      await serially(async () => {
        if (leading === null) return;
        leading = null;
        watchdog.abort();
        await processor.stop();
      });
      const mine = seen;
      if (held !== null && mine !== null && mine.holder === replica && mine.token === held.token) {
        // A graceful stop hands over at once; if the release fails the lease simply expires.
        const released = await leases.release(mine).catch((error: unknown) => {
          logger.warn(fields({ token: held.token, err: error }), 'lease release failed; it expires instead');
          return null;
        });
        if (released?.outcome === 'written') {
          seen = released.lease;
          logger.info(fields({ token: held.token }), 'lease released');
        }
      }
    },
    status(): ProcessorStatus {
      const status = processor.status();
      const held = seen !== null && seen.holder !== '';
      return {
        ...status,
        details: { ...status.details, fencedOut, leaseStoreError: storeError },
        lease: {
          mode: 'auto',
          role: leading !== null ? 'leader' : 'follower',
          holder: held ? (seen?.holder ?? null) : null,
          token: seen === null ? null : seen.token,
          expiresAt: held && seen !== null ? new Date(seen.expiresAt) : null,
        },
      };
    },
    async rebuild(onProgress) {
      // Only the leader writes the read models: a rebuild elsewhere would race it.
      if (leading === null) {
        throw new DomainError(
          'processor.rebuild_refused',
          `this replica follows ${processor.name}; rebuild it on the replica holding its lease (${seen?.holder || 'none yet'})`,
        );
      }
      return processor.rebuild(onProgress);
    },
    async lag(maxCount) {
      if (leading === null && options.following) return options.following.lag(maxCount ?? 1_000);
      return processor.lag(maxCount);
    },
  };
  const following = options.following;
  const extra =
    following && 'waitFor' in processor
      ? {
          async waitFor(position: AllPosition, timeoutMs: number): Promise<boolean> {
            const deadline = Date.now() + timeoutMs;
            const inner = processor as unknown as Following;
            // A leader answers from its own loop; a wait that outlives its leadership, and a
            // follower's, from the checkpoints the leader stores.
            if (leading !== null && (await inner.waitFor(position, timeoutMs))) return true;
            return following.waitFor(position, Math.max(0, deadline - Date.now()));
          },
        }
      : {};
  return { ...wrapped, ...extra, isLeader: () => leading !== null } as LeasedProcessor<P>;
}
