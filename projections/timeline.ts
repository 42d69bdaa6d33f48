import type { PersonalDataRead } from '../src/cases/access.ts';
import type { CaseDecisionRecordedData, CaseEvent } from '../src/cases/events.ts';
import type { RecordedEvent } from '../src/eventsourcing/core/events.ts';
import { defineProjection, type EventHandler } from '../src/eventsourcing/core/projection.ts';

/** What a timeline entry is about, for filtering and for the console. */
export const TIMELINE_CATEGORIES = [
  'intake',
  'party',
  'document',
  'status',
  'assignment',
  'risk',
  'decision',
  'notification',
  'access',
] as const;
export type TimelineCategory = (typeof TIMELINE_CATEGORIES)[number];

/**
 * The `case_timeline` collection: one document per event of a case (its `case-` stream and its
 * `access-` stream of personal-data reads), keyed by the event's id, so a replay or a duplicate
 * delivery rewrites the same document. Entries name people by id only: the timeline itself holds
 * no personal data, so reading it is not a personal-data read.
 */
export type TimelineEntry = {
  id: string;
  case_id: string;
  /** When it happened, as the event records it. */
  at: string;
  /** The event's place in `$all` (zero-padded), to order entries written in the same instant. */
  sequence: string;
  stream: string;
  revision: number;
  event_type: string;
  category: TimelineCategory;
  /** Who: the actor the event names, else the caller recorded in its metadata (type COMMAND). */
  actor: { type: string; id: string | null };
  /** What it changed, when it is not the case itself. */
  subject: { type: string; id: string } | null;
  summary: string;
  /** The changed fields before and after; null when the entry creates or only records something. */
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** Why: reason codes, free text, and the rule or trigger that led to it. */
  reason_codes: string[];
  comment: string | null;
  why: string | null;
};

/** The part of an entry each event type describes; the rest comes from the recorded event. */
export type Description = {
  category: TimelineCategory;
  summary: string;
  actor?: { type: string; id: string | null };
  subject?: { type: string; id: string } | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  reason_codes?: string[];
  comment?: string | null;
  why?: string | null;
};

type Handled = CaseEvent | PersonalDataRead;
type Describers = {
  [T in Handled['type']]: (event: RecordedEvent<Extract<Handled, { type: T }>>) => Description;
};

/** How each event type reads in the timeline: a pure function of the event, nothing else. */
export const describeEvent: Describers = {
  CaseOpened: ({ data }) => ({
    category: 'intake',
    summary: `${data.traitement_type} case opened (${data.case_type}) for client ${data.client_id}`,
    actor: data.opened_by,
    after: { status: 'OPEN', traitement_type: data.traitement_type, case_type: data.case_type },
    why:
      data.intake_warnings.length === 0
        ? `intake ${data.idempotency_key}`
        : `intake ${data.idempotency_key}; warnings: ${data.intake_warnings.map((w) => w.code).join(', ')}`,
  }),
  CompanyRegistered: ({ data }) => ({
    category: 'party',
    summary: `Company registered (${data.country_of_incorporation})`,
    subject: { type: 'COMPANY', id: data.company_id },
    why: 'intake',
  }),
  PersonAdded: ({ data }) => ({
    category: 'party',
    summary: data.role_in_company === null ? 'Person added' : `Person added (${data.role_in_company})`,
    subject: { type: 'PERSON', id: data.person_id },
    why: 'intake',
  }),
  BeneficialOwnerAdded: ({ data }) => ({
    category: 'party',
    summary:
      data.ownership_percentage === null
        ? 'Beneficial owner added'
        : `Beneficial owner added (${data.ownership_percentage}%${data.is_ubo ? ', UBO' : ''})`,
    subject: { type: 'BENEFICIAL_OWNER', id: data.beneficial_owner_id },
    why: 'intake',
  }),
  DocumentRequired: ({ data }) => ({
    category: 'document',
    summary: `${data.document_type} required for ${data.entity_type.toLowerCase()}`,
    actor: data.required_by,
    subject: { type: 'DOCUMENT', id: data.document_requirement_id },
    after: { status: data.status },
    reason_codes: [...data.rule_ids],
    why: `rules ${data.rule_ids.join(', ')}`,
  }),
  DocumentStatusChanged: ({ data }) => ({
    category: 'document',
    summary: `${data.document_type}: ${data.old_status} → ${data.new_status}`,
    actor: data.actor,
    subject: { type: 'DOCUMENT', id: data.document_requirement_id },
    before: { status: data.old_status },
    after: { status: data.new_status },
    comment: data.notes_added.length === 0 ? null : data.notes_added.join('\n'),
  }),
  CaseStatusChanged: ({ data }) => ({
    category: 'status',
    summary: `Case ${data.old_status} → ${data.new_status}`,
    before: { status: data.old_status },
    after: { status: data.new_status },
    reason_codes: [data.reason],
    why: data.reason,
  }),
  NotificationRequired: ({ data }) => ({
    category: 'notification',
    summary: `Notification ${data.notification_type} on ${data.event_trigger}`,
    actor: { type: 'SYSTEM', id: null },
    subject: { type: 'NOTIFICATION', id: data.notification_id },
    why: `rule ${data.rule_id} (${data.rule_source}${data.fallback_reason === null ? '' : `: ${data.fallback_reason}`})`,
  }),
  CaseAssigned: ({ data }) => ({
    category: 'assignment',
    summary:
      data.previous_assignee === null
        ? `Assigned to ${data.assignee}`
        : `Reassigned from ${data.previous_assignee} to ${data.assignee}`,
    actor: data.actor,
    before: { assignee: data.previous_assignee },
    after: { assignee: data.assignee },
  }),
  CaseDecisionRecorded: ({ data }) => ({
    category: 'decision',
    summary: decisionSummary(data),
    actor: data.actor,
    after: {
      decision: data.decision,
      ...(data.decision === 'APPROVE'
        ? { approvals_so_far: data.approvals_so_far, approvals_needed: data.approvals_needed }
        : {}),
      ...(data.decision === 'REQUEST_INFORMATION'
        ? { requested_documents: data.requested_documents, requested_fields: data.requested_fields }
        : {}),
    },
    reason_codes: [...data.reason_codes],
    comment: data.comment,
  }),
  CaseClosed: ({ data }) => ({
    category: 'status',
    summary: 'Case closed',
    actor: data.actor,
    reason_codes: [data.reason_code],
    comment: data.comment,
  }),
  CaseReopened: ({ data }) => ({
    category: 'status',
    summary: 'Case reopened',
    actor: data.actor,
    reason_codes: [data.reason_code],
    comment: data.comment,
  }),
  RiskRated: ({ data }) => ({
    category: 'risk',
    summary: `Risk rated ${data.rating} (score ${data.score})`,
    actor: { type: 'SYSTEM', id: null },
    after: { rating: data.rating, score: data.score },
    reason_codes: data.factors.map((factor) => factor.factor),
    why: `rules ${data.rules_version}, ${data.trigger}: ${data.factors.map((f) => `${f.factor} ${f.input} +${f.points}`).join(', ') || 'no factor'}`,
  }),
  RiskOverridden: ({ data }) => ({
    category: 'risk',
    summary: `Risk overridden to ${data.rating}`,
    actor: data.actor,
    before: { rating: data.computed_rating },
    after: { rating: data.rating },
    comment: data.reason,
  }),
  PersonalDataRead: ({ data }) => ({
    category: 'access',
    summary: `Personal data read: ${subjectCounts(data.subjects)}`,
    actor: data.reader,
    why: data.route,
  }),
};

function decisionSummary(data: CaseDecisionRecordedData): string {
  switch (data.decision) {
    case 'APPROVE':
      return data.approvals_needed > 1
        ? `Approved (${data.approvals_so_far} of ${data.approvals_needed} approvals)`
        : 'Approved';
    case 'REJECT':
      return 'Rejected';
    case 'REQUEST_INFORMATION': {
      const asked = data.requested_documents.length + data.requested_fields.length;
      return `More information requested (${asked} item${asked === 1 ? '' : 's'})`;
    }
  }
}

function subjectCounts(subjects: readonly { type: string }[]): string {
  if (subjects.length === 0) return 'no subjects';
  const counts = new Map<string, number>();
  for (const { type } of subjects) counts.set(type, (counts.get(type) ?? 0) + 1);
  return [...counts].map(([type, count]) => `${count} ${type.toLowerCase().replaceAll('_', ' ')}`).join(', ');
}

/** Digits of the largest 64-bit position: padded, positions sort as text in the read store. */
const SEQUENCE_DIGITS = 20;

/** The timeline entry of a recorded event. */
export function timelineEntry<E extends Handled>(
  event: RecordedEvent<E>,
  describe: (event: RecordedEvent<E>) => Description,
): TimelineEntry {
  const described = describe(event);
  return {
    id: event.id,
    case_id: event.data.case_id,
    at: timeOf(event),
    sequence: event.position.commit.toString().padStart(SEQUENCE_DIGITS, '0'),
    stream: event.streamId,
    revision: Number(event.revision),
    event_type: event.type,
    category: described.category,
    actor: described.actor ?? { type: 'COMMAND', id: event.metadata.actor },
    subject: described.subject ?? null,
    summary: described.summary,
    before: described.before ?? null,
    after: described.after ?? null,
    reason_codes: described.reason_codes ?? [],
    comment: described.comment ?? null,
    why: described.why ?? null,
  };
}

/** The event's own time field: every event of a case names when it happened. */
function timeOf(event: RecordedEvent<Handled>): string {
  const data = event.data as Record<string, unknown>;
  for (const field of TIME_FIELDS) {
    if (typeof data[field] === 'string') return data[field];
  }
  return event.created.toISOString();
}

const TIME_FIELDS = [
  'opened_at',
  'registered_at',
  'added_at',
  'required_at',
  'changed_at',
  'read_at',
  'assigned_at',
  'decided_at',
  'closed_at',
  'reopened_at',
  'rated_at',
  'overridden_at',
] as const;

/** One handler per described type: each event creates its own entry, keyed by the event's id. */
function handlersOf(describers: Describers) {
  type AnyDescriber = (event: RecordedEvent<Handled>) => Description;
  const handlers: Record<string, EventHandler<TimelineEntry, Handled>> = {};
  for (const [type, describe] of Object.entries(describers) as [string, AnyDescriber][]) {
    handlers[type] = { id: (event) => event.id, create: (event) => timelineEntry(event, describe) };
  }
  return handlers;
}

export const timelineProjection = defineProjection<Handled, TimelineEntry>({
  name: 'case_timeline',
  version: 1,
  collection: 'case_timeline',
  on: handlersOf(describeEvent),
});
