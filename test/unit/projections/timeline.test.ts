import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type TimelineEntry, timelineProjection } from '../../../projections/timeline.ts';
import type { PersonalDataRead } from '../../../src/cases/access.ts';
import type { ChangeDocumentStatus } from '../../../src/cases/commands.ts';
import type { CaseEvent } from '../../../src/cases/events.ts';
import { kybIntakeExample } from '../../support/intake-examples.ts';
import { AT, createDecider, given, LATER, openCase, REVIEWER } from '../cases/support.ts';
import { project } from './support.ts';

const CASE = 'case:key-1';
const decider = createDecider();
const opened = given(decider, []).when(openCase(kybIntakeExample));

function entriesOf(
  events: readonly CaseEvent[] | readonly (CaseEvent | PersonalDataRead)[],
): TimelineEntry[] {
  return [...project(timelineProjection, events).values()].sort((a, b) =>
    a.sequence.localeCompare(b.sequence),
  );
}

describe('case timeline', () => {
  it('has one entry per event of the case, keyed by the event id', () => {
    const entries = entriesOf(opened);
    assert.equal(entries.length, opened.length);
    assert.deepEqual(
      entries.map((entry) => entry.id),
      opened.map((_, i) => `case-test/${i}`),
    );
    assert.ok(entries.every((entry) => entry.case_id === CASE));
  });

  it('tells who opened the case, when, and from which intake', () => {
    const [first] = entriesOf(opened);
    assert.equal(first?.event_type, 'CaseOpened');
    assert.equal(first?.category, 'intake');
    assert.equal(first?.at, AT);
    assert.deepEqual(first?.after, { status: 'OPEN', traitement_type: 'KYB', case_type: 'COMPANY_STANDARD' });
    assert.match(first?.why ?? '', /^intake key-1/);
  });

  it('records a document status change with its actor, before, after and notes', () => {
    const requirement = opened.find((e) => e.type === 'DocumentRequired');
    assert.ok(requirement?.type === 'DocumentRequired');
    const change: ChangeDocumentStatus = {
      type: 'ChangeDocumentStatus',
      data: {
        case_id: CASE,
        document_requirement_id: requirement.data.document_requirement_id,
        new_status: 'UPLOADED',
        actor: REVIEWER,
        at: LATER,
        notes_to_add: ['scan received'],
      },
    };
    const events = [...opened, ...given(decider, opened).when(change)];
    const entry = entriesOf(events).find((e) => e.event_type === 'DocumentStatusChanged');
    assert.deepEqual(
      entry && {
        actor: entry.actor,
        at: entry.at,
        before: entry.before,
        after: entry.after,
        comment: entry.comment,
        subject: entry.subject,
      },
      {
        actor: REVIEWER,
        at: LATER,
        before: { status: 'AWAITING_UPLOAD' },
        after: { status: 'UPLOADED' },
        comment: 'scan received',
        subject: { type: 'DOCUMENT', id: requirement.data.document_requirement_id },
      },
    );
  });

  it('names people by id only, never by name', () => {
    const text = JSON.stringify(entriesOf(opened));
    for (const name of ['Jane', 'Ultimate', '1985-03-20', '1975-11-10']) {
      assert.ok(!text.includes(name), `the timeline holds "${name}"`);
    }
  });

  it('shows a read of personal data with its reader, route and subjects', () => {
    const read: PersonalDataRead = {
      type: 'PersonalDataRead',
      data: {
        read_id: 'r-1',
        case_id: CASE,
        reader: { type: 'USER', id: 'auditor' },
        route: 'GET /api/v1/persons/case/:case_id',
        subjects: [
          { type: 'PERSON', id: 'p-1' },
          { type: 'PERSON', id: 'p-2' },
          { type: 'BENEFICIAL_OWNER', id: 'o-1' },
        ],
        read_at: LATER,
      },
    };
    const entry = entriesOf([read])[0];
    assert.equal(entry?.category, 'access');
    assert.deepEqual(entry?.actor, { type: 'USER', id: 'auditor' });
    assert.equal(entry?.summary, 'Personal data read: 2 person, 1 beneficial owner');
    assert.equal(entry?.why, 'GET /api/v1/persons/case/:case_id');
  });

  it('tells assignments, ratings, overrides and decisions with who, before, after and why', () => {
    const alice = { type: 'USER', id: 'alice' };
    const review: CaseEvent[] = [
      {
        type: 'RiskRated',
        data: {
          case_id: CASE,
          rating: 'HIGH',
          score: 70,
          factors: [
            { factor: 'country_of_incorporation', input: 'IR', points: 60, detail: 'high-risk country' },
          ],
          rules_version: '2026-12.1',
          trigger: 'intake',
          rated_at: AT,
        },
      },
      {
        type: 'CaseAssigned',
        data: {
          case_id: CASE,
          assignee: 'rita',
          previous_assignee: null,
          actor: REVIEWER,
          assigned_at: LATER,
        },
      },
      {
        type: 'RiskOverridden',
        data: {
          case_id: CASE,
          rating: 'MEDIUM',
          computed_rating: 'HIGH',
          reason: 'Parent listed on a regulated exchange',
          actor: alice,
          overridden_at: LATER,
        },
      },
      {
        type: 'CaseDecisionRecorded',
        data: {
          case_id: CASE,
          decision: 'APPROVE',
          reason_codes: ['DOCUMENTS_VERIFIED'],
          comment: 'checked',
          requested_documents: [],
          requested_fields: [],
          approvals_needed: 2,
          approvals_so_far: 1,
          actor: REVIEWER,
          decided_at: LATER,
        },
      },
    ];
    const [rated, assigned, overridden, decided] = entriesOf(review);
    assert.deepEqual(
      [rated?.summary, rated?.after, rated?.reason_codes],
      ['Risk rated HIGH (score 70)', { rating: 'HIGH', score: 70 }, ['country_of_incorporation']],
    );
    assert.match(rated?.why ?? '', /rules 2026-12\.1, intake: country_of_incorporation IR \+60/);
    assert.deepEqual(
      [assigned?.summary, assigned?.before, assigned?.after, assigned?.actor],
      ['Assigned to rita', { assignee: null }, { assignee: 'rita' }, REVIEWER],
    );
    assert.deepEqual(
      [overridden?.before, overridden?.after, overridden?.comment, overridden?.actor],
      [{ rating: 'HIGH' }, { rating: 'MEDIUM' }, 'Parent listed on a regulated exchange', alice],
    );
    assert.deepEqual(
      [decided?.summary, decided?.reason_codes, decided?.comment, decided?.category],
      ['Approved (1 of 2 approvals)', ['DOCUMENTS_VERIFIED'], 'checked', 'decision'],
    );
  });

  it('rebuilds identically: replaying the same events gives the same entries', () => {
    const first = project(timelineProjection, opened);
    const replayed = project(timelineProjection, opened, first);
    assert.deepEqual(replayed, first);
    assert.deepEqual(project(timelineProjection, opened), first);
  });
});
