import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  createRetentionEventRegistry,
  erasureStatus,
  type RetentionCommand,
  type RetentionEvent,
  type RetentionState,
  retainUntil,
  retentionDecider,
  subjectErasureStatus,
} from '../../../src/cases/retention.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';

const CASE = 'case-1';
const ENDED = '2026-03-01T00:00:00.000Z';
const rule = { rule: 'AMLR-77', years: 5 };

function run(commands: readonly RetentionCommand[]): { state: RetentionState; events: RetentionEvent[] } {
  const registry = createRetentionEventRegistry();
  let state = retentionDecider.initialState();
  const events: RetentionEvent[] = [];
  for (const command of commands) {
    for (const event of retentionDecider.decide(command, state)) {
      registry.encode(event);
      events.push(event);
      state = retentionDecider.evolve(state, event);
    }
  }
  return { state, events };
}

const request: RetentionCommand = {
  type: 'RequestErasure',
  data: { case_id: CASE, request_id: 'req-1', channel: 'api', at: '2026-01-10T00:00:00.000Z', actor: 'dpo' },
};
const end: RetentionCommand = {
  type: 'EndRelationship',
  data: { case_id: CASE, ended_at: ENDED, retention: rule, at: ENDED, actor: 'ops' },
};
const hold = (hold_id: string, at: string): RetentionCommand => ({
  type: 'PlaceLegalHold',
  data: { case_id: CASE, hold_id, reason_code: 'litigation', at, actor: 'legal' },
});
const release = (hold_id: string, at: string, actor: string): RetentionCommand => ({
  type: 'ReleaseLegalHold',
  data: { case_id: CASE, hold_id, reason_code: 'settled', at, actor },
});
const start = (at: string, key_ids = ['k1', 'k2']): RetentionCommand => ({
  type: 'StartErasure',
  data: { at, key_ids },
});
const isCode = (code: string) => (error: unknown) => error instanceof DomainError && error.code === code;

describe('retention and erasure of a case', () => {
  it('accepts an erasure request at once and defers it while the relationship runs', () => {
    const { state, events } = run([request]);
    assert.deepEqual(
      events.map((e) => e.type),
      ['ErasureRequested'],
    );
    assert.deepEqual(erasureStatus(state, '2040-01-01T00:00:00.000Z'), {
      status: 'deferred',
      request_id: 'req-1',
      due_at: null,
      blocking: ['relationship_active'],
    });
    assert.throws(
      () => retentionDecider.decide(start('2040-01-01T00:00:00.000Z'), state),
      isCode('erasure.not_due'),
    );
  });

  it('keeps the records until five years after the relationship ends, then the erasure is due', () => {
    const { state } = run([request, end]);
    assert.equal(state.relationship?.retain_until, '2031-03-01T00:00:00.000Z');
    const dayBefore = '2031-02-28T23:59:59.999Z';
    assert.deepEqual(erasureStatus(state, dayBefore), {
      status: 'deferred',
      request_id: 'req-1',
      due_at: '2031-03-01T00:00:00.000Z',
      blocking: ['aml_retention'],
    });
    assert.throws(() => retentionDecider.decide(start(dayBefore), state), isCode('erasure.not_due'));
    assert.equal(erasureStatus(state, '2031-03-01T00:00:00.000Z').status, 'due');
    assert.deepEqual(
      retentionDecider.decide(start('2031-03-01T00:00:00.000Z'), state).map((e) => e.type),
      ['ErasureStarted'],
    );
  });

  it('lets a legal hold block a due erasure until it is released', () => {
    const after = '2032-01-01T00:00:00.000Z';
    const held = run([request, end, hold('h1', '2030-01-01T00:00:00.000Z')]).state;
    assert.deepEqual(erasureStatus(held, after), {
      status: 'deferred',
      request_id: 'req-1',
      due_at: '2031-03-01T00:00:00.000Z',
      blocking: ['legal_hold'],
    });
    assert.throws(() => retentionDecider.decide(start(after), held), isCode('erasure.not_due'));
    const released = run([
      request,
      end,
      hold('h1', '2030-01-01T00:00:00.000Z'),
      release('h1', after, 'legal-2'),
    ]).state;
    assert.equal(erasureStatus(released, after).status, 'due');
  });

  it('lets only another person than its placer release a legal hold', () => {
    const at = '2030-06-01T00:00:00.000Z';
    const held = run([request, end, hold('h1', '2030-01-01T00:00:00.000Z')]).state;
    assert.equal(held.holds.h1?.placed_by, 'legal');
    assert.throws(
      () => retentionDecider.decide(release('h1', at, 'legal'), held),
      (error: unknown) =>
        isCode('retention.own_hold')(error) &&
        (error as DomainError).details.placed_by === 'legal' &&
        (error as DomainError).details.hold_id === 'h1',
    );
    assert.deepEqual(retentionDecider.decide(release('h1', at, 'legal-2'), held), [
      {
        type: 'LegalHoldReleased',
        data: { case_id: CASE, hold_id: 'h1', reason_code: 'settled', released_at: at, actor: 'legal-2' },
      },
    ]);
  });

  it('completes only once every key it started with is destroyed, and only once', () => {
    const at = '2031-03-02T00:00:00.000Z';
    const started = run([request, end, start(at)]).state;
    assert.equal(erasureStatus(started, at).status, 'executing');
    assert.deepEqual(
      retentionDecider.decide(start(at), started),
      [],
      'a second start after a crash is a no-op',
    );
    const checks = [{ store: 'key store', result: 'passed', detail: '2 keys destroyed, 0 active' }];
    assert.throws(
      () =>
        retentionDecider.decide(
          { type: 'CompleteErasure', data: { at, destroyed_key_ids: ['k1'], checks } },
          started,
        ),
      isCode('erasure.keys_remain'),
    );
    const complete: RetentionCommand = {
      type: 'CompleteErasure',
      data: { at, destroyed_key_ids: ['k1', 'k2'], checks },
    };
    const { state, events } = run([request, end, start(at), complete, complete, start(at)]);
    assert.deepEqual(
      events.map((e) => e.type),
      ['ErasureRequested', 'RelationshipEnded', 'ErasureStarted', 'ErasureCompleted'],
    );
    assert.deepEqual(erasureStatus(state, at), {
      status: 'completed',
      request_id: 'req-1',
      completed_at: at,
    });
    assert.throws(
      () => retentionDecider.decide(hold('late', at), state),
      isCode('retention.erasure_under_way'),
    );
  });

  it('treats a repeated relationship end as done and a different one as a conflict', () => {
    const { state } = run([end]);
    assert.deepEqual(retentionDecider.decide(end, state), []);
    assert.throws(
      () =>
        retentionDecider.decide(
          {
            type: 'EndRelationship',
            data: { ...end.data, ended_at: '2027-01-01T00:00:00.000Z' },
          } as RetentionCommand,
          state,
        ),
      isCode('retention.relationship_already_ended'),
    );
  });

  it('refuses to release a hold that is not in place, and a second request changes nothing', () => {
    const { state } = run([request]);
    assert.throws(
      () =>
        retentionDecider.decide(
          {
            type: 'ReleaseLegalHold',
            data: { case_id: CASE, hold_id: 'nope', reason_code: 'x', at: ENDED, actor: 'legal' },
          },
          state,
        ),
      isCode('retention.hold_not_found'),
    );
    assert.deepEqual(
      retentionDecider.decide(
        { ...request, data: { ...request.data, request_id: 'req-2' } } as RetentionCommand,
        state,
      ),
      [],
    );
  });

  it('moves the retention date with an extension, and the due date with it', () => {
    const extend = (retain_until: string, at = '2030-01-01T00:00:00.000Z'): RetentionCommand => ({
      type: 'ExtendRetention',
      data: { case_id: CASE, retain_until, reason_code: 'regulator_request', at, actor: 'legal' },
    });
    const { state, events } = run([request, end, extend('2033-03-01T00:00:00Z')]);
    assert.deepEqual(events.at(-1)?.data, {
      case_id: CASE,
      retain_until: '2033-03-01T00:00:00.000Z',
      previous_retain_until: '2031-03-01T00:00:00.000Z',
      reason_code: 'regulator_request',
      extended_at: '2030-01-01T00:00:00.000Z',
      actor: 'legal',
    });
    const afterRule = '2032-01-01T00:00:00.000Z';
    assert.deepEqual(erasureStatus(state, afterRule), {
      status: 'deferred',
      request_id: 'req-1',
      due_at: '2033-03-01T00:00:00.000Z',
      blocking: ['aml_retention'],
    });
    assert.throws(() => retentionDecider.decide(start(afterRule), state), isCode('erasure.not_due'));
    assert.deepEqual(
      retentionDecider.decide(extend('2033-03-01T00:00:00.000Z'), state),
      [],
      'same date: done',
    );
    const shortened = run([request, end, extend('2033-03-01T00:00:00Z'), extend('2031-03-01T00:00:00Z')]);
    assert.equal(
      erasureStatus(shortened.state, afterRule).status,
      'due',
      'back to the rule date, no further',
    );
  });

  it('refuses an extension below the rule date, before the relationship ends, or once the erasure started', () => {
    const extend = (retain_until: string): RetentionCommand => ({
      type: 'ExtendRetention',
      data: { case_id: CASE, retain_until, reason_code: 'investigation', at: ENDED, actor: 'legal' },
    });
    assert.throws(
      () => retentionDecider.decide(extend('2031-02-28T23:59:59.999Z'), run([end]).state),
      isCode('retention.extension_before_rule_date'),
    );
    assert.throws(
      () => retentionDecider.decide(extend('2040-01-01T00:00:00.000Z'), run([request]).state),
      isCode('retention.relationship_active'),
    );
    const started = run([request, end, start('2031-03-02T00:00:00.000Z')]).state;
    assert.throws(
      () => retentionDecider.decide(extend('2040-01-01T00:00:00.000Z'), started),
      isCode('retention.erasure_under_way'),
    );
  });

  it('accepts the erasure of one subject for the listed reasons only, and waits for retention unless recorded in error', () => {
    const subject = (subject_id: string, reason_code: string): RetentionCommand => ({
      type: 'RequestSubjectErasure',
      data: {
        case_id: CASE,
        subject_id,
        request_id: `r-${subject_id}`,
        reason_code,
        at: ENDED,
        actor: 'dpo',
      },
    });
    assert.throws(
      () => retentionDecider.decide(subject('p1', 'no_longer_customer'), run([]).state),
      isCode('erasure.reason_not_allowed'),
    );
    const { state } = run([subject('p1', 'recorded_in_error'), subject('p2', 'removed_from_case')]);
    assert.deepEqual(subjectErasureStatus(state, 'p1', ENDED), {
      status: 'due',
      request_id: 'r-p1',
      due_at: ENDED,
    });
    assert.deepEqual(subjectErasureStatus(state, 'p2', ENDED), {
      status: 'deferred',
      request_id: 'r-p2',
      due_at: null,
      blocking: ['relationship_active'],
    });
    assert.equal(erasureStatus(state, ENDED).status, 'none', 'the case has no erasure request of its own');
    assert.throws(
      () =>
        retentionDecider.decide(
          { type: 'StartSubjectErasure', data: { subject_id: 'p2', at: ENDED, key_ids: [] } },
          state,
        ),
      isCode('erasure.not_due'),
    );
  });

  it('counts retention in calendar years, from a leap day to the first of March', () => {
    assert.equal(retainUntil('2028-02-29T12:00:00.000Z', 5), '2033-03-01T12:00:00.000Z');
    assert.equal(retainUntil('2026-06-30T08:00:00+02:00', 5), '2031-06-30T06:00:00.000Z');
    assert.throws(() => retainUntil('not a date', 5), isCode('retention.invalid_date'));
  });
});
