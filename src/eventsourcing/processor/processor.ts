import type { AllPosition } from '../core/events.ts';
import type { Leadership } from '../leadership/lease.ts';
import type { Lag } from '../projection/lag.ts';
import type { RebuildProgress } from '../projection/projector.ts';

/**
 * What follows the log: a projector keeps read models (catch-up subscription, checkpoint in the
 * read store), a reactor causes side effects (persistent subscription, checkpoint on the server).
 */
export type ProcessorKind = 'projector' | 'reactor';

/**
 * `running`: following the log (catching up, live, or retrying a transient error);
 * `failed`: an event waits for an operator (retry, skip or rebuild): a projector stopped in front
 *   of it; a reactor parked it and goes on with the others;
 * `stopped`: not started, or stopped.
 */
export type ProcessorState = 'running' | 'stopped' | 'failed';

/** An event a processor could not handle: what it was, why, and what the processor did with it. */
export type ProcessorFailure = {
  eventId: string;
  streamId: string;
  type: string;
  /** Where it is in `$all` (null when the server did not say, as for some parked events). */
  position: AllPosition | null;
  reason: string;
  at: Date;
  /** A projector stops in front of it; a reactor parks it and goes on with the others. */
  action: 'stopped' | 'parked';
  /** The projection it stopped, for a projector. */
  projection?: string;
};

export type ProcessorStatus = {
  name: string;
  kind: ProcessorKind;
  state: ProcessorState;
  /** The engine's own finer state: `catching_up`, `live`, `retrying`, `reconnecting` … */
  phase: string;
  /**
   * How far it got in `$all`: a projector's oldest checkpoint; a reactor's newest acknowledged
   * event in this process (null before the first).
   */
  position: AllPosition | null;
  /** Events handled by this process since it started. */
  handledEvents: number;
  failures: ProcessorFailure[];
  rebuilds: RebuildProgress[];
  /** Engine details (a projector's projections, a reactor's counters), for operators. */
  details: Record<string, unknown>;
  /** Who runs it among the replicas; absent on a processor that is not leased. */
  lease?: LeaseView;
};

/**
 * How a processor is placed among replicas: `auto` by lease, `on` always run here, `off` never.
 * Words shared by the admin API, the CLI, `/health/ready` and `/metrics`.
 */
export type LeaseMode = 'auto' | 'on' | 'off';

/** `leader`: runs it here; `follower`: another replica does (or none yet); `none`: no lease (on, off). */
export type LeaseRole = 'leader' | 'follower' | 'none';

export type LeaseView = {
  mode: LeaseMode;
  role: LeaseRole;
  /** The replica holding the lease as last seen (null: free, released or not looked at yet). */
  holder: string | null;
  /** Its fencing token (null: never taken). */
  token: number | null;
  /** When it ends, by the holder's clock (null: free). */
  expiresAt: Date | null;
};

export type RetryOutcome = { outcome: 'retrying'; events: string[] } | { outcome: 'nothing_to_retry' };

export type RebuildSupport = { supported: true } | { supported: false; reason: string };

/**
 * One shape for everything that follows the log. Each processor has its own subscription,
 * checkpoint, status and failure domain: an event it cannot handle stops (or parks in) that
 * processor only, and operators address it by name.
 */
export type Processor = {
  readonly name: string;
  readonly kind: ProcessorKind;
  /** Whether `rebuild` can run, and why not. */
  readonly rebuildSupport: RebuildSupport;
  /**
   * Subscribes and starts handling; resolves once running. With `leadership` (a leased run),
   * guarded writes carry its token, and a write refused for a newer token stops the processor
   * and calls `leadership.fencedOut`.
   */
  start(leadership?: Leadership): Promise<void>;
  /** Finishes or gives back what it holds, then stops; idempotent. */
  stop(): Promise<void>;
  /** A snapshot, cheap enough for every health check and scrape. */
  status(): ProcessorStatus;
  /**
   * How far behind the head of `$all` it is, counting only events it handles; null when it cannot
   * tell (a reactor before its first event).
   */
  lag(maxCount?: number): Promise<Lag | null>;
  /** Operator: try the failed events again (a projector resumes; a reactor replays what is parked). */
  retry(): Promise<RetryOutcome>;
  /**
   * Operator: record that the failed event is passed over, with who and why, so it is never
   * handled (rebuilds and replays included). Throws `processor.not_failed_at_event` when
   * `eventId` is not one of its failures.
   */
  skip(eventId: string, decision: { reason: string; operator: string }): Promise<void>;
  /**
   * Operator: a projector replays its read models into shadow collections and swaps them in;
   * resolves when done. Throws `processor.rebuild_not_supported` when `rebuildSupport` says no.
   */
  rebuild(onProgress?: (progress: RebuildProgress) => void): Promise<void>;
};
