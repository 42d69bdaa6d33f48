import type { IntakeReceived } from '../src/cases/intake-audit.ts';
import {
  type ErasureRequest,
  type RetentionEvent,
  type RetentionState,
  retentionDecider,
  retentionEventDefinitions,
  type SubjectErasure,
  type SubjectErasureCompleted,
  type SubjectErasureRequested,
  type SubjectErasureStarted,
} from '../src/cases/retention.ts';
import type { RecordedEvent } from '../src/eventsourcing/core/events.ts';
import type { Projection } from '../src/eventsourcing/core/projection.ts';

/**
 * The `erasure_index` collection: one document per retention stream, so the due job and the
 * erasure metrics read what is due instead of every `retention-` stream. The retention state is
 * kept whole (ids, codes and dates only: no personal data), with the fields the queries filter
 * and sort on beside it. The retention stream stays the truth: the due job decides from it.
 */
export type ErasureIndexDocument = {
  /** The retention scope: the case id. */
  id: string;
  request_status: ErasureRequest['status'] | 'none';
  request_id: string | null;
  relationship_ended: boolean;
  /** The retention date; null until the relationship ends. */
  due_at: string | null;
  held: boolean;
  /** An erasure of one subject of the case is requested and not completed yet. */
  subjects_open: boolean;
  /**
   * When a refused intake message (no case; its scope is `intake-<receipt>`) was received: its
   * retention runs from then, under the rule for rejected intakes. Null for cases.
   */
  rejected_intake_at: string | null;
  /** A rejected intake whose erasure has not been requested yet: what the due job looks at. */
  rejected_intake_pending: boolean;
  state: RetentionState;
};

/**
 * One document per erasure of a single subject, beside its case's: completed ones pile up, so
 * the listing pages through them and the metrics count them here instead of reading every case's
 * state. It has no `request_status`, so the queries of case documents never match it. Open
 * erasures of subjects (requested, executing) are read from their case's state, which knows the
 * holds and the retention date that decide whether they are due.
 */
export type SubjectErasureIndexDocument = {
  /** `<case_id>/subjects/<subject_id>`, the name the due job reports it by. */
  id: string;
  case_id: string;
  subject_id: string;
  subject_status: SubjectErasure['status'];
  request_id: string;
  requested_at: string;
  completed_at: string | null;
};

export const subjectErasureDocumentId = (caseId: string, subjectId: string) =>
  `${caseId}/subjects/${subjectId}`;

type SubjectErasureEvent = SubjectErasureRequested | SubjectErasureStarted | SubjectErasureCompleted;

const isSubjectErasureEvent = (event: IndexedEvent): event is SubjectErasureEvent =>
  event.type === 'SubjectErasureRequested' ||
  event.type === 'SubjectErasureStarted' ||
  event.type === 'SubjectErasureCompleted';

function subjectErasureDocument(
  current: SubjectErasureIndexDocument | null,
  event: SubjectErasureEvent,
  id: string,
): SubjectErasureIndexDocument | null {
  const { case_id, subject_id, request_id } = event.data;
  switch (event.type) {
    case 'SubjectErasureRequested':
      // One request per subject: the decider records it once; the first one stands.
      return (
        current ?? {
          id,
          case_id,
          subject_id,
          subject_status: 'requested',
          request_id,
          requested_at: event.data.requested_at,
          completed_at: null,
        }
      );
    case 'SubjectErasureStarted':
      return current === null ? null : { ...current, subject_status: 'executing' };
    case 'SubjectErasureCompleted':
      return current === null
        ? null
        : { ...current, subject_status: 'completed', completed_at: event.data.completed_at };
  }
}

export function erasureIndexDocument(
  id: string,
  state: RetentionState,
  rejectedIntakeAt: string | null = null,
): ErasureIndexDocument {
  return {
    id,
    request_status: state.request?.status ?? 'none',
    request_id: state.request?.request_id ?? null,
    relationship_ended: state.relationship !== null,
    due_at: state.relationship?.retain_until ?? null,
    held: Object.keys(state.holds).length > 0,
    subjects_open: Object.values(state.subjects).some((subject) => subject.status !== 'completed'),
    rejected_intake_at: rejectedIntakeAt,
    rejected_intake_pending: rejectedIntakeAt !== null && state.request === null,
    state,
  };
}

const handles = [
  ...retentionEventDefinitions.map((definition) => definition.type),
  'IntakeReceived' as const,
];
type IndexedEvent = RetentionEvent | IntakeReceived;

/**
 * Folds each `retention-` stream with the retention decider's own `evolve`, so the index cannot
 * disagree with the decider. Any retention event may be a stream's first (a hold before the end
 * of the relationship), so every one starts the document when there is none. The events of one
 * subject's erasure also keep that erasure's own document.
 */
export const erasureIndexProjection: Projection<
  ErasureIndexDocument | SubjectErasureIndexDocument,
  IndexedEvent
> = {
  name: 'erasure_index',
  // 2: holds record who placed them; erasures of single subjects have documents of their own.
  version: 2,
  collection: 'erasure_index',
  handles,
  documentIds(event: RecordedEvent<IndexedEvent>) {
    if (isSubjectErasureEvent(event)) {
      return [event.data.case_id, subjectErasureDocumentId(event.data.case_id, event.data.subject_id)];
    }
    if (event.type !== 'IntakeReceived') return [event.data.case_id];
    // Intake messages that opened or joined a case are kept with their case.
    return event.data.case_id === null ? [`intake-${event.data.receipt_id}`] : [];
  },
  evolve(current, event, id) {
    if (isSubjectErasureEvent(event) && id !== event.data.case_id) {
      return subjectErasureDocument(current as SubjectErasureIndexDocument | null, event, id);
    }
    const caseDocument = current as ErasureIndexDocument | null;
    const rejectedAt = caseDocument?.rejected_intake_at ?? null;
    const state = caseDocument?.state ?? retentionDecider.initialState();
    if (event.type === 'IntakeReceived') return erasureIndexDocument(id, state, event.data.received_at);
    return erasureIndexDocument(id, retentionDecider.evolve(state, event), rejectedAt);
  },
};
