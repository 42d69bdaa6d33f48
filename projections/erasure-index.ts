import type { IntakeReceived } from '../src/cases/intake-audit.ts';
import {
  type ErasureRequest,
  type RetentionEvent,
  type RetentionState,
  retentionDecider,
  retentionEventDefinitions,
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
 * of the relationship), so every one starts the document when there is none.
 */
export const erasureIndexProjection: Projection<ErasureIndexDocument, IndexedEvent> = {
  name: 'erasure_index',
  version: 1,
  collection: 'erasure_index',
  handles,
  documentIds(event: RecordedEvent<IndexedEvent>) {
    if (event.type !== 'IntakeReceived') return [event.data.case_id];
    // Intake messages that opened or joined a case are kept with their case.
    return event.data.case_id === null ? [`intake-${event.data.receipt_id}`] : [];
  },
  evolve(current, event, id) {
    const rejectedAt = current?.rejected_intake_at ?? null;
    const state = current?.state ?? retentionDecider.initialState();
    if (event.type === 'IntakeReceived') return erasureIndexDocument(id, state, event.data.received_at);
    return erasureIndexDocument(id, retentionDecider.evolve(state, event), rejectedAt);
  },
};
