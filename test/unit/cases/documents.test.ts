import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ChangeDocumentStatus, DetermineRequirements } from '../../../src/cases/commands.ts';
import {
  DOCUMENT_STATUSES,
  DOCUMENT_TRANSITIONS,
  type DocumentStatus,
  isResolved,
} from '../../../src/cases/documents.ts';
import type { CaseEvent } from '../../../src/cases/events.ts';
import { isCaseEvent } from '../../../src/cases/events.ts';
import type { RequirementRules } from '../../../src/cases/requirements.ts';
import { kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import {
  AT,
  bundledRequirementRules,
  createDecider,
  given,
  LATER,
  ofType,
  openCase,
  REVIEWER,
  SYSTEM,
} from './support.ts';

const CASE = 'case:key-1';
const PERSON_0 = `person:${CASE}:0`;
const COMPANY = `company:${CASE}`;
const PASSPORT = `document-requirement:${CASE}:${PERSON_0}:PASSPORT`;
const PROOF = `document-requirement:${CASE}:${PERSON_0}:PROOF_OF_ADDRESS`;

const decider = createDecider();
const kycHistory = given(decider, []).when(openCase(kycIntakeExample));
const kybHistory = given(decider, []).when(openCase(kybIntakeExample));

function change(
  id: string,
  newStatus: string,
  extra: Partial<ChangeDocumentStatus['data']> = {},
): ChangeDocumentStatus {
  return {
    type: 'ChangeDocumentStatus',
    data: {
      case_id: CASE,
      document_requirement_id: id,
      new_status: newStatus,
      actor: REVIEWER,
      at: LATER,
      ...extra,
    },
  };
}

/** A history where a requirement already sits at `status` (written as if it had got there). */
function withStatus(history: readonly CaseEvent[], id: string, status: DocumentStatus): CaseEvent[] {
  if (status === 'AWAITING_UPLOAD') return [...history];
  return [
    ...history,
    {
      type: 'DocumentStatusChanged',
      data: {
        document_requirement_id: id,
        case_id: CASE,
        entity_id: PERSON_0,
        entity_type: 'PERSON',
        document_type: 'PASSPORT',
        old_status: 'AWAITING_UPLOAD',
        new_status: status,
        actor: SYSTEM,
        updated_by: 'SYSTEM',
        notes_added: [],
        metadata_changes: null,
        changed_at: AT,
      },
    },
  ];
}

/** Applies a walk of status changes through the decider, returning the whole history. */
function walk(history: readonly CaseEvent[], steps: [string, string][]): CaseEvent[] {
  let events = [...history];
  for (const [id, status] of steps) events = [...events, ...given(decider, events).when(change(id, status))];
  return events;
}

describe('document status transitions', () => {
  const expected: Record<DocumentStatus, DocumentStatus[]> = {
    AWAITING_UPLOAD: ['UPLOADED', 'NOT_APPLICABLE'],
    UPLOADED: ['VERIFIED_SYSTEM', 'VERIFIED_MANUAL', 'REJECTED'],
    VERIFIED_SYSTEM: ['VERIFIED_MANUAL', 'REJECTED'],
    VERIFIED_MANUAL: [],
    REJECTED: ['UPLOADED', 'NOT_APPLICABLE'],
    NOT_APPLICABLE: ['AWAITING_UPLOAD'],
  };

  it('has the documented table', () => {
    assert.deepEqual(DOCUMENT_TRANSITIONS, expected);
  });

  it('counts verified and not applicable documents as resolved, and nothing else', () => {
    assert.deepEqual(DOCUMENT_STATUSES.filter(isResolved), [
      'VERIFIED_SYSTEM',
      'VERIFIED_MANUAL',
      'NOT_APPLICABLE',
    ]);
  });

  for (const from of DOCUMENT_STATUSES) {
    for (const to of DOCUMENT_STATUSES) {
      const history = withStatus(kycHistory, PASSPORT, from);
      if (from === to) {
        it(`${from} → ${to}: a no-op, no event`, () => {
          assert.deepEqual(
            given(decider, history).when(change(PASSPORT, to, { notes_to_add: ['again'] })),
            [],
          );
        });
      } else if (expected[from].includes(to)) {
        it(`${from} → ${to}: allowed`, () => {
          const [changed] = given(decider, history).when(change(PASSPORT, to));
          assert.equal(changed?.type, 'DocumentStatusChanged');
          assert.ok(changed?.type === 'DocumentStatusChanged');
          assert.equal(changed.data.old_status, from);
          assert.equal(changed.data.new_status, to);
        });
      } else {
        it(`${from} → ${to}: refused, naming the allowed statuses`, () => {
          const error = given(decider, history).whenThrows(
            change(PASSPORT, to),
            'document.invalid_transition',
          );
          assert.deepEqual(error.details, {
            document_requirement_id: PASSPORT,
            from,
            to,
            allowed: expected[from],
          });
        });
      }
    }
  }
});

describe('ChangeDocumentStatus', () => {
  it('records the actor, the notes and the metadata changes', () => {
    const [changed] = given(decider, kycHistory).when(
      change(PASSPORT, 'UPLOADED', {
        notes_to_add: ['scan received'],
        metadata_changes: { file_reference: 'doc_xyz.pdf' },
      }),
    );
    assert.deepEqual(changed?.data, {
      document_requirement_id: PASSPORT,
      case_id: CASE,
      entity_id: PERSON_0,
      entity_type: 'PERSON',
      document_type: 'PASSPORT',
      old_status: 'AWAITING_UPLOAD',
      new_status: 'UPLOADED',
      actor: REVIEWER,
      updated_by: 'reviewer-7',
      notes_added: ['scan received'],
      metadata_changes: { file_reference: 'doc_xyz.pdf' },
      changed_at: LATER,
    });
    assert.ok(changed && isCaseEvent(changed));
  });

  it('names the actor by type when it has no id, as the older service did', () => {
    const [changed] = given(decider, kycHistory).when(change(PASSPORT, 'UPLOADED', { actor: SYSTEM }));
    assert.ok(changed?.type === 'DocumentStatusChanged');
    assert.equal(changed.data.updated_by, 'SYSTEM');
  });

  it('refuses an unknown status with its own code', () => {
    given(decider, kycHistory).whenThrows(change(PASSPORT, 'VERIFIED'), 'document.unknown_status');
  });

  it('refuses a requirement the case does not have', () => {
    given(decider, kycHistory).whenThrows(change('nope', 'UPLOADED'), 'document.not_found');
  });

  it('refuses a case that does not exist', () => {
    given(decider, []).whenThrows(change(PASSPORT, 'UPLOADED'), 'case.not_found');
    given(decider, kycHistory).whenThrows(
      change(PASSPORT, 'UPLOADED', { case_id: 'other' }),
      'case.not_found',
    );
  });

  it('asks for a notification when a document is rejected, with the document in its context', () => {
    const history = withStatus(kycHistory, PASSPORT, 'UPLOADED');
    const events = given(decider, history).when(change(PASSPORT, 'REJECTED'));
    assert.deepEqual(
      events.map((e) => e.type),
      ['DocumentStatusChanged', 'NotificationRequired'],
    );
    const notification = ofType(events, 'NotificationRequired')[0]?.data;
    assert.equal(notification?.event_trigger, 'DOCUMENT_REJECTED_KYC_INDIVIDUAL_STANDARD');
    assert.equal(notification?.rule_id, 'document_rejected_rule');
    assert.equal(notification?.notification_id, `notification:${CASE}:1`);
    assert.deepEqual(notification?.context_data, {
      case_id: CASE,
      client_name: 'N/A',
      case_type: 'INDIVIDUAL_STANDARD',
      traitement_type: 'KYC',
      document_requirement_id: PASSPORT,
      document_type: 'PASSPORT',
      entity_id: PERSON_0,
      entity_type: 'PERSON',
    });
  });

  it('names the rejection trigger to the handler before deciding', () => {
    const state = given(decider, withStatus(kycHistory, PASSPORT, 'UPLOADED')).state;
    assert.deepEqual(
      decider.notificationTriggers(change(PASSPORT, 'REJECTED'), state).map((t) => t.trigger),
      ['DOCUMENT_REJECTED_KYC_INDIVIDUAL_STANDARD'],
    );
  });
});

describe('readiness for review', () => {
  it('keeps the case open while a document is outstanding', () => {
    const history = walk(kycHistory, [
      [PASSPORT, 'UPLOADED'],
      [PASSPORT, 'VERIFIED_SYSTEM'],
    ]);
    assert.equal(given(decider, history).state.status, 'OPEN');
    assert.equal(ofType(history, 'CaseStatusChanged').length, 0);
  });

  it('moves the case to PENDING_REVIEW when every document is verified or not applicable, and notifies', () => {
    const history = walk(kycHistory, [
      [PASSPORT, 'UPLOADED'],
      [PASSPORT, 'VERIFIED_MANUAL'],
    ]);
    const events = given(decider, history).when(change(PROOF, 'NOT_APPLICABLE'));
    assert.deepEqual(
      events.map((e) => e.type),
      ['DocumentStatusChanged', 'CaseStatusChanged', 'NotificationRequired'],
    );
    assert.deepEqual(events[1]?.data, {
      case_id: CASE,
      old_status: 'OPEN',
      new_status: 'PENDING_REVIEW',
      reason: 'all_documents_resolved',
      changed_at: LATER,
    });
    const notification = ofType(events, 'NotificationRequired')[0]?.data;
    assert.equal(notification?.event_trigger, 'CASE_READY_FOR_REVIEW_KYC_INDIVIDUAL_STANDARD');
    assert.equal(notification?.notification_type, 'INTERNAL_CASE_READY_FOR_REVIEW');
    assert.equal(given(decider, [...history, ...events]).state.status, 'PENDING_REVIEW');
  });

  it('names the readiness trigger of a command that resolves the last document', () => {
    const history = walk(kycHistory, [[PASSPORT, 'NOT_APPLICABLE']]);
    const state = given(decider, history).state;
    assert.deepEqual(
      decider.notificationTriggers(change(PROOF, 'NOT_APPLICABLE'), state).map((t) => t.trigger),
      ['CASE_READY_FOR_REVIEW_KYC_INDIVIDUAL_STANDARD'],
    );
  });

  it('reopens a case under review when a verified document is overturned', () => {
    const history = walk(kycHistory, [
      [PASSPORT, 'UPLOADED'],
      [PASSPORT, 'VERIFIED_SYSTEM'],
      [PROOF, 'NOT_APPLICABLE'],
    ]);
    assert.equal(given(decider, history).state.status, 'PENDING_REVIEW');
    const events = given(decider, history).when(change(PASSPORT, 'REJECTED'));
    assert.deepEqual(
      events.map((e) => e.type),
      ['DocumentStatusChanged', 'NotificationRequired', 'CaseStatusChanged'],
    );
    assert.equal(ofType(events, 'CaseStatusChanged')[0]?.data.reason, 'documents_outstanding');
    assert.equal(ofType(events, 'CaseStatusChanged')[0]?.data.new_status, 'OPEN');
  });

  it('walks a KYB case through upload, verification and review', () => {
    const required = ofType(kybHistory, 'DocumentRequired').map((e) => e.data.document_requirement_id);
    let history = [...kybHistory];
    for (const id of required) {
      history = [...history, ...given(decider, history).when(change(id, 'UPLOADED'))];
      history = [...history, ...given(decider, history).when(change(id, 'VERIFIED_MANUAL'))];
    }
    assert.equal(given(decider, history).state.status, 'PENDING_REVIEW');
    assert.equal(ofType(history, 'CaseStatusChanged').length, 1);
    for (const event of history) assert.ok(isCaseEvent(event), event.type);
  });
});

describe('DetermineRequirements', () => {
  function determine(
    entityId: string,
    entityType: DetermineRequirements['data']['entity_type'],
    extra: Partial<DetermineRequirements['data']> = {},
  ): DetermineRequirements {
    return {
      type: 'DetermineRequirements',
      data: {
        case_id: CASE,
        entity_id: entityId,
        entity_type: entityType,
        at: LATER,
        actor: REVIEWER,
        ...extra,
      },
    };
  }

  it('adds nothing for an entity whose documents were determined when the case opened', () => {
    assert.deepEqual(given(decider, kycHistory).when(determine(PERSON_0, 'PERSON')), []);
    assert.deepEqual(given(decider, kybHistory).when(determine(COMPANY, 'COMPANY')), []);
  });

  it('adds only the documents a changed rule set asks for, once', () => {
    const rules: RequirementRules = bundledRequirementRules();
    const extended = createDecider({
      requirementRules: {
        ...rules,
        rules: [
          ...rules.rules,
          {
            id: 'kyc-person-selfie',
            description: 'A selfie',
            when: { entity_type: 'PERSON', traitement_types: ['KYC'] },
            documents: ['PASSPORT', 'SELFIE'],
          },
        ],
      },
    });
    const events = given(extended, kycHistory).when(determine(PERSON_0, 'PERSON'));
    assert.deepEqual(
      events.map((e) =>
        e.type === 'DocumentRequired' ? [e.data.document_type, e.data.required_by] : e.type,
      ),
      [['SELFIE', REVIEWER]],
    );
    assert.deepEqual(given(extended, [...kycHistory, ...events]).when(determine(PERSON_0, 'PERSON')), []);
  });

  it('accepts the traitement and case type older clients send when they match the case', () => {
    assert.deepEqual(
      given(decider, kycHistory).when(
        determine(PERSON_0, 'PERSON', { traitement_type: 'kyc', case_type: 'INDIVIDUAL_STANDARD' }),
      ),
      [],
    );
  });

  it('refuses a traitement or case type that differs from the case', () => {
    const error = given(decider, kycHistory).whenThrows(
      determine(PERSON_0, 'PERSON', { traitement_type: 'KYB', case_type: 'COMPANY_STANDARD' }),
      'requirements.context_mismatch',
    );
    assert.deepEqual(error.details.expected, { traitement_type: 'KYC', case_type: 'INDIVIDUAL_STANDARD' });
  });

  it('refuses an entity the case does not have, or has under another type', () => {
    given(decider, kycHistory).whenThrows(determine('ghost', 'PERSON'), 'entity.not_found');
    given(decider, kycHistory).whenThrows(determine(PERSON_0, 'COMPANY'), 'entity.not_found');
    given(decider, kycHistory).whenThrows(determine(COMPANY, 'COMPANY'), 'entity.not_found');
  });

  it('refuses a case that does not exist', () => {
    given(decider, []).whenThrows(determine(PERSON_0, 'PERSON'), 'case.not_found');
  });

  it('reopens a case under review when a new document is required', () => {
    const history = walk(kycHistory, [
      [PASSPORT, 'NOT_APPLICABLE'],
      [PROOF, 'NOT_APPLICABLE'],
    ]);
    const rules = bundledRequirementRules();
    const extended = createDecider({
      requirementRules: {
        ...rules,
        rules: [
          ...rules.rules,
          { id: 'selfie', description: 'A selfie', when: { entity_type: 'PERSON' }, documents: ['SELFIE'] },
        ],
      },
    });
    const events = given(extended, history).when(determine(PERSON_0, 'PERSON'));
    assert.deepEqual(
      events.map((e) => e.type),
      ['DocumentRequired', 'CaseStatusChanged'],
    );
  });
});
