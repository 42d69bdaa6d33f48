import type { AllPosition } from '../core/events.ts';
import { comparePositions } from '../core/positions.ts';
import type { Projection } from '../core/projection.ts';
import type { AllFilter, EventStore, StoredEvent } from '../eventstore/port.ts';

/**
 * Distance to the head of `$all`, counting only events some projection handles: events (counted
 * up to a cap) and the age of the oldest one not applied yet. `head` is the last event of `$all`.
 */
export type Lag = { events: number; eventsAtLeast: boolean; seconds: number; head: AllPosition | null };

/** Which stored events a group of projections would apply: its filter and the types they handle. */
export type EventRelevance = (event: Pick<StoredEvent, 'streamId' | 'type'>) => boolean;

/**
 * The events a projector applies: those passing its subscription filter whose type one of its
 * projections handles. Everything else in `$all` (the store's own system records, other
 * services' streams) never counts as lag: an idle service is not behind.
 */
export function relevanceOf(
  projections: readonly Pick<Projection, 'handles'>[],
  filter?: AllFilter,
): EventRelevance {
  const types = new Set<string>(projections.flatMap((projection) => projection.handles));
  const passes = filterPredicate(filter);
  return (event) => types.has(event.type) && passes(event);
}

/** The events a subscription filter lets through, as a predicate (no filter: every event). */
export function filterPredicate(filter: AllFilter | undefined): EventRelevance {
  if (filter === undefined) return () => true;
  if ('streamPrefixes' in filter) {
    return (event) => filter.streamPrefixes.some((prefix) => event.streamId.startsWith(prefix));
  }
  if ('eventTypePrefixes' in filter) {
    return (event) => filter.eventTypePrefixes.some((prefix) => event.type.startsWith(prefix));
  }
  const regex = new RegExp(filter.streamRegex);
  return (event) => regex.test(event.streamId);
}

/**
 * How far `position` is behind the head of `$all` in events that matter (`relevant`): reads up
 * to `maxCount` events after it and counts the relevant ones. With more than `maxCount`
 * irrelevant events in between the count is a lower bound (`eventsAtLeast`).
 */
export async function lagBehind(
  eventStore: EventStore,
  position: AllPosition | null,
  maxCount: number,
  relevant: EventRelevance = () => true,
): Promise<Lag> {
  const head = await eventStore.headOfAll();
  if (!head) return { events: 0, eventsAtLeast: false, seconds: 0, head: null };
  if (position && comparePositions(position, head.position) >= 0) {
    return { events: 0, eventsAtLeast: false, seconds: 0, head: head.position };
  }
  const after = await eventStore.readAll(position ?? 'start', maxCount);
  const behind = after.filter(relevant);
  const oldest = behind[0];
  return {
    events: behind.length,
    eventsAtLeast: after.length >= maxCount,
    seconds: oldest ? Math.max(0, (Date.now() - oldest.created.getTime()) / 1000) : 0,
    head: head.position,
  };
}
