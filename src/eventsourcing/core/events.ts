/** Metadata carried by every event we write: enough to explain it to an auditor and to trace it. */
export type EventMetadata = {
  correlationId: string;
  causationId: string;
  /** W3C trace context of the operation that wrote the event, when there was one. */
  traceparent?: string;
  /** Idempotency key of the command that caused the event. */
  idempotencyKey: string;
  actor: string;
  /** Schema version of the event's data. */
  schemaVersion: number;
};

/** An event as the domain sees it: a type tag and its data. */
export type DomainEvent<Type extends string = string, Data = unknown> = {
  type: Type;
  data: Data;
};

/** A position in `$all`. Ordered by commit then prepare; bigint because the server's are 64-bit. */
export type AllPosition = { commit: bigint; prepare: bigint };

/** An event read back from the store, with where it sits. */
export type RecordedEvent<E extends DomainEvent = DomainEvent> = E & {
  id: string;
  streamId: string;
  revision: bigint;
  position: AllPosition;
  created: Date;
  metadata: EventMetadata;
};
