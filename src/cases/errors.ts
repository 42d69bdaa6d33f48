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
} as const;

export type CaseErrorCode = (typeof CaseErrorCodes)[keyof typeof CaseErrorCodes];
