/**
 * Turns a namespace and parts into a stable id: the same parts always give the same id, and
 * different parts practically never collide. The domain only needs this contract; the adapter
 * supplies the hashing (e.g. a name-based UUID over the joined parts), keeping this code pure.
 */
export type IdDeriver = (...parts: string[]) => string;

// Every id of a case hangs off the intake's idempotency key, so replaying or re-sending an intake
// lands on the same stream with the same ids, and the decider can see it has nothing to do.

export const caseIdFor = (ids: IdDeriver, idempotencyKey: string): string => ids('case', idempotencyKey);
export const companyIdFor = (ids: IdDeriver, caseId: string): string => ids('company', caseId);
/** Persons and owners are numbered by their position in the intake. */
export const personIdFor = (ids: IdDeriver, caseId: string, index: number): string =>
  ids('person', caseId, String(index));
export const beneficialOwnerIdFor = (ids: IdDeriver, caseId: string, index: number): string =>
  ids('beneficial-owner', caseId, String(index));
/** One requirement per entity and document type: determining it again finds the same id. */
export const documentRequirementIdFor = (
  ids: IdDeriver,
  caseId: string,
  entityId: string,
  documentType: string,
): string => ids('document-requirement', caseId, entityId, documentType);
/** Notifications are numbered within their case. */
export const notificationIdFor = (ids: IdDeriver, caseId: string, sequence: number): string =>
  ids('notification', caseId, String(sequence));
/** A fingerprint of the normalised intake, to tell a true re-send from a reused key. */
export const intakeFingerprintFor = (ids: IdDeriver, intake: unknown): string =>
  ids('intake', canonicalJson(intake));

export const CASE_STREAM_PREFIX = 'case-';
export const INTAKE_STREAM_PREFIX = 'intake-';
export const caseStreamName = (caseId: string): string => `${CASE_STREAM_PREFIX}${caseId}`;
export const intakeStreamName = (receiptId: string): string => `${INTAKE_STREAM_PREFIX}${receiptId}`;

/** JSON with object keys sorted, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}
