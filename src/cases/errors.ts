/**
 * Stable codes of the case domain's DomainErrors. Adapters map them (HTTP status, DLQ reason);
 * messages may change, codes may not.
 */
export const CaseErrorCodes = {
  /** The stream already holds a case opened from another idempotency key. */
  CaseAlreadyExists: 'case.already_exists',
  CaseNotFound: 'case.not_found',
  /** The idempotency key was used before with a different intake. */
  IdempotencyKeyReused: 'intake.idempotency_key_reused',
  /** The intake breaks a rule validateIntake enforces (the command bypassed it). */
  IntakeInvalid: 'intake.invalid',
  EntityNotFound: 'entity.not_found',
  /** traitement_type or case_type sent with a determination differ from the case's. */
  RequirementsContextMismatch: 'requirements.context_mismatch',
  DocumentNotFound: 'document.not_found',
  DocumentUnknownStatus: 'document.unknown_status',
  DocumentInvalidTransition: 'document.invalid_transition',
  /** The document changed since the version the caller saw (its ETag, sent back as If-Match). */
  DocumentVersionMismatch: 'document.version_mismatch',
  /** The case's status does not allow this action (CASE_TRANSITIONS); details name what is allowed. */
  CaseInvalidTransition: 'case.invalid_transition',
  /** A reason code is missing, unknown, retired, or not meant for this action. */
  ReasonCodeInvalid: 'review.reason_code_invalid',
  DecisionUnknown: 'review.unknown_decision',
  /** REQUEST_INFORMATION named neither a document nor a field. */
  InformationUnspecified: 'review.information_unspecified',
  /** REQUEST_INFORMATION named a document requirement the case does not have. */
  RequestedDocumentNotFound: 'review.requested_document_not_found',
  /** APPROVE while a document is not resolved. */
  DocumentsOutstanding: 'review.documents_outstanding',
  /** Four eyes: this person already approved the case in this review. */
  AlreadyApproved: 'review.already_approved',
  /** Four eyes: the approver set the risk override that is in effect. */
  OwnOverride: 'review.own_override',
  RiskUnknownRating: 'risk.unknown_rating',
} as const;

export type CaseErrorCode = (typeof CaseErrorCodes)[keyof typeof CaseErrorCodes];
