import { erasureIndexProjection } from '../../projections/erasure-index.ts';
import { createErasureIndex, type ErasureIndex } from '../../src/app/erasure-index.ts';
import { INTAKE_STREAM_PREFIX, intakeEventDefinitions } from '../../src/cases/index.ts';
import { RETENTION_STREAM_PREFIX, retentionEventDefinitions } from '../../src/cases/retention.ts';
import { createEventRegistry } from '../../src/eventsourcing/core/event-definitions.ts';
import type { EventStore } from '../../src/eventsourcing/eventstore/port.ts';
import { createProjectorProcessor } from '../../src/eventsourcing/processor/projector-processor.ts';
import { createInMemoryReadStore } from '../../src/eventsourcing/readstore/memory.ts';
import type { ReadStore } from '../../src/eventsourcing/readstore/port.ts';

/**
 * The erasure index kept by its own projector over `eventStore`, as the service runs it, in an
 * in-memory read store unless one is given. Stop it when done (its loop holds the event loop).
 */
export async function startErasureIndex(
  eventStore: EventStore,
  readStore: ReadStore = createInMemoryReadStore(),
): Promise<{ index: ErasureIndex; readStore: ReadStore; stop(): Promise<void> }> {
  const projector = createProjectorProcessor({
    name: erasureIndexProjection.name,
    eventStore,
    readStore,
    projections: [erasureIndexProjection],
    filter: { streamPrefixes: [RETENTION_STREAM_PREFIX, INTAKE_STREAM_PREFIX] },
    events: createEventRegistry([...retentionEventDefinitions, ...intakeEventDefinitions]),
    batchDelayMs: 0,
  });
  await projector.start();
  return {
    index: createErasureIndex({
      readStore,
      waitFor: (position, timeoutMs) => projector.waitFor(position, timeoutMs),
    }),
    readStore,
    stop: () => projector.stop(),
  };
}
