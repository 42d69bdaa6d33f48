import type { DomainEvent, RecordedEvent } from '../../../src/eventsourcing/core/events.ts';
import type {
  DefinedProjection,
  Projection,
  ReadDocument,
} from '../../../src/eventsourcing/core/projection.ts';

/** Wraps events as if read back from one stream, in order. */
export function recorded<E extends DomainEvent>(
  events: readonly E[],
  streamId = 'case-test',
): RecordedEvent<E>[] {
  return events.map((event, i) => ({
    ...event,
    id: `${streamId}/${i}`,
    streamId,
    revision: BigInt(i),
    position: { commit: BigInt(i), prepare: BigInt(i) },
    created: new Date(0),
    metadata: {
      correlationId: 'c',
      causationId: 'c',
      idempotencyKey: 'k',
      actor: 'SYSTEM',
      schemaVersion: 1,
    },
  }));
}

/** What the runtime does with a projection, minus positions and storage: events in, documents out. */
export function project<Doc extends ReadDocument, E extends DomainEvent>(
  projection: Projection<Doc, E> | DefinedProjection<Doc, E>,
  events: readonly DomainEvent[],
  start: ReadonlyMap<string, Doc> = new Map(),
): Map<string, Doc> {
  const documents = new Map(start);
  for (const event of recorded(events)) {
    if (!(projection.handles as readonly string[]).includes(event.type)) continue;
    const typed = event as unknown as RecordedEvent<E>;
    const runtime = projection as Projection<Doc, E>;
    for (const id of runtime.documentIds(typed)) {
      const next = runtime.evolve(documents.get(id) ?? null, typed, id);
      if (next === null) documents.delete(id);
      else documents.set(id, next);
    }
  }
  return documents;
}
