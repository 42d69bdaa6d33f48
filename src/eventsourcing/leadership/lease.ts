/**
 * Leadership of one processor by a lease: the lease's shape, the store port, and the pure
 * decision a replica takes each time it looks at the lease. No clock here: `now` comes in.
 *
 * Safety does not rest on clocks. Every acquisition raises the lease's fencing `token`, and a
 * leader passes its token with each write it guards; a store that refuses a token lower than the
 * highest it has seen keeps a paused former leader from writing after another took over. Clocks
 * only decide when a replica may try to take an expired lease, and when a holder stops treating
 * itself as leader: `marginMs` before its expiry by its own clock, so holder and taker do not
 * overlap as long as their clocks differ by less than the margin.
 */

/** The state of one lease. `version` changes with every write and is what compare-and-set compares. */
export type Lease = {
  name: string;
  /** Replica holding it; '' once released. */
  holder: string;
  /** Fencing token: raised by every acquisition, never by a renewal or a release. */
  token: number;
  /** Milliseconds since the epoch, by the writer's clock. */
  expiresAt: number;
  version: number;
};

/** A write either happened, or the lease was no longer the one the caller read. */
export type LeaseWrite =
  | { outcome: 'written'; lease: Lease }
  | { outcome: 'conflict'; current: Lease | null };

/**
 * Where leases live (the read store, so replicas share them). Each write is a compare-and-set on
 * the lease the caller read: it happens only if nobody wrote the lease since, so of two replicas
 * racing for one lease exactly one succeeds.
 */
export interface LeaseStore {
  /** The lease as it is now, or null when it was never taken. */
  read(name: string): Promise<Lease | null>;
  /**
   * Takes the lease for `holder` until `expiresAt` with the next fencing token, if it is still
   * `expected` (null: never taken). Whether taking it is right (free, released or expired) is
   * the caller's decision: `decideLease`.
   */
  acquire(name: string, holder: string, expected: Lease | null, expiresAt: number): Promise<LeaseWrite>;
  /** Extends the caller's lease to `expiresAt`, same token, if nobody wrote it since it was read. */
  renew(lease: Lease, expiresAt: number): Promise<LeaseWrite>;
  /** Gives the lease up (holder '', expired), keeping its token so the next one is higher. */
  release(lease: Lease): Promise<LeaseWrite>;
  close(): Promise<void>;
}

export type LeaseTiming = {
  /** How long an acquisition or renewal holds the lease. */
  ttlMs: number;
  /** A holder renews once this much of its term has passed. */
  renewAfterMs: number;
  /** Allowance for clock difference and pauses: a holder stops leading this long before expiry. */
  marginMs: number;
};

export type LeaseDecision =
  /** Free, released or expired: try to take it (expiring at `expiresAt`). */
  | { action: 'acquire'; expiresAt: number }
  /** Ours and due for renewal; `leading` says whether we may still act as leader meanwhile. */
  | { action: 'renew'; expiresAt: number; leading: boolean }
  /** Ours and fresh: lead with `token` until `until`, look again at `checkAt`. */
  | { action: 'lead'; token: number; until: number; checkAt: number }
  /** Another replica's and live: serve and follow, look again at `checkAt` (its expiry). */
  | { action: 'follow'; holder: string; checkAt: number };

/** Throws on a name or holder a lease cannot have: empty (an empty holder means released) or over 200 characters. */
export function checkLeaseIdentity(name: string, holder: string): void {
  for (const [what, value] of [
    ['name', name],
    ['holder', holder],
  ] as const) {
    if (value.length === 0 || value.length > 200) {
      throw new RangeError(`a lease ${what} has 1 to 200 characters, got ${value.length}`);
    }
  }
}

/** Throws when the timing cannot work: a renewal must come before the holder stops leading. */
export function checkLeaseTiming(timing: LeaseTiming): void {
  const { ttlMs, renewAfterMs, marginMs } = timing;
  if (!(ttlMs > 0 && renewAfterMs > 0 && marginMs >= 0 && renewAfterMs + marginMs < ttlMs)) {
    throw new RangeError(
      `lease timing needs 0 < renewAfterMs, 0 <= marginMs and renewAfterMs + marginMs < ttlMs; got ${JSON.stringify(timing)}`,
    );
  }
}

/**
 * What `self` should do about `current` at `now`. Pure: the same inputs give the same decision.
 * A lease is ours only while we hold it and `now` is before its expiry less the margin; another
 * replica's lease is taken only from its expiry on (by our clock).
 */
export function decideLease(
  current: Lease | null,
  self: string,
  now: number,
  timing: LeaseTiming,
): LeaseDecision {
  checkLeaseTiming(timing);
  const expiresAt = now + timing.ttlMs;
  if (current === null || current.holder === '') return { action: 'acquire', expiresAt };
  if (current.holder !== self) {
    if (now >= current.expiresAt) return { action: 'acquire', expiresAt };
    return { action: 'follow', holder: current.holder, checkAt: current.expiresAt };
  }
  const until = current.expiresAt - timing.marginMs;
  const renewAt = current.expiresAt - timing.ttlMs + timing.renewAfterMs;
  if (now >= until) return { action: 'renew', expiresAt, leading: false };
  if (now >= renewAt) return { action: 'renew', expiresAt, leading: true };
  return { action: 'lead', token: current.token, until, checkAt: renewAt };
}

/**
 * What a processor gets when it starts as leader: the fencing token to pass with each guarded
 * write, and whom to tell when the store refused one because another replica leads now (the
 * processor stops on its own; this is not a failure).
 */
export type Leadership = { token: number; fencedOut(reason: string): void };
