import type { Logger } from 'pino';
import type { Lag } from '../eventsourcing/projection/lag.ts';
import type { Projector } from '../eventsourcing/projection/projector.ts';
import type { ComponentHealth } from '../http/health.ts';
import type { Operations } from '../http/ports.ts';
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
 * The admin operations over the projector (when this replica runs it) and, when the bridge is
 * on, the notification publisher.
 */
export function createOperations(deps: {
  /** Undefined when another replica projects (PROJECTOR=off): then only status and lag. */
  projector: Projector | undefined;
  /** How far the read models are behind, for replicas that do not project themselves. */
  lag: (maxCount: number) => Promise<Lag>;
  /** The readiness verdict on the read models, the same one `/health/ready` gives. */
  readiness: () => Promise<ComponentHealth>;
  publisher: () => NotificationPublisher | undefined;
  /** Where the dead letters are, when the Kafka bridge is on. */
  deadLetters: { brokers: readonly string[]; topic: string } | undefined;
  logger: Logger;
}): Operations {
  const { projector, logger } = deps;
  const rebuilding = new Set<string>();
  return {
    async projections() {
      const lag = await deps.lag(10_000).catch((error: unknown) => ({ error: String(error) }));
      const readiness = await deps.readiness().catch(
        (error: unknown): ComponentHealth => ({
          status: 'down',
          detail: `cannot assess: ${String(error)}`,
        }),
      );
      if (projector === undefined) {
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
      return jsonSafe({ ...projector.status(), lag, readiness }) as Record<string, unknown>;
    },
    retryProjections() {
      if (projector === undefined) return false;
      projector.retry();
      return true;
    },
    async skipEvent(eventId, decision) {
      if (projector === undefined) return false;
      // One event can stop several projections (the cases and the timeline both read CaseOpened):
      // the operator's decision is about the event, so it is skipped in each of them.
      do {
        await projector.skip(eventId, decision);
      } while (projector.status().failures.some((failure) => failure.eventId === eventId));
      return true;
    },
    startRebuild(projection) {
      if (projector === undefined) {
        return { started: false, reason: 'no projector runs in this replica (PROJECTOR=off)' };
      }
      const known = projector.status().projections.some((p) => p.name === projection);
      if (!known) return { started: false, reason: `no projection named "${projection}"` };
      if (rebuilding.has(projection))
        return { started: false, reason: `"${projection}" is already rebuilding` };
      rebuilding.add(projection);
      projector
        .rebuild(projection)
        .then(() => logger.info({ projection }, 'rebuild finished'))
        .catch((error: unknown) => logger.error({ projection, err: error }, 'rebuild failed'))
        .finally(() => rebuilding.delete(projection));
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
