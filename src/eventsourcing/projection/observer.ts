import type { AllPosition } from '../core/events.ts';
import { comparePositions } from '../core/positions.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { ReadStore } from '../readstore/port.ts';
import { sleep } from '../support/backoff.ts';
import { type EventRelevance, type Lag, lagBehind } from './lag.ts';

/**
 * Follows projections that another process projects, through the checkpoints it stores with the
 * read models: for a replica that serves shared read models without running their projector.
 */
export function createProjectionObserver(options: {
  eventStore: EventStore;
  readStore: ReadStore;
  projections: readonly string[];
  /** The events those projections apply (see `relevanceOf`); others never count as lag. */
  relevant?: EventRelevance;
  /** How often `waitFor` reads the checkpoints again. */
  pollMs?: number;
}) {
  const pollMs = options.pollMs ?? 25;

  /**
   * The oldest checkpoint of the collections that serve reads; null while one has none or a
   * projection is not set up yet. As in the projector, a projection being rebuilt holds the
   * others back at its serving collection's checkpoint (frozen in a rebuild's last phase and for
   * a whole version-change rebuild), not at its shadow's: reads go to the serving one until the
   * swap, so a wait never passes a write a read cannot see yet.
   */
  async function position(): Promise<AllPosition | null> {
    const slots = await Promise.all(options.projections.map((name) => options.readStore.slot(name)));
    let oldest: AllPosition | null = null;
    for (const slot of slots) {
      if (slot === null || slot.checkpoint === null) return null;
      if (oldest === null || comparePositions(slot.checkpoint, oldest) < 0) oldest = slot.checkpoint;
    }
    return oldest;
  }

  return {
    position,
    async lag(maxCount = 1000): Promise<Lag> {
      return lagBehind(options.eventStore, await position(), maxCount, options.relevant);
    },
    /** Resolves true once every checkpoint is at or past `target`, false after `timeoutMs`. */
    async waitFor(target: AllPosition, timeoutMs: number): Promise<boolean> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const current = await position();
        if (current && comparePositions(current, target) >= 0) return true;
        if (Date.now() >= deadline) return false;
        await sleep(Math.min(pollMs, Math.max(0, deadline - Date.now())));
      }
    },
  };
}

export type ProjectionObserver = ReturnType<typeof createProjectionObserver>;
