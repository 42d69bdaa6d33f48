/** A processor as operators see it: status, lag and failures; JSON-ready (positions as strings). */
export type ProcessorReport = Record<string, unknown> & { name: string; kind: string; state: string };

/** What an operator's request did to a processor, or why it could not. */
export type ProcessorAction<T> =
  | ({ outcome: 'done' } & T)
  | { outcome: 'not_found'; known: string[] }
  | { outcome: 'refused'; code: string; reason: string };

/**
 * Operations an admin may run: every processor (projectors and reactors) by name, the read models
 * as a whole (the older `projections` view), parked notifications and dead letters.
 */
export type Operations = {
  /** Every processor of this replica, in registration order. */
  processors(): Promise<ProcessorReport[]>;
  processor(name: string): Promise<ProcessorAction<{ report: ProcessorReport }>>;
  /** Try the processor's failed events again (a reactor replays what it parked). */
  retryProcessor(name: string): Promise<ProcessorAction<{ events: string[] }>>;
  /** Pass over one failed event of the processor for good, recording who and why. */
  skipProcessorEvent(
    name: string,
    eventId: string,
    decision: { reason: string; operator: string },
  ): Promise<ProcessorAction<{ skipped: string }>>;
  /** Start a rebuild of the processor's read models; progress shows in its status. */
  rebuildProcessor(name: string): ProcessorAction<{ rebuilding: string }>;
  /** The read-model projectors as one, with lag; JSON-ready (positions as strings). */
  projections(): Promise<Record<string, unknown>>;
  /** Try the event that stopped the projector again; false when no projector runs in this replica. */
  retryProjections(): boolean;
  /** Skip the event that stopped the projector, recording who and why; false as for retry. */
  skipEvent(eventId: string, decision: { reason: string; operator: string }): Promise<boolean>;
  /** Start a rebuild of one projection; progress shows in `projections()`. */
  startRebuild(projection: string): { started: boolean; reason?: string };
  /** Parked notifications, or undefined when the Kafka bridge is off. */
  parked(limit: number): Promise<Record<string, unknown>[] | undefined>;
  /** Sends parked notifications back to the publisher; false when the Kafka bridge is off. */
  replayParked(stopAt?: number): Promise<boolean>;
  /** Intake messages on the dead-letter topic (oldest first), or undefined when the bridge is off. */
  deadLetters(limit: number): Promise<{ total: number; letters: Record<string, unknown>[] } | undefined>;
};

/** A read that returned personal data, as the route saw it. */
export type PersonalDataAccess = {
  caseId: string;
  /** The caller's API key name. */
  reader: string;
  /** Method and route template, e.g. `GET /api/v1/persons/case/:case_id`. */
  route: string;
  subjects: { type: 'PERSON' | 'BENEFICIAL_OWNER' | 'COMPANY' | 'CASE'; id: string }[];
  correlationId: string;
};

/** Where routes report reads of personal data. `record` never waits and never throws. */
export type AccessLog = { record(access: PersonalDataAccess): void };
