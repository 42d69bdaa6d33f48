export const DOCUMENT_STATUSES = [
  'AWAITING_UPLOAD',
  'UPLOADED',
  'VERIFIED_SYSTEM',
  'VERIFIED_MANUAL',
  'REJECTED',
  'NOT_APPLICABLE',
] as const;

export type DocumentStatus = (typeof DOCUMENT_STATUSES)[number];

export const ENTITY_TYPES = ['PERSON', 'COMPANY', 'BENEFICIAL_OWNER'] as const;
export type EntityType = (typeof ENTITY_TYPES)[number];

/**
 * Where a document requirement may go from each status. Setting the current status again is not
 * a transition (the decider treats it as a no-op), so no status lists itself.
 * - AWAITING_UPLOAD → UPLOADED when a file arrives, or NOT_APPLICABLE when waived.
 * - UPLOADED → checked by a machine (VERIFIED_SYSTEM) or a person (VERIFIED_MANUAL), or REJECTED.
 * - VERIFIED_SYSTEM → a reviewer may confirm it (VERIFIED_MANUAL) or overturn it (REJECTED).
 * - VERIFIED_MANUAL is final: a person's verification is not reopened.
 * - REJECTED → UPLOADED when a new file arrives, or NOT_APPLICABLE when waived.
 * - NOT_APPLICABLE → AWAITING_UPLOAD when a waiver was a mistake.
 */
export const DOCUMENT_TRANSITIONS: Readonly<Record<DocumentStatus, readonly DocumentStatus[]>> = {
  AWAITING_UPLOAD: ['UPLOADED', 'NOT_APPLICABLE'],
  UPLOADED: ['VERIFIED_SYSTEM', 'VERIFIED_MANUAL', 'REJECTED'],
  VERIFIED_SYSTEM: ['VERIFIED_MANUAL', 'REJECTED'],
  VERIFIED_MANUAL: [],
  REJECTED: ['UPLOADED', 'NOT_APPLICABLE'],
  NOT_APPLICABLE: ['AWAITING_UPLOAD'],
};

/**
 * The one move outside the table: a reviewer's request for more information sends a named
 * document back to AWAITING_UPLOAD from any other status, VERIFIED_MANUAL included, because the
 * person reviewing the case decides the document no longer suffices. Only RecordDecision takes it.
 */
export const canRequestAgain = (from: DocumentStatus): boolean => from !== 'AWAITING_UPLOAD';

/** Statuses that no longer hold a case back from review. */
export const RESOLVED_STATUSES: readonly DocumentStatus[] = [
  'VERIFIED_SYSTEM',
  'VERIFIED_MANUAL',
  'NOT_APPLICABLE',
];

export const isDocumentStatus = (value: string): value is DocumentStatus =>
  (DOCUMENT_STATUSES as readonly string[]).includes(value);

export const allowedTransitions = (from: DocumentStatus): readonly DocumentStatus[] =>
  DOCUMENT_TRANSITIONS[from];

export const canTransition = (from: DocumentStatus, to: DocumentStatus): boolean =>
  DOCUMENT_TRANSITIONS[from].includes(to);

export const isResolved = (status: DocumentStatus): boolean => RESOLVED_STATUSES.includes(status);
