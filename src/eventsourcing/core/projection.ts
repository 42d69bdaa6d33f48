import type { DomainEvent, RecordedEvent } from './events.ts';

/** A read-model document: an id plus plain JSON-compatible fields. */
export type ReadDocument = { id: string } & Record<string, unknown>;

/**
 * A projection is a pure definition: which events it handles, which documents an event touches,
 * and how a document evolves. The runtime stores the `$all` position each document was built
 * from and never applies an event at or before it, so replays and duplicates are no-ops.
 */
export type Projection<Doc extends ReadDocument = ReadDocument, E extends DomainEvent = DomainEvent> = {
  /** Stable name; also the checkpoint key. */
  name: string;
  /** Bump when evolve changes meaning: the runtime then rebuilds the read model. */
  version: number;
  /** Collection the documents live in. */
  collection: string;
  /** Event types this projection reads; others are never passed to it. */
  handles: readonly E['type'][];
  /**
   * Events that start their documents afresh: `evolve` ignores the current document for them.
   * A document whose first event in a batch is one of these is not read from the store before
   * the batch is applied (its write is position-guarded all the same), which spares a read per
   * new document, and on servers without an index for `$in` (FerretDB 1.x) a collection scan.
   */
  creates?: readonly E['type'][];
  /** Ids of the documents this event touches (none when it touches nothing). */
  documentIds(event: RecordedEvent<E>): readonly string[];
  /** The document after the event, or null to delete it. */
  evolve(current: Doc | null, event: RecordedEvent<E>, documentId: string): Doc | null;
};
