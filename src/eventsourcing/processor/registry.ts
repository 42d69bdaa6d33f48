import type { AllPosition } from '../core/events.ts';
import { comparePositions } from '../core/positions.ts';
import type { Lag } from '../projection/lag.ts';
import type { Processor } from './processor.ts';
import type { ProjectorProcessor } from './projector-processor.ts';

/**
 * The processors of one service, by name: what operations address (status, retry, skip,
 * rebuild) and what read-your-writes waits ask. It does not own their lifecycle: the composition
 * root starts each where its dependencies are ready and stops them in reverse order.
 */
export type ProcessorRegistry = {
  /** Adds a processor; throws when the name is taken. */
  register(processor: Processor): void;
  get(name: string): Processor | undefined;
  /** Every processor, in the order registered. */
  list(): Processor[];
  /** The processors that keep read models. */
  projectors(): ProjectorProcessor[];
  /**
   * Resolves true once every projector has applied `position`; false after `timeoutMs`, or at
   * once when a projector stopped before it (it will not get there without an operator).
   */
  waitFor(position: AllPosition, timeoutMs: number): Promise<boolean>;
  /**
   * The read models' lag as a whole: the furthest behind of the projectors (events and seconds).
   */
  projectorLag(maxCount: number): Promise<Lag>;
  /** The oldest checkpoint among projectors (null while one has none). */
  projectorPosition(): AllPosition | null;
};

function isProjector(processor: Processor): processor is ProjectorProcessor {
  return processor.kind === 'projector' && 'waitFor' in processor;
}

export function createProcessorRegistry(initial: readonly Processor[] = []): ProcessorRegistry {
  const processors = new Map<string, Processor>();
  const registry: ProcessorRegistry = {
    register(processor) {
      if (processors.has(processor.name))
        throw new Error(`a processor named ${processor.name} is registered already`);
      processors.set(processor.name, processor);
    },
    get: (name) => processors.get(name),
    list: () => [...processors.values()],
    projectors: () => [...processors.values()].filter(isProjector),
    async waitFor(position, timeoutMs) {
      const answers = await Promise.all(
        registry.projectors().map((projector) => projector.waitFor(position, timeoutMs)),
      );
      return answers.every(Boolean);
    },
    async projectorLag(maxCount) {
      const lags = await Promise.all(registry.projectors().map((projector) => projector.lag(maxCount)));
      let worst: Lag = { events: 0, eventsAtLeast: false, seconds: 0, head: null };
      for (const lag of lags) {
        if (lag === null) continue;
        worst = {
          events: Math.max(worst.events, lag.events),
          eventsAtLeast: worst.eventsAtLeast || lag.eventsAtLeast,
          seconds: Math.max(worst.seconds, lag.seconds),
          head: lag.head ?? worst.head,
        };
      }
      return worst;
    },
    projectorPosition() {
      let oldest: AllPosition | null = null;
      let first = true;
      for (const projector of registry.projectors()) {
        const position = projector.status().position;
        if (position === null) return null;
        if (first || (oldest !== null && comparePositions(position, oldest) < 0)) oldest = position;
        first = false;
      }
      return oldest;
    },
  };
  for (const processor of initial) registry.register(processor);
  return registry;
}
