import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CaseCommand, ChangeDocumentStatus, RecordDecision } from '../../../src/cases/commands.ts';
import type { Actor, CaseEvent, CaseStatus } from '../../../src/cases/events.ts';
import { CASE_STATUSES, isCaseEvent } from '../../../src/cases/events.ts';
import {
  allowedActions,
  allowedStatuses,
  CASE_TRANSITIONS,
  type CaseAction,
  canDo,
} from '../../../src/cases/review.ts';
import { copyOf, kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { bundledRiskRules, createDecider, given, LATER, ofType, openCase } from './support.ts';

// The review lifecycle through the decider: every status × every action against the table,
// four eyes, requests for information and resubmission, closing and reopening, and retries.

const CASE = 'case:key-1';
const PERSON_0 = `person:${CASE}:0`;
const PASSPORT = `document-requirement:${CASE}:${PERSON_0}:PASSPORT`;
const PROOF = `document-requirement:${CASE}:${PERSON_0}:PROOF_OF_ADDRESS`;

const ALICE: Actor = { type: 'USER', id: 'alice' };
const BOB: Actor = { type: 'USER', id: 'bob' };
const CAROL: Actor = { type: 'USER', id: 'carol' };

const decider = createDecider();

/** Runs commands one after another, each deciding on the history so far. */
function run(history: readonly CaseEvent[], ...commands: CaseCommand[]): CaseEvent[] {
  let events = [...history];
  for (const command of commands) events = [...events, ...given(decider, events).when(command)];
  return events;
}

const changeDocument = (id: string, status: string): ChangeDocumentStatus => ({
  type: 'ChangeDocumentStatus',
  data: { case_id: CASE, document_requirement_id: id, new_status: status, actor: ALICE, at: LATER },
});
const assign = (assignee: string, actor: Actor = ALICE): CaseCommand => ({
  type: 'AssignCase',
  data: { case_id: CASE, assignee, actor, at: LATER },
});
const decide = (
  decision: string,
  actor: Actor,
  extra: Partial<RecordDecision['data']> = {},
): RecordDecision => ({
  type: 'RecordDecision',
  data: {
    case_id: CASE,
    decision,
    reason_codes: [
      decision === 'APPROVE'
        ? 'DOCUMENTS_VERIFIED'
        : decision === 'REJECT'
          ? 'IDENTITY_MISMATCH'
          : 'DOCUMENT_EXPIRED',
    ],
    comment: null,
    requested_documents: decision === 'REQUEST_INFORMATION' ? [PASSPORT] : [],
    requested_fields: [],
    actor,
    at: LATER,
    ...extra,
  },
});
const close = (reason_code = 'CLIENT_WITHDREW', actor: Actor = ALICE): CaseCommand => ({
  type: 'CloseCase',
  data: { case_id: CASE, reason_code, comment: null, actor, at: LATER },
});
const reopen = (reason_code = 'NEW_INFORMATION', actor: Actor = ALICE): CaseCommand => ({
  type: 'ReopenCase',
  data: { case_id: CASE, reason_code, comment: null, actor, at: LATER },
});
const override = (
  rating: string,
  actor: Actor,
  reason = 'Known client, verified in person',
): CaseCommand => ({
  type: 'OverrideRisk',
  data: { case_id: CASE, rating, reason, actor, at: LATER },
});

const statusOf = (events: readonly CaseEvent[]) => given(decider, events).state.status;
const statusChanges = (events: readonly CaseEvent[]) =>
  ofType(events, 'CaseStatusChanged').map((e) => [e.data.old_status, e.data.new_status, e.data.reason]);

// A KYC case (LOW risk) in each status, reached through the decider.
const opened = given(decider, []).when(openCase(kycIntakeExample));
const pending = run(
  opened,
  changeDocument(PASSPORT, 'UPLOADED'),
  changeDocument(PASSPORT, 'VERIFIED_MANUAL'),
  changeDocument(PROOF, 'UPLOADED'),
  changeDocument(PROOF, 'VERIFIED_SYSTEM'),
);
const inReview = run(pending, assign('alice'));
const historyIn: Record<CaseStatus, CaseEvent[]> = {
  OPEN: opened,
  PENDING_REVIEW: pending,
  IN_REVIEW: inReview,
  MORE_INFORMATION_REQUESTED: run(inReview, decide('REQUEST_INFORMATION', ALICE)),
  APPROVED: run(inReview, decide('APPROVE', ALICE)),
  REJECTED: run(inReview, decide('REJECT', ALICE)),
  CLOSED: run(opened, close()),
};

/** A command for each action a person can take. */
const commandFor: Partial<Record<CaseAction, CaseCommand>> = {
  assign: assign('bob', BOB),
  approve: decide('APPROVE', BOB),
  reject: decide('REJECT', BOB),
  request_information: decide('REQUEST_INFORMATION', BOB),
  close: close('DUPLICATE_CASE', BOB),
  reopen: reopen('NEW_INFORMATION', BOB),
};

describe('case transitions', () => {
  it('reaches every status through the decider', () => {
    for (const status of CASE_STATUSES) assert.equal(statusOf(historyIn[status]), status, status);
  });

  it('has the documented table', () => {
    const table = Object.fromEntries(
      CASE_STATUSES.map((status) => [status, CASE_TRANSITIONS[status].map((t) => `${t.action}→${t.to}`)]),
    );
    assert.deepEqual(table, {
      OPEN: ['documents_resolved→PENDING_REVIEW', 'close→CLOSED'],
      PENDING_REVIEW: ['documents_outstanding→OPEN', 'assign→IN_REVIEW', 'close→CLOSED'],
      IN_REVIEW: [
        'assign→IN_REVIEW',
        'approve→APPROVED',
        'reject→REJECTED',
        'request_information→MORE_INFORMATION_REQUESTED',
        'close→CLOSED',
      ],
      MORE_INFORMATION_REQUESTED: ['resubmit→PENDING_REVIEW', 'assign→IN_REVIEW', 'close→CLOSED'],
      APPROVED: ['close→CLOSED'],
      REJECTED: ['close→CLOSED'],
      CLOSED: ['reopen→OPEN', 'reopen→PENDING_REVIEW'],
    });
  });

  for (const status of CASE_STATUSES) {
    for (const [action, command] of Object.entries(commandFor) as [CaseAction, CaseCommand][]) {
      const history = historyIn[status];
      if (canDo(status, action)) {
        const targets = CASE_TRANSITIONS[status].filter((t) => t.action === action).map((t) => t.to);
        it(`${status}, ${action}: allowed, to ${targets.join(' or ')}`, () => {
          const events = given(decider, history).when(command);
          assert.ok(events.length > 0);
          for (const event of events) assert.ok(isCaseEvent(event), event.type);
          assert.ok(targets.includes(statusOf([...history, ...events]) as CaseStatus));
        });
      } else {
        it(`${status}, ${action}: 409 case.invalid_transition naming what is allowed`, () => {
          const error = given(decider, history).whenThrows(command, 'case.invalid_transition');
          assert.deepEqual(error.details.allowed, allowedStatuses(status));
          assert.deepEqual(error.details.allowed_actions, allowedActions(status));
          assert.equal(error.details.status, status);
        });
      }
    }
  }

  it('records who changed what, and why, on every review event', () => {
    const events = run(inReview, decide('REJECT', BOB, { comment: 'Name differs' }));
    const [decision] = ofType(events.slice(inReview.length), 'CaseDecisionRecorded');
    assert.deepEqual(decision?.data.actor, BOB);
    assert.equal(decision?.data.comment, 'Name differs');
    assert.deepEqual(decision?.data.reason_codes, ['IDENTITY_MISMATCH']);
    assert.deepEqual(statusChanges(events.slice(inReview.length)), [['IN_REVIEW', 'REJECTED', 'rejected']]);
  });
});

describe('assignment', () => {
  it('moves a pending case into review and records the assignee', () => {
    const events = given(decider, pending).when(assign('alice'));
    const [assigned] = ofType(events, 'CaseAssigned');
    assert.deepEqual(assigned?.data, {
      case_id: CASE,
      assignee: 'alice',
      previous_assignee: null,
      actor: ALICE,
      assigned_at: LATER,
    });
    assert.deepEqual(statusChanges(events), [['PENDING_REVIEW', 'IN_REVIEW', 'review_started']]);
  });

  it('reassigns a case in review without changing its status', () => {
    const events = given(decider, inReview).when(assign('bob'));
    assert.deepEqual(
      events.map((e) => e.type),
      ['CaseAssigned'],
    );
    assert.equal(ofType(events, 'CaseAssigned')[0]?.data.previous_assignee, 'alice');
  });

  it('writes nothing when the case is already with that reviewer', () => {
    assert.deepEqual(given(decider, inReview).when(assign('alice')), []);
  });
});

describe('decisions', () => {
  it('approves a LOW-risk case with one approval and notifies', () => {
    const events = given(decider, inReview).when(decide('APPROVE', ALICE));
    const [decision] = ofType(events, 'CaseDecisionRecorded');
    assert.equal(decision?.data.approvals_needed, 1);
    assert.equal(decision?.data.approvals_so_far, 1);
    assert.deepEqual(statusChanges(events), [['IN_REVIEW', 'APPROVED', 'approved']]);
    const [notification] = ofType(events, 'NotificationRequired');
    assert.equal(notification?.data.event_trigger, 'CASE_APPROVED_KYC_INDIVIDUAL_STANDARD');
    assert.equal(notification?.data.notification_type, 'EMAIL_CASE_APPROVED');
    assert.equal(notification?.data.context_data.reason_codes, 'DOCUMENTS_VERIFIED');
  });

  it('rejects with a notification of its own', () => {
    const events = given(decider, inReview).when(decide('REJECT', ALICE));
    assert.equal(
      ofType(events, 'NotificationRequired')[0]?.data.event_trigger,
      'CASE_REJECTED_KYC_INDIVIDUAL_STANDARD',
    );
  });

  it('asks for information: named documents go back to AWAITING_UPLOAD, even a manually verified one', () => {
    const events = given(decider, inReview).when(
      decide('REQUEST_INFORMATION', ALICE, { requested_fields: ['persons/0/birthdate'], comment: 'Expired' }),
    );
    const [sentBack] = ofType(events, 'DocumentStatusChanged');
    assert.equal(sentBack?.data.document_requirement_id, PASSPORT);
    assert.equal(sentBack?.data.old_status, 'VERIFIED_MANUAL');
    assert.equal(sentBack?.data.new_status, 'AWAITING_UPLOAD');
    assert.deepEqual(sentBack?.data.notes_added, ['Requested again by the reviewer: Expired']);
    assert.deepEqual(statusChanges(events), [
      ['IN_REVIEW', 'MORE_INFORMATION_REQUESTED', 'information_requested'],
    ]);
    const [notification] = ofType(events, 'NotificationRequired');
    assert.equal(notification?.data.event_trigger, 'CASE_MORE_INFORMATION_REQUESTED_KYC_INDIVIDUAL_STANDARD');
    assert.equal(notification?.data.context_data.requested_documents, 'PASSPORT');
    assert.equal(notification?.data.context_data.requested_fields, 'persons/0/birthdate');
  });

  it('returns a resubmitted case to PENDING_REVIEW once every document is resolved again', () => {
    const asked = historyIn.MORE_INFORMATION_REQUESTED;
    const uploaded = run(asked, changeDocument(PASSPORT, 'UPLOADED'));
    assert.equal(statusOf(uploaded), 'MORE_INFORMATION_REQUESTED');
    const events = given(decider, uploaded).when(changeDocument(PASSPORT, 'VERIFIED_MANUAL'));
    assert.deepEqual(statusChanges(events), [
      ['MORE_INFORMATION_REQUESTED', 'PENDING_REVIEW', 'resubmitted'],
    ]);
    assert.equal(
      ofType(events, 'NotificationRequired')[0]?.data.event_trigger,
      'CASE_READY_FOR_REVIEW_KYC_INDIVIDUAL_STANDARD',
    );
  });

  it('takes a case asked only for fields back into review by assignment', () => {
    const asked = run(
      inReview,
      decide('REQUEST_INFORMATION', ALICE, { requested_documents: [], requested_fields: ['x'] }),
    );
    assert.equal(statusOf(asked), 'MORE_INFORMATION_REQUESTED');
    assert.deepEqual(statusChanges(given(decider, asked).when(assign('alice'))), [
      ['MORE_INFORMATION_REQUESTED', 'IN_REVIEW', 'review_started'],
    ]);
  });

  it('refuses a request for information that names nothing, or a document the case lacks', () => {
    const review = given(decider, inReview);
    review.whenThrows(
      decide('REQUEST_INFORMATION', ALICE, { requested_documents: [] }),
      'review.information_unspecified',
    );
    const error = review.whenThrows(
      decide('REQUEST_INFORMATION', ALICE, { requested_documents: ['nope'] }),
      'review.requested_document_not_found',
    );
    assert.deepEqual(error.details.document_requirement_ids, ['nope']);
  });

  it('needs reason codes from the bundled list, meant for that decision', () => {
    const review = given(decider, inReview);
    review.whenThrows(decide('APPROVE', ALICE, { reason_codes: [] }), 'review.reason_code_invalid');
    review.whenThrows(
      decide('APPROVE', ALICE, { reason_codes: ['NO_SUCH_CODE'] }),
      'review.reason_code_invalid',
    );
    const error = review.whenThrows(
      decide('APPROVE', ALICE, { reason_codes: ['SANCTIONS_MATCH'] }),
      'review.reason_code_invalid',
    );
    assert.deepEqual(error.details.refused, ['SANCTIONS_MATCH']);
    assert.ok((error.details.accepted as string[]).includes('DOCUMENTS_VERIFIED'));
  });

  it('refuses an unknown decision', () => {
    given(decider, inReview).whenThrows(decide('MAYBE', ALICE), 'review.unknown_decision');
  });

  it('refuses to approve while a document is outstanding', () => {
    const reopenedDocument = run(inReview, changeDocument(PROOF, 'REJECTED'));
    assert.equal(statusOf(reopenedDocument), 'IN_REVIEW');
    given(decider, reopenedDocument).whenThrows(decide('APPROVE', ALICE), 'review.documents_outstanding');
  });

  it('writes nothing for the same decision sent again by the same person', () => {
    for (const status of ['APPROVED', 'REJECTED', 'MORE_INFORMATION_REQUESTED'] as const) {
      const history = historyIn[status];
      const last = ofType(history, 'CaseDecisionRecorded').at(-1);
      assert.ok(last);
      assert.deepEqual(given(decider, history).when(decide(last.data.decision, ALICE)), [], status);
    }
  });
});

describe('four eyes', () => {
  // Incorporated in a high-risk country: rated HIGH at intake.
  const highRisk = copyOf(kybIntakeExample);
  highRisk.company_profile.country_of_incorporation = 'IR';
  const kybOpened = given(decider, []).when(openCase(highRisk));
  const documents = ofType(kybOpened, 'DocumentRequired').map((e) => e.data.document_requirement_id);
  const kybInReview = run(
    kybOpened,
    ...documents.flatMap((id) => [changeDocument(id, 'UPLOADED'), changeDocument(id, 'VERIFIED_MANUAL')]),
    assign('alice'),
  );

  it('rates the case HIGH', () => {
    assert.equal(ofType(kybOpened, 'RiskRated')[0]?.data.rating, 'HIGH');
    assert.equal(statusOf(kybInReview), 'IN_REVIEW');
  });

  it('keeps a HIGH-risk case in review after the first approval', () => {
    const events = given(decider, kybInReview).when(decide('APPROVE', ALICE));
    assert.deepEqual(
      events.map((e) => e.type),
      ['CaseDecisionRecorded'],
    );
    assert.equal(ofType(events, 'CaseDecisionRecorded')[0]?.data.approvals_needed, 2);
    assert.equal(ofType(events, 'CaseDecisionRecorded')[0]?.data.approvals_so_far, 1);
  });

  it('approves it on a second approval by someone else', () => {
    const once = run(kybInReview, decide('APPROVE', ALICE));
    const events = given(decider, once).when(decide('APPROVE', BOB));
    assert.equal(ofType(events, 'CaseDecisionRecorded')[0]?.data.approvals_so_far, 2);
    assert.deepEqual(statusChanges(events), [['IN_REVIEW', 'APPROVED', 'approved']]);
    assert.equal(
      ofType(events, 'NotificationRequired')[0]?.data.event_trigger,
      'CASE_APPROVED_KYB_COMPANY_STANDARD',
    );
  });

  it('does not let one person approve twice', () => {
    const once = run(kybInReview, decide('APPROVE', ALICE));
    const error = given(decider, once).whenThrows(
      decide('APPROVE', ALICE, { reason_codes: ['RISK_ACCEPTED'] }),
      'review.already_approved',
    );
    assert.deepEqual(error.details.approvals, ['alice']);
  });

  it('treats the same approval sent again as a retry: nothing written, no error', () => {
    const once = run(kybInReview, decide('APPROVE', ALICE));
    assert.deepEqual(given(decider, once).when(decide('APPROVE', ALICE)), []);
  });

  it('does not let the author of the risk override approve', () => {
    const overridden = run(kybInReview, override('HIGH', CAROL));
    given(decider, overridden).whenThrows(decide('APPROVE', CAROL), 'review.own_override');
    const approved = run(overridden, decide('APPROVE', ALICE), decide('APPROVE', BOB));
    assert.equal(statusOf(approved), 'APPROVED');
  });

  it('counts the effective rating: an override to HIGH needs two approvals, one to LOW needs one', () => {
    const raised = run(inReview, override('HIGH', CAROL));
    assert.equal(statusOf(run(raised, decide('APPROVE', ALICE))), 'IN_REVIEW');
    const lowered = run(kybInReview, override('LOW', CAROL));
    assert.equal(statusOf(run(lowered, decide('APPROVE', ALICE))), 'APPROVED');
  });

  it('starts counting again in a new review', () => {
    const once = run(kybInReview, decide('APPROVE', ALICE));
    const again = run(
      once,
      decide('REQUEST_INFORMATION', BOB, {
        requested_documents: [],
        requested_fields: ['company_profile/trading_name'],
      }),
      assign('alice'),
    );
    const events = given(decider, again).when(decide('APPROVE', ALICE));
    assert.equal(ofType(events, 'CaseDecisionRecorded')[0]?.data.approvals_so_far, 1);
  });
});

describe('closing and reopening', () => {
  it('closes with a reason code, and writes nothing for the same closure again', () => {
    const events = given(decider, inReview).when(close('CLIENT_WITHDREW'));
    assert.deepEqual(
      events.map((e) => e.type),
      ['CaseClosed', 'CaseStatusChanged'],
    );
    assert.deepEqual(statusChanges(events), [['IN_REVIEW', 'CLOSED', 'closed']]);
    assert.deepEqual(given(decider, [...inReview, ...events]).when(close('CLIENT_WITHDREW')), []);
  });

  it('refuses a closure reason that is meant for something else', () => {
    given(decider, inReview).whenThrows(close('DOCUMENTS_VERIFIED'), 'review.reason_code_invalid');
  });

  it('reopens to PENDING_REVIEW when every document is resolved, else to OPEN', () => {
    const closedReady = run(historyIn.APPROVED, close('DECISION_COMMUNICATED'));
    assert.deepEqual(statusChanges(given(decider, closedReady).when(reopen('PERIODIC_REVIEW'))), [
      ['CLOSED', 'PENDING_REVIEW', 'reopened'],
    ]);
    assert.deepEqual(statusChanges(given(decider, historyIn.CLOSED).when(reopen())), [
      ['CLOSED', 'OPEN', 'reopened'],
    ]);
  });

  it('writes nothing for the same reopening again', () => {
    const reopened = run(historyIn.CLOSED, reopen());
    assert.deepEqual(given(decider, reopened).when(reopen()), []);
  });
});

describe('risk override', () => {
  it('is recorded beside the computed rating', () => {
    const [overridden] = given(decider, inReview).when(override('HIGH', CAROL));
    assert.equal(overridden?.type, 'RiskOverridden');
    assert.deepEqual(overridden?.data, {
      case_id: CASE,
      rating: 'HIGH',
      computed_rating: 'LOW',
      reason: 'Known client, verified in person',
      actor: CAROL,
      overridden_at: LATER,
    });
    const state = given(decider, [...inReview, ...(overridden ? [overridden] : [])]).state;
    assert.ok(state.status !== 'NONE');
    assert.equal(state.risk.computed?.rating, 'LOW');
    assert.equal(state.risk.override?.rating, 'HIGH');
  });

  it('writes nothing for the same override again, and refuses an unknown rating', () => {
    const overridden = run(inReview, override('HIGH', CAROL));
    assert.deepEqual(given(decider, overridden).when(override('HIGH', CAROL)), []);
    given(decider, inReview).whenThrows(override('EXTREME', CAROL), 'risk.unknown_rating');
  });

  it('is refused once the case is decided', () => {
    for (const status of ['APPROVED', 'REJECTED', 'CLOSED'] as const) {
      given(decider, historyIn[status]).whenThrows(override('HIGH', CAROL), 'case.invalid_transition');
    }
  });
});

describe('risk rating in the case stream', () => {
  it('rates again on assignment only when a newer rules file rates differently', () => {
    assert.equal(ofType(given(decider, pending).when(assign('alice')), 'RiskRated').length, 0);
    const rules = bundledRiskRules();
    const stricter = createDecider({
      riskRules: {
        ...rules,
        version: 'next',
        case_types: [{ case_type: 'INDIVIDUAL_STANDARD', points: 35, detail: 'Stricter' }],
      },
    });
    const state = given(stricter, pending).state;
    const events = [...stricter.decide(assign('alice'), state)];
    const [rated] = ofType(events, 'RiskRated');
    assert.equal(rated?.data.rating, 'MEDIUM');
    assert.equal(rated?.data.rules_version, 'next');
    assert.equal(rated?.data.trigger, 'rules_changed');
  });

  it('rebuilds the recorded rating from the stream even after the rules file changed', () => {
    const changedRules = createDecider({
      riskRules: { ...bundledRiskRules(), version: 'other', thresholds: { MEDIUM: 1, HIGH: 2 } },
    });
    const stored = JSON.parse(JSON.stringify(inReview)) as CaseEvent[];
    const replayed = given(changedRules, stored).state;
    const original = given(decider, inReview).state;
    assert.deepEqual(replayed, original);
  });
});
