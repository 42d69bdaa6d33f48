import type { Logger } from 'pino';
import { DomainError } from '../eventsourcing/core/errors.ts';
import type { AllPosition } from '../eventsourcing/core/events.ts';
import { comparePositions } from '../eventsourcing/core/positions.ts';
import type {
  LeaseMode,
  LeaseView,
  Processor,
  ProcessorStatus,
} from '../eventsourcing/processor/processor.ts';
import type { ProcessorRegistry } from '../eventsourcing/processor/registry.ts';
import type { Lag } from '../eventsourcing/projection/lag.ts';
import type {
  ProjectionFailure,
  ProjectorState,
  ProjectorStatus,
  RebuildProgress,
} from '../eventsourcing/projection/projector.ts';
import type { ComponentHealth } from '../http/health.ts';
import type { Operations, ProcessorAction, ProcessorReport } from '../http/ports.ts';
import { deadLetterView, readDeadLetters } from '../kafka/dead-letters.ts';
import type { NotificationPublisher } from '../kafka/outbound.ts';

/** Bigints (positions, revisions) as strings and dates as ISO text, so status can travel as JSON. */
export function jsonSafe(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, jsonSafe(inner)]));
  }
  return value;
}

/**
 * Who runs a processor, in the words every surface uses (admin API, CLI, `/health/ready`):
 * `mode` auto|on|off, `role` leader|follower|none, the lease's holder, token and end.
 */
export function leaseOf(status: ProcessorStatus, mode: LeaseMode): Record<string, unknown> {
  const lease: LeaseView = status.lease ?? { mode, role: 'none', holder: null, token: null, expiresAt: null };
  return {
    mode: lease.mode,
    role: lease.role,
    holder: lease.holder,
    token: lease.token,
    expires_at: lease.expiresAt?.toISOString() ?? null,
  };
}

/** The read models as one: what `/api/v1/admin/projections` and readiness report. */
export type ProjectorsSummary = Pick<
  ProjectorStatus,
  'name' | 'state' | 'healthy' | 'position' | 'processedEvents' | 'failure' | 'failures' | 'rebuilds'
> & {
  projections: (ProjectorStatus['projections'][number] & { processor: string })[];
  transientError: ProjectorStatus['transientError'];
};

/** The state that says most about a group: a retry or a catch-up anywhere shows. */
const statePrecedence: readonly ProjectorState[] = ['failed', 'retrying', 'starting', 'catching_up', 'live'];

/**
 * The projectors of the registry seen as the one read-model projector they replaced: the
 * failures of all, the oldest checkpoint, the least settled state. Kept for the
 * `/api/v1/admin/projections` routes, the `projections` command and readiness.
 */
export function projectorsSummary(processors: ProcessorRegistry): ProjectorsSummary {
  const statuses = processors.projectors().map((processor) => ({
    processor: processor.name,
    status: processor.projector.status(),
  }));
  const failures: ProjectionFailure[] = statuses.flatMap(({ status }) => status.failures);
  const rebuilds: RebuildProgress[] = statuses.flatMap(({ status }) => status.rebuilds);
  let position: AllPosition | null = null;
  let unset = false;
  for (const { status } of statuses) {
    if (status.position === null) unset = true;
    else if (position === null || comparePositions(status.position, position) < 0) position = status.position;
  }
  const states = new Set(statuses.map(({ status }) => status.state));
  const state =
    statuses.length > 0 && [...states].every((s) => s === 'stopped')
      ? 'stopped'
      : (statePrecedence.find((s) => states.has(s)) ?? 'stopped');
  return {
    name: 'read-models',
    state,
    healthy: failures.length === 0,
    position: unset ? null : position,
    processedEvents: statuses.reduce((sum, { status }) => sum + status.processedEvents, 0),
    projections: statuses.flatMap(({ processor, status }) =>
      status.projections.map((projection) => ({ ...projection, processor })),
    ),
    failure: failures[0] ?? null,
    failures,
    transientError: statuses.find(({ status }) => status.transientError)?.status.transientError ?? null,
    rebuilds,
  };
}

/**
 * Each processor's verdict for `/health/ready`: down while an event stops a projector (its read
 * model falls behind), degraded while a reactor holds parked events (it goes on with the others).
 */
export function processorsHealth(processors: ProcessorRegistry, mode: LeaseMode = 'on'): ComponentHealth {
  const list = processors.list().map((processor) => processor.status());
  const failed = list.filter((status) => status.state === 'failed');
  const down = failed.some((status) => status.kind === 'projector');
  const detail = failed
    .map((status) => `${status.kind} ${status.name}: ${status.failures.length} event(s) wait for an operator`)
    .join('; ');
  return {
    status: down ? 'down' : failed.length > 0 ? 'degraded' : 'up',
    ...(detail === '' ? {} : { detail }),
    processors: jsonSafe(
      Object.fromEntries(
        list.map((status) => [
          status.name,
          {
            kind: status.kind,
            state: status.state,
            phase: status.phase,
            position: status.position,
            failures: status.failures.map(({ eventId, reason, action }) => ({ eventId, reason, action })),
            // A follower's processor is stopped by design, not down: another replica runs it.
            lease: leaseOf(status, mode),
          },
        ]),
      ),
    ),
  };
}

async function reportOf(
  processor: Processor,
  rebuild: { running: boolean; error: string | null },
  mode: LeaseMode,
): Promise<ProcessorReport> {
  const lag = await processor.lag(10_000).catch((error: unknown) => ({ error: String(error) }));
  const status = processor.status();
  return jsonSafe({
    ...status,
    lease: leaseOf(status, mode),
    lag,
    rebuildSupport: processor.rebuildSupport,
    rebuilding: rebuild.running,
    rebuildError: rebuild.error,
  }) as ProcessorReport;
}

/**
 * The admin operations over the processors of this replica (a projector per read model unless
 * PROJECTOR=off; the notification publisher when the bridge is on), the read models as a whole,
 * parked notifications and dead letters.
 */
export function createOperations(deps: {
  processors: ProcessorRegistry;
  /** False when another replica projects (PROJECTOR=off): then only status and lag of the read models. */
  projecting: boolean;
  /** PROJECTOR: how this replica's processors are placed (shown with each). */
  leaseMode?: LeaseMode;
  /** How far the read models are behind (this replica's projectors, or another's checkpoints). */
  lag: (maxCount: number) => Promise<Lag>;
  /** The readiness verdict on the read models, the same one `/health/ready` gives. */
  readiness: () => Promise<ComponentHealth>;
  publisher: () => NotificationPublisher | undefined;
  /** Where the dead letters are, when the Kafka bridge is on. */
  deadLetters: { brokers: readonly string[]; topic: string } | undefined;
  logger: Logger;
}): Operations {
  const { processors, logger } = deps;
  const mode = deps.leaseMode ?? 'on';
  /** Why this replica may not rebuild `processor`: another replica leads it. */
  function followerReason(processor: Processor): string | undefined {
    const lease = processor.status().lease;
    if (lease?.role !== 'follower') return undefined;
    return `this replica follows ${processor.name}; the replica holding its lease (${lease.holder ?? 'none yet'}) runs it: point at that one`;
  }
  const rebuilding = new Set<string>();
  // Why the last rebuild started here failed, until the next one starts: the CLI reports it.
  const rebuildErrors = new Map<string, string>();
  const rebuildOf = (name: string) => ({
    running: rebuilding.has(name),
    error: rebuildErrors.get(name) ?? null,
  });

  function find(name: string): Processor | { outcome: 'not_found'; known: string[] } {
    return (
      processors.get(name) ?? {
        outcome: 'not_found',
        known: processors.list().map((processor) => processor.name),
      }
    );
  }

  function startRebuild(name: string, run: () => Promise<void>): void {
    rebuilding.add(name);
    rebuildErrors.delete(name);
    run()
      .then(() => logger.info({ processor: name }, 'rebuild finished'))
      .catch((error: unknown) => {
        rebuildErrors.set(name, error instanceof Error ? error.message : String(error));
        logger.error({ processor: name, err: error }, 'rebuild failed');
      })
      .finally(() => rebuilding.delete(name));
  }

  return {
    async processors() {
      return Promise.all(
        processors.list().map((processor) => reportOf(processor, rebuildOf(processor.name), mode)),
      );
    },
    async processor(name) {
      const processor = find(name);
      if ('outcome' in processor) return processor;
      return { outcome: 'done', report: await reportOf(processor, rebuildOf(name), mode) };
    },
    async retryProcessor(name) {
      const processor = find(name);
      if ('outcome' in processor) return processor;
      const retried = await processor.retry();
      return { outcome: 'done', events: retried.outcome === 'retrying' ? retried.events : [] };
    },
    async skipProcessorEvent(name, eventId, decision) {
      const processor = find(name);
      if ('outcome' in processor) return processor;
      await processor.skip(eventId, decision);
      return { outcome: 'done', skipped: eventId };
    },
    rebuildProcessor(name): ProcessorAction<{ rebuilding: string }> {
      const processor = find(name);
      if ('outcome' in processor) return processor;
      const support = processor.rebuildSupport;
      if (!support.supported)
        return { outcome: 'refused', code: 'processor.rebuild_not_supported', reason: support.reason };
      const following = followerReason(processor);
      if (following !== undefined)
        return { outcome: 'refused', code: 'processor.rebuild_refused', reason: following };
      if (rebuilding.has(name) || processor.status().rebuilds.some((r) => !r.done))
        return {
          outcome: 'refused',
          code: 'processor.rebuild_refused',
          reason: `${name} is already rebuilding`,
        };
      startRebuild(name, () => processor.rebuild());
      return { outcome: 'done', rebuilding: name };
    },

    async projections() {
      const lag = await deps.lag(10_000).catch((error: unknown) => ({ error: String(error) }));
      const readiness = await deps.readiness().catch(
        (error: unknown): ComponentHealth => ({
          status: 'down',
          detail: `cannot assess: ${String(error)}`,
        }),
      );
      if (!deps.projecting) {
        return jsonSafe({
          state: 'off',
          // Unknown here: the projecting replica knows.
          healthy: null,
          detail: 'this replica serves read models another replica projects (PROJECTOR=off)',
          failure: null,
          projections: [],
          rebuilds: [],
          lag,
          readiness,
        }) as Record<string, unknown>;
      }
      return jsonSafe({ ...projectorsSummary(processors), lag, readiness }) as Record<string, unknown>;
    },
    retryProjections() {
      if (!deps.projecting) return false;
      for (const projector of processors.projectors()) void projector.retry();
      return true;
    },
    async skipEvent(eventId, decision) {
      if (!deps.projecting) return false;
      // The same event may stop several read models (one that none can decode stops them all).
      const stopped = processors
        .projectors()
        .filter((projector) => projector.status().failures.some((failure) => failure.eventId === eventId));
      if (stopped.length === 0) {
        const first = projectorsSummary(processors).failure;
        throw new DomainError(
          'projection.not_stopped_at_event',
          first
            ? `The projector stopped at event ${first.eventId} in ${first.projection}, not at ${eventId}`
            : 'The projector is not stopped',
          { stopped_at: first?.eventId ?? null },
        );
      }
      for (const projector of stopped) await projector.skip(eventId, decision);
      return true;
    },
    startRebuild(projection) {
      if (!deps.projecting) {
        return { started: false, reason: 'no projector runs in this replica (PROJECTOR=off)' };
      }
      const owner = processors.projectors().find((processor) => processor.projections.includes(projection));
      if (owner === undefined) return { started: false, reason: `no projection named "${projection}"` };
      const following = followerReason(owner);
      if (following !== undefined) return { started: false, reason: following };
      const key = `projection:${projection}`;
      if (rebuilding.has(key) || rebuilding.has(owner.name))
        return { started: false, reason: `"${projection}" is already rebuilding` };
      startRebuild(key, () => owner.projector.rebuild(projection));
      return { started: true };
    },
    async parked(limit) {
      const publisher = deps.publisher();
      if (publisher === undefined) return undefined;
      const parked = await publisher.listParked(limit);
      return parked.map(({ event, reason, parkedAt }) => ({
        event_id: event.id,
        stream: event.streamId,
        revision: event.revision.toString(),
        type: event.type,
        reason,
        parked_at: parkedAt?.toISOString() ?? null,
        data: event.data,
      }));
    },
    async deadLetters(limit) {
      if (deps.deadLetters === undefined) return undefined;
      const { topic } = deps.deadLetters;
      const { letters, total } = await readDeadLetters({ ...deps.deadLetters, limit });
      const oldestFirst = [...letters].sort(
        (a, b) => Number(a.message.timestamp) - Number(b.message.timestamp),
      );
      return { total, letters: oldestFirst.map((letter) => deadLetterView(letter, topic)) };
    },
    async replayParked(stopAt) {
      const publisher = deps.publisher();
      if (publisher === undefined) return false;
      await publisher.replayParked(stopAt);
      return true;
    },
  };
}
