import { DomainError } from '../core/errors.ts';
import type { AllPosition } from '../core/events.ts';
import {
  createProjector,
  type Projector,
  type ProjectorOptions,
  type ProjectorStatus,
} from '../projection/projector.ts';
import type { Processor, ProcessorFailure, ProcessorStatus } from './processor.ts';

/** A processor that keeps read models; also answers read-your-writes waits. */
export type ProjectorProcessor = Processor & {
  readonly kind: 'projector';
  /** The projections it keeps. */
  readonly projections: readonly string[];
  /** The projector runtime underneath, for views that need its full status. */
  readonly projector: Projector;
  /** Resolves true once every projection of it has applied `position` (and reads can see it). */
  waitFor(position: AllPosition, timeoutMs: number): Promise<boolean>;
};

function failuresOf(status: ProjectorStatus): ProcessorFailure[] {
  return status.failures.map((failure) => ({
    eventId: failure.eventId,
    streamId: failure.streamId,
    type: failure.type,
    position: failure.position,
    reason: failure.reason,
    at: failure.at,
    action: 'stopped',
    projection: failure.projection,
  }));
}

/**
 * A projector as a processor: its own catch-up subscription over `$all`, its checkpoints in the
 * read store beside the documents. Give each read model its own (one projection per processor)
 * and an event one cannot apply stops that one only; group projections in one processor only
 * where they must move together.
 */
export function createProjectorProcessor(options: ProjectorOptions): ProjectorProcessor {
  const projector = createProjector(options);
  const projections = options.projections.map((projection) => projection.name);
  return {
    name: options.name,
    kind: 'projector',
    rebuildSupport: { supported: true },
    projections,
    projector,
    start: (leadership) => projector.start(leadership),
    stop: () => projector.stop(),
    status(): ProcessorStatus {
      const status = projector.status();
      return {
        name: options.name,
        kind: 'projector',
        state: status.state === 'stopped' ? 'stopped' : status.healthy ? 'running' : 'failed',
        phase: status.state,
        position: status.position,
        handledEvents: status.processedEvents,
        failures: failuresOf(status),
        rebuilds: status.rebuilds,
        details: {
          projections: status.projections,
          lastEventAt: status.lastEventAt,
          transientError: status.transientError,
        },
      };
    },
    lag: (maxCount) => projector.lag(maxCount),
    async retry() {
      const events = projector.status().failures.map((failure) => failure.eventId);
      if (events.length === 0) return { outcome: 'nothing_to_retry' };
      projector.retry();
      return { outcome: 'retrying', events };
    },
    async skip(eventId, decision) {
      const failures = projector.status().failures;
      if (!failures.some((failure) => failure.eventId === eventId)) {
        throw new DomainError(
          'processor.not_failed_at_event',
          failures.length === 0
            ? `Processor ${options.name} is not stopped at any event`
            : `Processor ${options.name} stopped at ${failures.map((f) => f.eventId).join(', ')}, not at ${eventId}`,
          { stopped_at: failures.map((failure) => failure.eventId) },
        );
      }
      await projector.skip(eventId, decision);
    },
    async rebuild(onProgress) {
      for (const projection of projections) await projector.rebuild(projection, onProgress);
    },
    waitFor: (position, timeoutMs) => projector.waitFor(position, timeoutMs),
  };
}
