import type { CaseStatus } from '../cases/events.ts';

/**
 * What the HTTP layer needs from the rest of the service, and nothing more. The composition root
 * implements these over the command handlers and the read store; routes never see a driver.
 */

/** Who asked and under which keys; every event a command writes carries this. */
export type CommandContext = {
  idempotencyKey: string;
  actor: string;
  correlationId: string;
  traceparent?: string;
};

/** Where a command's events landed: `position` is the consistency token queries accept back. */
export type CommandReceipt = { position: string; revision: string };

export type DocumentStatusChange = {
  new_status: string;
  updated_by_actor_type?: string;
  updated_by_actor_id?: string;
  metadata_changes?: Record<string, unknown>;
  notes_to_add?: string[];
};

export type RequirementRequest = {
  case_id: string;
  entity_id: string;
  entity_type: string;
  traitement_type?: string;
  case_type?: string;
  context_data?: Record<string, unknown>;
};

/** An intake the HTTP edge refused before it could be read as JSON (or within the input limits). */
export type RefusedIntake = {
  /** The body as received (the start of it, valid UTF-8), or null when none was read. */
  raw_text: string | null;
  error_code: string;
  violations: { path: string; message: string }[];
};

/** A review command's answer: where its events landed, and the case's status after it. */
export type ReviewReceipt = CommandReceipt & {
  case_id: string;
  status: CaseStatus;
  /** False when the command changed nothing (the same request again). */
  changed: boolean;
};

export type DecisionRequest = {
  decision: string;
  reason_codes: string[];
  comment?: string;
  requested_documents?: string[];
  requested_fields?: string[];
};

export type ReasonRequest = { reason_code: string; comment?: string };

/** The review lifecycle (src/cases/review.ts); each answers 409 `case.invalid_transition` when not allowed. */
export type ReviewCommands = {
  assignCase(caseId: string, assignee: string, context: CommandContext): Promise<ReviewReceipt>;
  recordDecision(caseId: string, decision: DecisionRequest, context: CommandContext): Promise<ReviewReceipt>;
  closeCase(caseId: string, request: ReasonRequest, context: CommandContext): Promise<ReviewReceipt>;
  reopenCase(caseId: string, request: ReasonRequest, context: CommandContext): Promise<ReviewReceipt>;
  overrideRisk(
    caseId: string,
    override: { rating: string; reason: string },
    context: CommandContext,
  ): Promise<ReviewReceipt>;
};

/** Filters of the review queue; all optional. */
export type ReviewQueueFilter = { assignee?: string; risk?: string; status?: string };

export type ReviewQueries = {
  /** Cases awaiting review (PENDING_REVIEW, IN_REVIEW), the longest waiting first. */
  reviewQueue(filter: ReviewQueueFilter, page: Page): Promise<Paged>;
};

export type CaseCommands = {
  /** Opens a case from a validated intake; the same idempotency key gives the same case. */
  openCase(intake: unknown, context: CommandContext): Promise<CommandReceipt & { case_id: string }>;
  determineRequirements(
    request: RequirementRequest,
    context: CommandContext,
  ): Promise<CommandReceipt & { requirement_ids: string[] }>;
  /**
   * `expectedVersion` (If-Match) is the document's `version` the caller saw; a document changed
   * since is `document.version_mismatch`.
   */
  changeDocumentStatus(
    documentId: string,
    change: DocumentStatusChange,
    context: CommandContext & { expectedVersion?: number },
  ): Promise<CommandReceipt>;
  /**
   * Part of a case's history as stored, oldest first: at most `limit` events from revision
   * `fromRevision` on, and how many events the stream holds. Undefined when the case does not exist.
   */
  caseEvents(caseId: string, range: EventRange): Promise<EventPage | undefined>;
  /** Records an intake refused at the HTTP edge in the raw intake audit (outcome `rejected`). */
  recordRefusedIntake(refusal: RefusedIntake, context: CommandContext): Promise<void>;
};

export type Page = { limit: number; skip: number };
export type Doc = Record<string, unknown> & { id: string };
/** One page of a list and the size of the whole list, for `X-Total-Count` and `Link`. */
export type Paged<T = Doc> = { items: T[]; total: number };
export type EventRange = { fromRevision: number; limit: number };
export type EventPage = Paged<Record<string, unknown>>;

export type CaseQueries = {
  /** Resolves true once every read model has applied `position`, false after `timeoutMs`. */
  waitForPosition(position: string, timeoutMs: number): Promise<boolean>;
  listCases(filter: Record<string, string>, page: Page): Promise<Paged>;
  getCase(caseId: string): Promise<Doc | undefined>;
  personsOfCase(caseId: string, page: Page): Promise<Paged>;
  getCompany(companyId: string): Promise<Doc | undefined>;
  ownersOfCompany(companyId: string, page: Page): Promise<Paged>;
  getDocument(documentId: string): Promise<Doc | undefined>;
  documentsOfCase(caseId: string, filter: Record<string, string | boolean>, page: Page): Promise<Paged>;
  rawIntake(page: Page): Promise<Paged>;
  /** The case's timeline, oldest first; `category` narrows it to one kind of entry. */
  timelineOfCase(caseId: string, filter: { category?: string }, page: Page): Promise<Paged>;
};

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
