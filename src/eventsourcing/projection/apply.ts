import type { EventRegistry } from '../core/event-definitions.ts';
import type { AllPosition, DomainEvent, EventMetadata, RecordedEvent } from '../core/events.ts';
import { comparePositions } from '../core/positions.ts';
import type { Projection, ReadDocument } from '../core/projection.ts';
import type { StoredEvent } from '../eventstore/port.ts';
import type { DocumentWrite, VersionedDocument } from '../readstore/port.ts';

/** Metadata as written by our command handler; foreign events get empty fields rather than a crash. */
export function normalizeMetadata(raw: unknown): EventMetadata {
  const m = raw !== null && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  const text = (value: unknown) => (typeof value === 'string' ? value : '');
  const metadata: EventMetadata = {
    correlationId: text(m.correlationId),
    causationId: text(m.causationId),
    idempotencyKey: text(m.idempotencyKey),
    actor: text(m.actor),
    schemaVersion: typeof m.schemaVersion === 'number' ? m.schemaVersion : 1,
  };
  if (typeof m.traceparent === 'string') metadata.traceparent = m.traceparent;
  return metadata;
}

/** Decodes (and upcasts, when a registry is given) a stored event into what projections see. */
export function toRecorded(stored: StoredEvent, registry: EventRegistry | undefined): RecordedEvent {
  const metadata = normalizeMetadata(stored.metadata);
  const decoded: DomainEvent = registry
    ? registry.decode(stored.type, stored.data, metadata.schemaVersion)
    : { type: stored.type, data: stored.data };
  return {
    type: decoded.type,
    data: decoded.data,
    id: stored.id,
    streamId: stored.streamId,
    revision: stored.revision,
    position: stored.position,
    created: stored.created,
    metadata,
  };
}

/** Why a projection could not take an event; the projector stops there. */
export type ApplyFailure = { index: number; event: StoredEvent; reason: string; error: unknown };

export type Plan = { writes: DocumentWrite[]; matched: number };

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Folds a batch into per-document writes for one projection. Pure apart from the documents it
 * is handed: events at or before a document's stored position are passed over (replays and
 * duplicates are no-ops), each touched document yields one write at its newest position.
 * Returns the first failure instead of throwing, with the event's index in `events`.
 */
export function planBatch(
  projection: Projection,
  events: readonly { index: number; stored: StoredEvent; recorded: () => RecordedEvent }[],
  current: ReadonlyMap<string, VersionedDocument>,
  /** Documents not read from the store (see {@link touchedDocuments}): whether they exist is unknown. */
  unread: ReadonlySet<string> = new Set(),
): Plan | { failure: ApplyFailure } {
  type Pending = {
    document: ReadDocument | null;
    position: AllPosition | null;
    changed: boolean;
    existed: boolean | 'unknown';
  };
  const documents = new Map<string, Pending>();
  let matched = 0;
  for (const entry of events) {
    let recorded: RecordedEvent;
    let ids: readonly string[];
    try {
      recorded = entry.recorded();
      ids = projection.documentIds(recorded);
    } catch (error) {
      return { failure: { index: entry.index, event: entry.stored, reason: describe(error), error } };
    }
    matched++;
    for (const id of ids) {
      let pending = documents.get(id);
      if (!pending) {
        const stored = current.get(id);
        pending = {
          document: stored?.document ?? null,
          position: stored?.position ?? null,
          changed: false,
          existed: unread.has(id) ? 'unknown' : stored !== undefined,
        };
        documents.set(id, pending);
      }
      if (pending.position && comparePositions(entry.stored.position, pending.position) <= 0) continue;
      try {
        const next = projection.evolve(pending.document, recorded, id);
        if (next !== null && next.id !== id) throw new Error(`evolve returned document ${next.id} for ${id}`);
        pending.document = next;
      } catch (error) {
        return { failure: { index: entry.index, event: entry.stored, reason: describe(error), error } };
      }
      pending.position = entry.stored.position;
      pending.changed = true;
    }
  }
  const writes: DocumentWrite[] = [];
  for (const [id, pending] of documents) {
    if (!pending.changed || !pending.position) continue;
    if (pending.document) {
      // Unread documents are most likely new: tried as inserts, and a stored one makes the
      // store fall back to the guarded replace.
      writes.push(
        pending.existed === true
          ? { op: 'upsert', document: pending.document, position: pending.position }
          : { op: 'upsert', document: pending.document, position: pending.position, expectNew: true },
      );
    } else if (pending.existed !== false) writes.push({ op: 'delete', id, position: pending.position });
  }
  return { writes, matched };
}

/**
 * The documents a batch touches, in first-touched order, decoding as needed (failures are left
 * for planBatch). `fresh`: those whose first event in the batch is one the projection `creates`;
 * their state follows from the batch alone, so they need not be read first.
 */
export function touchedDocuments(
  projection: Projection,
  events: readonly { recorded: () => RecordedEvent }[],
): { ids: string[]; fresh: Set<string> } {
  const ids = new Set<string>();
  const fresh = new Set<string>();
  const creates = projection.creates ?? [];
  for (const entry of events) {
    try {
      const recorded = entry.recorded();
      for (const id of projection.documentIds(recorded)) {
        if (ids.has(id)) continue;
        ids.add(id);
        if (creates.includes(recorded.type)) fresh.add(id);
      }
    } catch {
      // planBatch reports it with the event's index.
    }
  }
  return { ids: [...ids], fresh };
}
