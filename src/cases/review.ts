import Type, { type Static } from 'typebox';
import type { CaseStatus } from './events.ts';
import { type Parsed, schemaViolations, type Violation } from './validation.ts';

// The case's lifecycle as a table, like the document one (documents.ts): for each status, the
// actions that may happen and where each leads. The decider refuses anything else with
// `case.invalid_transition`, naming what is allowed.

/**
 * What moves a case. `documents_resolved`, `documents_outstanding` and `resubmit` follow from
 * document changes; the others are a person's command.
 */
export const CASE_ACTIONS = [
  'documents_resolved',
  'documents_outstanding',
  'assign',
  'approve',
  'reject',
  'request_information',
  'resubmit',
  'close',
  'reopen',
] as const;
export type CaseAction = (typeof CASE_ACTIONS)[number];

export type CaseTransition = { action: CaseAction; to: CaseStatus };

/**
 * - OPEN → PENDING_REVIEW once every document is resolved.
 * - PENDING_REVIEW → OPEN when a document is outstanding again; → IN_REVIEW when assigned.
 * - IN_REVIEW → reassigned (stays IN_REVIEW), APPROVED (after two approvals when HIGH risk),
 *   REJECTED, or MORE_INFORMATION_REQUESTED (named documents go back to AWAITING_UPLOAD).
 * - MORE_INFORMATION_REQUESTED → PENDING_REVIEW once every document is resolved again
 *   (resubmitted); → IN_REVIEW when assigned (e.g. only fields were asked for).
 * - Every status but CLOSED → CLOSED; CLOSED → reopened to OPEN, or PENDING_REVIEW when every
 *   document is resolved.
 */
export const CASE_TRANSITIONS: Readonly<Record<CaseStatus, readonly CaseTransition[]>> = {
  OPEN: [
    { action: 'documents_resolved', to: 'PENDING_REVIEW' },
    { action: 'close', to: 'CLOSED' },
  ],
  PENDING_REVIEW: [
    { action: 'documents_outstanding', to: 'OPEN' },
    { action: 'assign', to: 'IN_REVIEW' },
    { action: 'close', to: 'CLOSED' },
  ],
  IN_REVIEW: [
    { action: 'assign', to: 'IN_REVIEW' },
    { action: 'approve', to: 'APPROVED' },
    { action: 'reject', to: 'REJECTED' },
    { action: 'request_information', to: 'MORE_INFORMATION_REQUESTED' },
    { action: 'close', to: 'CLOSED' },
  ],
  MORE_INFORMATION_REQUESTED: [
    { action: 'resubmit', to: 'PENDING_REVIEW' },
    { action: 'assign', to: 'IN_REVIEW' },
    { action: 'close', to: 'CLOSED' },
  ],
  APPROVED: [{ action: 'close', to: 'CLOSED' }],
  REJECTED: [{ action: 'close', to: 'CLOSED' }],
  CLOSED: [
    { action: 'reopen', to: 'OPEN' },
    { action: 'reopen', to: 'PENDING_REVIEW' },
  ],
};

/** Statuses in which a manual risk override may still matter: before a final decision. */
export const RISK_OVERRIDE_STATUSES: readonly CaseStatus[] = [
  'OPEN',
  'PENDING_REVIEW',
  'IN_REVIEW',
  'MORE_INFORMATION_REQUESTED',
];

/** Statuses the review queue serves: waiting for a reviewer, or with one. */
export const AWAITING_REVIEW_STATUSES: readonly CaseStatus[] = ['PENDING_REVIEW', 'IN_REVIEW'];

export const canDo = (from: CaseStatus, action: CaseAction): boolean =>
  CASE_TRANSITIONS[from].some((transition) => transition.action === action);

/** The actions allowed from a status, each once, in table order. */
export const allowedActions = (from: CaseStatus): CaseAction[] => [
  ...new Set(CASE_TRANSITIONS[from].map((transition) => transition.action)),
];

/** The statuses reachable from a status, each once, in table order. */
export const allowedStatuses = (from: CaseStatus): CaseStatus[] => [
  ...new Set(CASE_TRANSITIONS[from].map((transition) => transition.to)),
];

// --- reason codes -------------------------------------------------------------------------------

/** What a reason code may justify: a decision, a closure or a reopening. */
export const REASON_ACTIONS = ['APPROVE', 'REJECT', 'REQUEST_INFORMATION', 'CLOSE', 'REOPEN'] as const;
export type ReasonAction = (typeof REASON_ACTIONS)[number];

const REASON_CODE = '^[A-Z][A-Z0-9_]{0,63}$';

export const ReasonCodesSchema = Type.Object(
  {
    $comment: Type.Optional(Type.String()),
    version: Type.Literal(1),
    codes: Type.Array(
      Type.Object(
        {
          code: Type.String({ pattern: REASON_CODE }),
          description: Type.String({ minLength: 1 }),
          actions: Type.Array(Type.Enum([...REASON_ACTIONS]), { minItems: 1 }),
          retired: Type.Optional(Type.Boolean({ description: 'Kept for history; no longer accepted' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type ReasonCodes = Static<typeof ReasonCodesSchema>;
export type ReasonCode = ReasonCodes['codes'][number];

/** Checks the reason codes file (decoded JSON): schema, and unique codes. */
export function parseReasonCodes(json: unknown): Parsed<ReasonCodes> {
  const violations: Violation[] = schemaViolations(ReasonCodesSchema, json);
  if (violations.length > 0) return { ok: false, violations };
  const parsed = json as ReasonCodes;
  const seen = new Set<string>();
  parsed.codes.forEach((entry, i) => {
    if (seen.has(entry.code))
      violations.push({ path: `/codes/${i}/code`, message: `duplicate code ${entry.code}` });
    seen.add(entry.code);
  });
  return violations.length > 0 ? { ok: false, violations } : { ok: true, value: parsed };
}

/** The codes given that the list does not accept for this action (unknown, retired, or for another action). */
export function unacceptedReasonCodes(
  codes: ReasonCodes,
  action: ReasonAction,
  given: readonly string[],
): string[] {
  return given.filter((code) => {
    const entry = codes.codes.find((candidate) => candidate.code === code);
    return entry === undefined || entry.retired === true || !entry.actions.includes(action);
  });
}

/** Codes accepted for an action, for error messages and the console. */
export const reasonCodesFor = (codes: ReasonCodes, action: ReasonAction): string[] =>
  codes.codes.filter((entry) => entry.retired !== true && entry.actions.includes(action)).map((e) => e.code);
