// The case domain's public surface. Everything here is pure: no I/O, no clock, no randomness.

export * from './access.ts';
export type {
  AssignCase,
  CaseCommand,
  ChangeDocumentStatus,
  CloseCase,
  DetermineRequirements,
  OpenCase,
  OverrideRisk,
  RecordDecision,
  ReopenCase,
} from './commands.ts';
export { type CountryCode, ISO_COUNTRY_CODES } from './countries.ts';
export {
  type CaseDecider,
  type CaseDeciderDependencies,
  type CaseState,
  createCaseDecider,
  effectiveRisk,
  evolveCase,
  initialCaseState,
  type OpenedCase,
  type RequirementState,
} from './decider.ts';
export {
  allowedTransitions,
  canRequestAgain,
  canTransition,
  DOCUMENT_STATUSES,
  DOCUMENT_TRANSITIONS,
  type DocumentStatus,
  ENTITY_TYPES,
  type EntityType,
  isDocumentStatus,
  isResolved,
  RESOLVED_STATUSES,
} from './documents.ts';
export { type CaseErrorCode, CaseErrorCodes } from './errors.ts';
export * from './events.ts';
export * from './ids.ts';
export * from './intake.ts';
export * from './intake-audit.ts';
export { INPUT_LIMITS, type InputLimits, inputLimitViolations } from './limits.ts';
export * from './notifications.ts';
export * from './personal-data.ts';
export * from './requirements.ts';
export * from './retention.ts';
export * from './review.ts';
export * from './risk.ts';
export type { Parsed, Violation } from './validation.ts';
