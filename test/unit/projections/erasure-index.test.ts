import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type ErasureIndexDocument,
  erasureIndexProjection,
  type SubjectErasureIndexDocument,
} from '../../../projections/erasure-index.ts';
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
    const document = project(erasureIndexProjection, [held]).get(CASE) as ErasureIndexDocument;
    assert.deepEqual(
      [document?.request_status, document?.held, document?.relationship_ended, document?.due_at],
      ['none', true, false, null],
    );
  });

  it('keeps the fields the due job filters on, and the decider state they come from', () => {
    const events = [requested, held, ended, released];
    const document = project(erasureIndexProjection, events).get(CASE) as ErasureIndexDocument;
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

  it("keeps each subject's erasure in a document of its own, and the case's state open until it completes", () => {
    const subject = { case_id: CASE, subject_id: 'p1', request_id: 's1' };
    const subjectRequested: RetentionEvent = {
      type: 'SubjectErasureRequested',
      data: {
        ...subject,
        reason_code: 'recorded_in_error',
        retention_applies: false,
        requested_at: at,
        actor: 'dpo',
      },
    };
    const started: RetentionEvent = {
      type: 'SubjectErasureStarted',
      data: { ...subject, started_at: at, key_ids: ['k1'] },
    };
    const completed: RetentionEvent = {
      type: 'SubjectErasureCompleted',
      data: { ...subject, completed_at: '2026-03-02T00:00:00.000Z', destroyed_key_ids: ['k1'], checks: [] },
    };
    const open = project(erasureIndexProjection, [subjectRequested, started]);
    assert.equal((open.get(CASE) as ErasureIndexDocument).subjects_open, true);
    assert.equal(
      (open.get(`${CASE}/subjects/p1`) as SubjectErasureIndexDocument).subject_status,
      'executing',
    );
    const done = project(erasureIndexProjection, [subjectRequested, started, completed]);
    assert.deepEqual(done.get(`${CASE}/subjects/p1`), {
      id: `${CASE}/subjects/p1`,
      case_id: CASE,
      subject_id: 'p1',
      subject_status: 'completed',
      request_id: 's1',
      requested_at: at,
      completed_at: '2026-03-02T00:00:00.000Z',
    });
    const caseDocument = done.get(CASE) as ErasureIndexDocument;
    assert.deepEqual([caseDocument.subjects_open, caseDocument.request_status], [false, 'none']);
    assert.equal('request_status' in done.get(`${CASE}/subjects/p1`)!, false, 'case queries never match it');
  });
});
