import type { CaseStatus } from '../events.ts';
import type { RuleMatchContext } from '../notifications.ts';

/**
 * The ports of the case application: what its callers (the HTTP routes, the Kafka bridge) may ask
 * of it, and what it needs from outside (the configuration service). The application owns them;
 * adapters implement or call them and never see each other.
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

// --- the Kafka bridge's intake ----------------------------------------------------------------

export type Violation = { path: string; message: string };

/** Where an intake came from, for the audit trail and the dead-letter headers. */
export type IntakeSource = {
  topic: string;
  partition: number;
  offset: string;
  /** The record's timestamp (ms since the epoch, as Kafka stores it). */
  timestamp: string;
  key: string | undefined;
};

export type IntakeContext = {
  idempotencyKey: string;
  correlationId: string;
  actor: string;
  traceparent?: string;
  source: IntakeSource;
};

export type Rejection = { code: string; reason: string; violations: Violation[]; raw: string };

/** What the bridge needs from the case service: validate, open, and record what was refused. */
export type IntakePort = {
  validate(value: unknown): { ok: true; intake: unknown } | { ok: false; violations: Violation[] };
  open(intake: unknown, context: IntakeContext): Promise<unknown>;
  recordRejected(rejection: Rejection, context: IntakeContext): Promise<void>;
};

// --- the configuration service ------------------------------------------------------------------

/** The external configuration service that decides which notification rule applies to a trigger. */
export type NotificationRulesSource = {
  match(
    trigger: string,
    context: RuleMatchContext,
  ): Promise<{ outcome: 'answered'; rules: unknown } | { outcome: 'failed'; reason: string }>;
};
