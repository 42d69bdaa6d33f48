import type { AllPosition } from '../core/events.ts';
import { comparePositions } from '../core/positions.ts';
import type { EventStore } from '../eventstore/port.ts';

/** Distance to the head of `$all`: events (counted up to a cap) and age of the oldest unprocessed one. */
export type Lag = { events: number; eventsAtLeast: boolean; seconds: number; head: AllPosition | null };

/** How far `position` is behind the head of `$all`: events (up to `maxCount`) and the oldest one's age. */
export async function lagBehind(
  eventStore: EventStore,
  position: AllPosition | null,
  maxCount: number,
): Promise<Lag> {
  const head = await eventStore.headOfAll();
  if (!head) return { events: 0, eventsAtLeast: false, seconds: 0, head: null };
  if (position && comparePositions(position, head.position) >= 0) {
    return { events: 0, eventsAtLeast: false, seconds: 0, head: head.position };
  }
  const behind = await eventStore.readAll(position ?? 'start', maxCount);
  const oldest = behind[0];
  return {
    events: behind.length,
    eventsAtLeast: behind.length >= maxCount,
    seconds: oldest ? Math.max(0, (Date.now() - oldest.created.getTime()) / 1000) : 0,
    head: head.position,
  };
}
