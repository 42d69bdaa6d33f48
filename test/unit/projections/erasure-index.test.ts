import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { erasureIndexProjection } from '../../../projections/erasure-index.ts';
import { type RetentionEvent, retentionDecider } from '../../../src/cases/retention.ts';
import { project } from './support.ts';

const CASE = 'case-1';
const at = '2026-03-01T00:00:00.000Z';
const ended: RetentionEvent = {
  type: 'RelationshipEnded',
  data: {
    case_id: CASE,
    ended_at: at,
    rule: 'AMLR-77',
    retention_years: 5,
    retain_until: '2031-03-01T00:00:00.000Z',
    recorded_at: at,
    actor: 'ops',
  },
};
const held: RetentionEvent = {
  type: 'LegalHoldPlaced',
  data: { case_id: CASE, hold_id: 'h1', reason_code: 'litigation', placed_at: at, actor: 'legal' },
};
const released: RetentionEvent = {
  type: 'LegalHoldReleased',
  data: { case_id: CASE, hold_id: 'h1', reason_code: 'settled', released_at: at, actor: 'legal-2' },
};
const requested: RetentionEvent = {
  type: 'ErasureRequested',
  data: { case_id: CASE, request_id: 'r1', requested_at: at, channel: 'api', actor: 'dpo' },
};

describe('erasure index read model', () => {
  it('starts a document from whichever retention event comes first, a hold included', () => {
    const document = project(erasureIndexProjection, [held]).get(CASE);
    assert.deepEqual(
      [document?.request_status, document?.held, document?.relationship_ended, document?.due_at],
      ['none', true, false, null],
    );
  });

  it('keeps the fields the due job filters on, and the decider state they come from', () => {
    const events = [requested, held, ended, released];
    const document = project(erasureIndexProjection, events).get(CASE)!;
    assert.deepEqual(
      {
        status: document.request_status,
        request: document.request_id,
        ended: document.relationship_ended,
        due: document.due_at,
        held: document.held,
      },
      { status: 'requested', request: 'r1', ended: true, due: '2031-03-01T00:00:00.000Z', held: false },
    );
    assert.deepEqual(document.state, events.reduce(retentionDecider.evolve, retentionDecider.initialState()));
  });
});
