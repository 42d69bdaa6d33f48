import type { IntakeOutcome, IntakeReceived } from '../src/cases/intake-audit.ts';
import type { Violation } from '../src/cases/validation.ts';
import type { RecordedEvent } from '../src/eventsourcing/core/events.ts';
import { defineProjection } from '../src/eventsourcing/core/projection.ts';

/**
 * The `raw_events` collection: every message received, valid or not, with what became of it.
 * The older service's fields (`id`, `event_type`, `payload`, `received_at`, `processed_at`) keep
 * their names; `processed_at`, which it never set, is when the outcome was recorded.
 */
export type RawIntakeDocument = {
  id: string;
  /** `KAFKA_MESSAGE_RAW_STORED` as in the older service, or `HTTP_INTAKE_RECEIVED`. */
  event_type: string;
  payload: unknown;
  raw_text: string | null;
  received_at: string;
  processed_at: string;
  source: 'kafka' | 'http';
  transport: Record<string, string>;
  idempotency_key: string | null;
  outcome: IntakeOutcome;
  case_id: string | null;
  violations: Violation[];
  error_code: string | null;
};

export function rawIntakeDocument(event: RecordedEvent<IntakeReceived>): RawIntakeDocument {
  const data = event.data;
  return {
    id: data.receipt_id,
    event_type: data.source === 'kafka' ? 'KAFKA_MESSAGE_RAW_STORED' : 'HTTP_INTAKE_RECEIVED',
    payload: data.payload,
    raw_text: data.raw_text,
    received_at: data.received_at,
    processed_at: data.recorded_at,
    source: data.source,
    transport: { ...data.transport },
    idempotency_key: data.idempotency_key,
    outcome: data.outcome,
    case_id: data.case_id,
    violations: data.violations.map((v) => ({ ...v })),
    error_code: data.error_code,
  };
}

/** Reads the `intake-` streams, not the `case-` ones: its runtime must subscribe to that prefix. */
export const rawIntakeProjection = defineProjection<IntakeReceived, RawIntakeDocument>({
  name: 'raw_events',
  // 2: stored with the personal fields sealed (projections/personal-data.ts); the rebuild seals
  // documents an earlier version stored in clear.
  version: 2,
  collection: 'raw_events',
  on: {
    IntakeReceived: { id: (event) => event.data.receipt_id, create: (event) => rawIntakeDocument(event) },
  },
});
