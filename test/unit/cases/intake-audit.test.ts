import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { intakeAuditDecider, type RecordIntake } from '../../../src/cases/intake-audit.ts';
import { fold } from '../../../src/eventsourcing/core/decider.ts';

const record: RecordIntake = {
  type: 'RecordIntake',
  data: {
    receipt_id: 'kyc_events:0:42',
    source: 'kafka',
    transport: { topic: 'kyc_events', partition: '0', offset: '42' },
    idempotency_key: null,
    received_at: '2026-03-01T10:00:00.000Z',
    recorded_at: '2026-03-01T10:00:00.010Z',
    payload: { client_id: 5 },
    raw_text: null,
    outcome: 'rejected',
    case_id: null,
    violations: [{ path: '/client_id', message: 'must be string' }],
    error_code: null,
  },
};

describe('intake audit', () => {
  it('records a receipt once', () => {
    const events = intakeAuditDecider.decide(record, intakeAuditDecider.initialState());
    assert.deepEqual(events, [{ type: 'IntakeReceived', data: record.data }]);
  });

  it('writes nothing when the same receipt is recorded again', () => {
    const state = fold(
      intakeAuditDecider,
      intakeAuditDecider.decide(record, intakeAuditDecider.initialState()),
    );
    assert.deepEqual(intakeAuditDecider.decide(record, state), []);
  });
});
