import type { DocumentStatus, EntityType } from './documents.ts';
import type { Actor, Decision, RiskRating } from './events.ts';
import type { Intake } from './intake.ts';
import type { NotificationResolutions } from './notifications.ts';

// Commands carry everything that varies: the time (`at`, ISO-8601) and who asks (`actor`) come
// from the handler, and so do notification rule decisions (`notifications`), resolved before
// deciding. Ids are derived inside the decider from the idempotency key with the injected IdDeriver.

/** Open a case from a validated intake (see validateIntake). */
export type OpenCase = {
  type: 'OpenCase';
  data: {
    /** Same key, same case: the stream is `case-<caseIdFor(ids, key)>`. */
    idempotency_key: string;
    intake: Intake;
    at: string;
    actor: Actor;
    /** Rule decisions for the triggers this command raises; missing ones use the bundled rules. */
    notifications?: NotificationResolutions;
  };
};

/** Determine the documents one entity of a case needs (the older service's endpoint). */
export type DetermineRequirements = {
  type: 'DetermineRequirements';
  data: {
    case_id: string;
    entity_id: string;
    entity_type: EntityType;
    /** Optional, as sent by older clients: must match the case when present. */
    traitement_type?: string;
    case_type?: string;
    at: string;
    actor: Actor;
    notifications?: NotificationResolutions;
  };
};

/** Move a document requirement to another status, with notes and metadata. */
export type ChangeDocumentStatus = {
  type: 'ChangeDocumentStatus';
  data: {
    case_id: string;
    document_requirement_id: string;
    /** Typed loosely on purpose: the decider rejects unknown values with a stable code. */
    new_status: DocumentStatus | (string & {});
    actor: Actor;
    notes_to_add?: readonly string[];
    metadata_changes?: Readonly<Record<string, unknown>> | null;
    /** Change only if the document is still at this version (1 when required, +1 per change). */
    expected_version?: number;
    at: string;
    notifications?: NotificationResolutions;
  };
};

/** Give the case to a reviewer: from PENDING_REVIEW (or MORE_INFORMATION_REQUESTED) it goes IN_REVIEW. */
export type AssignCase = {
  type: 'AssignCase';
  data: {
    case_id: string;
    assignee: string;
    actor: Actor;
    at: string;
    notifications?: NotificationResolutions;
  };
};

/** Approve, reject or ask for more information; only IN_REVIEW. */
export type RecordDecision = {
  type: 'RecordDecision';
  data: {
    case_id: string;
    /** Typed loosely on purpose: the decider rejects unknown values with a stable code. */
    decision: Decision | (string & {});
    reason_codes: readonly string[];
    comment: string | null;
    requested_documents: readonly string[];
    requested_fields: readonly string[];
    actor: Actor;
    at: string;
    notifications?: NotificationResolutions;
  };
};

/** Close a case in any status but CLOSED, with a reason code. */
export type CloseCase = {
  type: 'CloseCase';
  data: {
    case_id: string;
    reason_code: string;
    comment: string | null;
    actor: Actor;
    at: string;
    notifications?: NotificationResolutions;
  };
};

/** Reopen a CLOSED case, with a reason code. */
export type ReopenCase = {
  type: 'ReopenCase';
  data: {
    case_id: string;
    reason_code: string;
    comment: string | null;
    actor: Actor;
    at: string;
    notifications?: NotificationResolutions;
  };
};

/** Set the effective risk rating by hand, beside the computed one. */
export type OverrideRisk = {
  type: 'OverrideRisk';
  data: {
    case_id: string;
    rating: RiskRating | (string & {});
    reason: string;
    actor: Actor;
    at: string;
    notifications?: NotificationResolutions;
  };
};

export type CaseCommand =
  | OpenCase
  | DetermineRequirements
  | ChangeDocumentStatus
  | AssignCase
  | RecordDecision
  | CloseCase
  | ReopenCase
  | OverrideRisk;
