import type { AllPosition } from '../eventsourcing/core/events.ts';
import { comparePositions, formatPosition } from '../eventsourcing/core/positions.ts';
import type { Lag } from '../eventsourcing/projection/lag.ts';
import type { ProjectorStatus } from '../eventsourcing/projection/projector.ts';
import type { ComponentHealth } from '../http/health.ts';
import { jsonSafe } from './operations.ts';

/** Where the read models stand, from this replica's projector or the checkpoints another stores. */
export type ReadModelsView = {
  position(): Promise<AllPosition | null> | AllPosition | null;
  lag(maxCount: number): Promise<Lag>;
};

/**
 * The one verdict on the read models, served by `/health/ready` and by `projections status`:
 * - down while the initial catch-up has not reached the head of the log seen at start (with
 *   progress), so a replica is not routed to while it still misses cases it will have;
 * - down when an event stopped a projection, naming it;
 * - down when events the projections handle wait longer than `maxLagSeconds`; the store's own
 *   records and other services' streams never count, so an idle service stays ready.
 * Once the initial catch-up is done it stays done for the life of the process.
 */
export function createReadModelReadiness(deps: {
  readModels: ReadModelsView;
  /** Undefined when another replica projects (PROJECTOR=off). */
  projectorStatus: (() => Pick<ProjectorStatus, 'state' | 'healthy' | 'failure'>) | undefined;
  /** The head of `$all` when the service started (null: the log was empty; undefined: unknown). */
  headAtStart: AllPosition | null | undefined;
  maxLagSeconds: number;
}) {
  let caughtUpOnce = deps.headAtStart === null;

  return async function assess(): Promise<ComponentHealth> {
    const status = deps.projectorStatus?.();
    const state = status?.state ?? 'off';
    if (status !== undefined && !status.healthy) {
      return {
        status: 'down',
        state,
        detail: status.failure
          ? `projection ${status.failure.projection} stopped at event ${status.failure.eventId}: ${status.failure.reason}`
          : 'stopped',
        failure: jsonSafe(status.failure),
      };
    }
    const [lag, position] = await Promise.all([deps.readModels.lag(1_000), deps.readModels.position()]);
    if (!caughtUpOnce) {
      const reachedStartHead =
        position !== null &&
        deps.headAtStart !== null &&
        deps.headAtStart !== undefined &&
        comparePositions(position, deps.headAtStart) >= 0;
      caughtUpOnce = reachedStartHead || (lag.events === 0 && !lag.eventsAtLeast);
    }
    if (!caughtUpOnce) {
      const start = deps.headAtStart;
      const fraction =
        position === null || start === null || start === undefined || start.commit === 0n
          ? 0
          : Math.min(1, Number(position.commit) / Number(start.commit));
      return {
        status: 'down',
        state,
        detail: `initial catch-up: ${(fraction * 100).toFixed(1)} % of the log seen at start, ${lag.events}${lag.eventsAtLeast ? '+' : ''} events to apply`,
        progress: {
          fraction,
          position: position === null ? null : formatPosition(position),
          head_at_start: start === null || start === undefined ? null : formatPosition(start),
          events_behind: lag.events,
        },
      };
    }
    if (lag.seconds > deps.maxLagSeconds) {
      return {
        status: 'down',
        state,
        detail: `${lag.events}${lag.eventsAtLeast ? '+' : ''} events behind, the oldest ${lag.seconds.toFixed(0)} s old (limit ${deps.maxLagSeconds} s)`,
        lag_events: lag.events,
        lag_seconds: lag.seconds,
      };
    }
    return { status: 'up', state, lag_events: lag.events, lag_seconds: lag.seconds };
  };
}

export type ReadModelReadiness = ReturnType<typeof createReadModelReadiness>;
