import type { Logger } from 'pino';
import type { Projector } from '../eventsourcing/projection/projector.ts';
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

/** The admin operations over the projector and, when the bridge is on, the notification publisher. */
export function createOperations(deps: {
  projector: Projector;
  publisher: () => NotificationPublisher | undefined;
  /** Where the dead letters are, when the Kafka bridge is on. */
  deadLetters: { brokers: readonly string[]; topic: string } | undefined;
  logger: Logger;
}): Operations {
  const { projector, logger } = deps;
  const rebuilding = new Set<string>();
  return {
    async projections() {
      const lag = await projector.lag(10_000).catch((error: unknown) => ({ error: String(error) }));
      return jsonSafe({ ...projector.status(), lag }) as Record<string, unknown>;
    },
    retryProjections: () => projector.retry(),
    skipEvent: (eventId, decision) => projector.skip(eventId, decision),
    startRebuild(projection) {
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
