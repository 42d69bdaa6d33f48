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

/**
 * A projection built by {@link defineProjection}: typed for the runtime, and carrying its
 * document and event types (never a value) for tools and tests that want them back.
 */
export type DefinedProjection<Doc extends ReadDocument, E extends DomainEvent> = Projection & {
  readonly types?: { document: Doc; event: E };
};

/** The ids of the documents an event touches: one, several, or none (an empty list). */
type DocumentIds<E extends DomainEvent> = (event: RecordedEvent<E>) => string | readonly string[];

/** How one event type changes a projection's documents. */
export type EventHandler<Doc extends ReadDocument, E extends DomainEvent> = {
  /** The documents it touches; defaults to the projection's `id`. */
  id?: DocumentIds<E>;
} & (
  | {
      /** Starts the document afresh: the stored one, if any, is not read and not consulted. */
      create: (event: RecordedEvent<E>, documentId: string) => Doc;
      update?: never;
    }
  | {
      /**
       * Changes an existing document; null deletes it. Not called for a document this read
       * model does not hold (an event whose creating event it never saw leaves nothing).
       */
      update: (current: Doc, event: RecordedEvent<E>, documentId: string) => Doc | null;
      create?: never;
    }
);

/** A projection as a map from event type to its handler, with what the runtime needs beside. */
export type ProjectionDefinition<Doc extends ReadDocument, E extends DomainEvent> = {
  name: string;
  version: number;
  collection: string;
  /** The documents an event touches, for handlers that do not say. */
  id?: DocumentIds<E>;
  on: { readonly [T in E['type']]?: EventHandler<Doc, Extract<E, { type: T }>> };
};

/**
 * Builds a projection from a handler map: what it handles is the map's keys, what creates
 * documents is the handlers with `create`, and `evolve` dispatches on the event type. The result
 * is typed for the runtime (any event, any document), so projections of different shapes go in
 * one list without casts; the types of each handler are checked here, against `E` and `Doc`.
 * Throws when a handler has no way to find its documents.
 */
export function defineProjection<E extends DomainEvent, Doc extends ReadDocument>(
  definition: ProjectionDefinition<Doc, E>,
): DefinedProjection<Doc, E> {
  type AnyHandler = EventHandler<Doc, E>;
  const handlers = new Map<string, AnyHandler>(
    Object.entries(definition.on as Record<string, AnyHandler | undefined>).flatMap(
      ([type, handler]): [string, AnyHandler][] => (handler === undefined ? [] : [[type, handler]]),
    ),
  );
  for (const [type, handler] of handlers) {
    if (handler.id === undefined && definition.id === undefined) {
      throw new Error(
        `projection ${definition.name}: the handler of ${type} has no id and the projection none`,
      );
    }
  }
  const handlerOf = (type: string): AnyHandler => {
    const handler = handlers.get(type);
    if (handler === undefined) throw new Error(`projection ${definition.name} does not handle ${type}`);
    return handler;
  };
  return {
    name: definition.name,
    version: definition.version,
    collection: definition.collection,
    handles: [...handlers.keys()],
    creates: [...handlers].filter(([, handler]) => handler.create !== undefined).map(([type]) => type),
    documentIds(event) {
      const ids = (handlerOf(event.type).id ?? definition.id)!(event as RecordedEvent<E>);
      return typeof ids === 'string' ? [ids] : ids;
    },
    evolve(current, event, documentId) {
      const handler = handlerOf(event.type);
      const typed = event as RecordedEvent<E>;
      if (handler.create !== undefined) return handler.create(typed, documentId);
      return current === null ? null : handler.update(current as Doc, typed, documentId);
    },
  };
}
