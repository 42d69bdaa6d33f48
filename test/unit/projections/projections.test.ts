import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  beneficialOwnersProjection,
  caseProjections,
  casesProjection,
  companiesProjection,
  documentRequirementsProjection,
  intakeProjections,
  personsProjection,
  rawIntakeProjection,
} from '../../../projections/index.ts';
import type { ChangeDocumentStatus } from '../../../src/cases/commands.ts';
import type { CaseEvent } from '../../../src/cases/events.ts';
import type { IntakeReceived } from '../../../src/cases/intake-audit.ts';
import type { Projection } from '../../../src/eventsourcing/core/projection.ts';
import { copyOf, kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { AT, createDecider, given, LATER, openCase, REVIEWER } from '../cases/support.ts';
import { project } from './support.ts';

const CASE = 'case:key-1';
const PERSON_0 = `person:${CASE}:0`;
const COMPANY = `company:${CASE}`;
const OWNER_0 = `beneficial-owner:${CASE}:0`;
const PASSPORT = `document-requirement:${CASE}:${PERSON_0}:PASSPORT`;
const PROOF = `document-requirement:${CASE}:${PERSON_0}:PROOF_OF_ADDRESS`;

const decider = createDecider();
const kyc = given(decider, []).when(openCase(kycIntakeExample));
const kyb = given(decider, []).when(openCase(kybIntakeExample));

function change(
  id: string,
  status: string,
  extra: Partial<ChangeDocumentStatus['data']> = {},
): ChangeDocumentStatus {
  return {
    type: 'ChangeDocumentStatus',
    data: {
      case_id: CASE,
      document_requirement_id: id,
      new_status: status,
      actor: REVIEWER,
      at: LATER,
      ...extra,
    },
  };
}

function walk(history: readonly CaseEvent[], commands: ChangeDocumentStatus[]): CaseEvent[] {
  let events = [...history];
  for (const command of commands) events = [...events, ...given(decider, events).when(command)];
  return events;
}

describe('projection definitions', () => {
  it('fit the framework Projection type and name the older collections', () => {
    const all: Projection[] = [...caseProjections, ...intakeProjections];
    assert.deepEqual(
      all.map((p) => [p.name, p.collection, p.version]),
      [
        ['cases', 'cases', 2],
        ['persons', 'persons', 2],
        ['companies', 'companies', 1],
        ['beneficial_owners', 'beneficial_owners', 2],
        ['document_requirements', 'document_requirements', 1],
        ['case_timeline', 'case_timeline', 1],
        ['raw_events', 'raw_events', 2],
      ],
    );
  });
});

describe('cases read model', () => {
  it('follows a review: assignee, risk with its override, approvals, queue and time in each status', () => {
    const at = (minutes: number) => new Date(Date.parse(AT) + minutes * 60_000).toISOString();
    const alice = { type: 'USER', id: 'alice' };
    const ready = walk(kyc, [
      change(PASSPORT, 'UPLOADED', { at: at(0) }),
      change(PASSPORT, 'VERIFIED_MANUAL', { at: at(0) }),
      change(PROOF, 'UPLOADED', { at: at(0) }),
      change(PROOF, 'VERIFIED_MANUAL', { at: at(10) }),
    ]);
    let events = ready;
    const then = (command: Parameters<typeof decider.decide>[0]) => {
      events = [...events, ...given(decider, events).when(command)];
    };
    then({ type: 'AssignCase', data: { case_id: CASE, assignee: 'alice', actor: alice, at: at(40) } });
    const queued = project(casesProjection, events).get(CASE);
    assert.equal(queued?.in_review_queue, true);
    assert.equal(queued?.review_queue_since, at(10));
    assert.equal(queued?.assignee, 'alice');
    then({
      type: 'OverrideRisk',
      data: {
        case_id: CASE,
        rating: 'HIGH',
        reason: 'Adverse media',
        actor: { type: 'USER', id: 'carol' },
        at: at(50),
      },
    });
    const decision = (by: string, minutes: number) =>
      then({
        type: 'RecordDecision',
        data: {
          case_id: CASE,
          decision: 'APPROVE',
          reason_codes: ['DOCUMENTS_VERIFIED'],
          comment: null,
          requested_documents: [],
          requested_fields: [],
          actor: { type: 'USER', id: by },
          at: at(minutes),
        },
      });
    decision('alice', 60);
    decision('bob', 100);
    const doc = project(casesProjection, events).get(CASE);
    assert.equal(doc?.status, 'APPROVED');
    assert.deepEqual(doc?.approvals, [
      { by: 'alice', at: at(60) },
      { by: 'bob', at: at(100) },
    ]);
    assert.deepEqual(doc?.last_decision, {
      decision: 'APPROVE',
      reason_codes: ['DOCUMENTS_VERIFIED'],
      comment: null,
      by: 'bob',
      at: at(100),
    });
    assert.equal(doc?.risk.computed, 'LOW');
    assert.equal(doc?.risk.effective, 'HIGH');
    assert.equal(doc?.risk.override?.by, 'carol');
    assert.equal(doc?.status_since, at(100));
    assert.equal(doc?.in_review_queue, false);
    assert.equal(doc?.review_queue_since, null);
    // OPEN from intake (AT) to minute 10, PENDING_REVIEW 10 → 40, IN_REVIEW 40 → 100.
    assert.equal(doc?.time_in_status.OPEN, 600);
    assert.equal(doc?.time_in_status.PENDING_REVIEW, 1_800);
    assert.equal(doc?.time_in_status.IN_REVIEW, 3_600);
  });

  it('rebuilds the same document, ratings included, from the same events read back as stored', () => {
    const stored = JSON.parse(JSON.stringify(kyb)) as CaseEvent[];
    assert.deepEqual(project(casesProjection, stored).get(CASE), project(casesProjection, kyb).get(CASE));
  });

  it('builds the case document from a KYC opening', () => {
    assert.deepEqual(project(casesProjection, kyc).get(CASE), {
      id: CASE,
      client_id: 'kyc-client-001',
      version: '1.0',
      type: 'INDIVIDUAL_STANDARD',
      traitement_type: 'KYC',
      company_id: null,
      status: 'OPEN',
      idempotency_key: 'key-1',
      persons_count: 1,
      beneficial_owners_count: 0,
      documents_total: 2,
      document_counts: {
        AWAITING_UPLOAD: 2,
        UPLOADED: 0,
        VERIFIED_SYSTEM: 0,
        VERIFIED_MANUAL: 0,
        REJECTED: 0,
        NOT_APPLICABLE: 0,
      },
      intake_warnings: [],
      assignee: null,
      risk: {
        computed: 'LOW',
        score: 0,
        factors: [],
        rules_version: '2026-12.1',
        rated_at: AT,
        override: null,
        effective: 'LOW',
      },
      approvals: [],
      last_decision: null,
      status_since: AT,
      time_in_status: {
        OPEN: 0,
        PENDING_REVIEW: 0,
        IN_REVIEW: 0,
        MORE_INFORMATION_REQUESTED: 0,
        APPROVED: 0,
        REJECTED: 0,
        CLOSED: 0,
      },
      in_review_queue: false,
      review_queue_since: null,
      created_at: AT,
      updated_at: AT,
    });
  });

  it('links a KYB case to its company and counts its owners and documents', () => {
    const doc = project(casesProjection, kyb).get(CASE);
    assert.equal(doc?.company_id, COMPANY);
    assert.equal(doc?.beneficial_owners_count, 1);
    assert.equal(doc?.documents_total, 4);
  });

  it('moves document counts with each status change and follows the case status', () => {
    const events = walk(kyc, [change(PASSPORT, 'UPLOADED'), change(PASSPORT, 'VERIFIED_SYSTEM')]);
    const doc = project(casesProjection, events).get(CASE);
    assert.equal(doc?.document_counts.AWAITING_UPLOAD, 1);
    assert.equal(doc?.document_counts.UPLOADED, 0);
    assert.equal(doc?.document_counts.VERIFIED_SYSTEM, 1);
    assert.equal(doc?.status, 'OPEN');
    assert.equal(doc?.updated_at, LATER);
    const ready = project(casesProjection, walk(events, [change(PROOF, 'NOT_APPLICABLE')])).get(CASE);
    assert.equal(ready?.status, 'PENDING_REVIEW');
    assert.equal(ready?.document_counts.NOT_APPLICABLE, 1);
    assert.equal(ready?.created_at, AT);
  });

  it('ignores later events of a case it never saw opened', () => {
    assert.equal(project(casesProjection, kyc.slice(1)).size, 0);
  });
});

describe('persons read model', () => {
  it('stores a KYC person with its case and no company', () => {
    assert.deepEqual(project(personsProjection, kyc).get(PERSON_0), {
      id: PERSON_0,
      case_id: CASE,
      company_id: null,
      firstname: 'John',
      lastname: 'Doe',
      birthdate: '1990-01-15',
      role_in_company: null,
      created_at: AT,
      updated_at: AT,
    });
  });

  it('stores a KYB director with both its case and its company', () => {
    const doc = project(personsProjection, kyb).get(PERSON_0);
    assert.equal(doc?.case_id, CASE);
    assert.equal(doc?.company_id, COMPANY);
    assert.equal(doc?.role_in_company, 'Director');
  });

  it('stores a KYB person without a role on the case only', () => {
    const message = copyOf(kybIntakeExample);
    message.persons.push({
      firstname: 'No',
      lastname: 'Role',
      birthdate: '1980-01-01',
      role_in_company: null as never,
    });
    const docs = project(personsProjection, given(decider, []).when(openCase(message)));
    assert.equal(docs.size, 2);
    assert.equal(docs.get(`person:${CASE}:1`)?.company_id, null);
    assert.equal(docs.get(`person:${CASE}:1`)?.case_id, CASE);
  });
});

describe('companies read model', () => {
  it('stores the company profile with its case', () => {
    assert.deepEqual(project(companiesProjection, kyb).get(COMPANY), {
      id: COMPANY,
      case_id: CASE,
      registered_name: 'Test Corp Ltd',
      trading_name: null,
      registration_number: 'C09876',
      registration_date: null,
      country_of_incorporation: 'GB',
      registered_address: {
        street: '1 Business Park',
        city: 'London',
        state_province: null,
        postal_code: 'E14 5HQ',
        country: 'GB',
      },
      business_type: null,
      industry_sector: null,
      created_at: AT,
      updated_at: AT,
    });
  });

  it('stores nothing for a KYC case', () => {
    assert.equal(project(companiesProjection, kyc).size, 0);
  });
});

describe('beneficial owners read model', () => {
  it('flattens the person details as the older service did', () => {
    assert.deepEqual(project(beneficialOwnersProjection, kyb).get(OWNER_0), {
      id: OWNER_0,
      company_id: COMPANY,
      case_id: CASE,
      firstname: 'Ultimate',
      lastname: 'Owner',
      birthdate: '1975-11-10',
      role_in_company: null,
      ownership_percentage: 75,
      types_of_control: ['SHAREHOLDING_OVER_25'],
      is_ubo: true,
      created_at: AT,
      updated_at: AT,
    });
  });
});

describe('document requirements read model', () => {
  it('stores a new requirement awaiting upload, with no metadata and no notes', () => {
    assert.deepEqual(project(documentRequirementsProjection, kyc).get(PASSPORT), {
      id: PASSPORT,
      case_id: CASE,
      entity_id: PERSON_0,
      entity_type: 'PERSON',
      document_type: 'PASSPORT',
      status: 'AWAITING_UPLOAD',
      is_required: true,
      metadata: null,
      notes: [],
      version: 1,
      rule_ids: ['kyc-person'],
      updated_by: null,
      created_at: AT,
      updated_at: AT,
    });
  });

  it('applies status changes: notes append, metadata merges, version counts, actor recorded', () => {
    const events = walk(kyc, [
      change(PASSPORT, 'UPLOADED', {
        notes_to_add: ['scan'],
        metadata_changes: { file_reference: 'a.pdf', pages: 2 },
      }),
      change(PASSPORT, 'REJECTED', {
        notes_to_add: ['blurred'],
        metadata_changes: { file_reference: 'b.pdf' },
        actor: { type: 'SYSTEM', id: null },
      }),
    ]);
    const doc = project(documentRequirementsProjection, events).get(PASSPORT);
    assert.equal(doc?.status, 'REJECTED');
    assert.deepEqual(doc?.notes, ['scan', 'blurred']);
    assert.deepEqual(doc?.metadata, { file_reference: 'b.pdf', pages: 2 });
    assert.equal(doc?.version, 3);
    assert.equal(doc?.updated_by, 'SYSTEM');
    assert.equal(doc?.updated_at, LATER);
    assert.equal(doc?.created_at, AT);
  });

  it('keeps metadata when a change brings none', () => {
    const events = walk(kyc, [
      change(PASSPORT, 'UPLOADED', { metadata_changes: { file_reference: 'a.pdf' } }),
      change(PASSPORT, 'VERIFIED_MANUAL'),
    ]);
    assert.deepEqual(project(documentRequirementsProjection, events).get(PASSPORT)?.metadata, {
      file_reference: 'a.pdf',
    });
  });

  it('holds one document per requirement of the case', () => {
    assert.deepEqual([...project(documentRequirementsProjection, kyc).keys()], [PASSPORT, PROOF]);
  });
});

describe('raw intake read model', () => {
  const received = (
    outcome: IntakeReceived['data']['outcome'],
    extra: Partial<IntakeReceived['data']> = {},
  ): IntakeReceived => ({
    type: 'IntakeReceived',
    data: {
      receipt_id: 'kyc_events:0:42',
      source: 'kafka',
      transport: { topic: 'kyc_events', partition: '0', offset: '42' },
      idempotency_key: 'key-1',
      received_at: AT,
      recorded_at: LATER,
      payload: kycIntakeExample,
      raw_text: null,
      outcome,
      case_id: CASE,
      violations: [],
      error_code: null,
      ...extra,
    },
  });

  it('stores an accepted message with the case it opened, under the older field names', () => {
    assert.deepEqual(project(rawIntakeProjection, [received('case_opened')]).get('kyc_events:0:42'), {
      id: 'kyc_events:0:42',
      event_type: 'KAFKA_MESSAGE_RAW_STORED',
      payload: kycIntakeExample,
      raw_text: null,
      received_at: AT,
      processed_at: LATER,
      source: 'kafka',
      transport: { topic: 'kyc_events', partition: '0', offset: '42' },
      idempotency_key: 'key-1',
      outcome: 'case_opened',
      case_id: CASE,
      violations: [],
      error_code: null,
    });
  });

  it('stores a rejected message with its violations, and an undecodable one with its text', () => {
    const rejected = received('rejected', {
      receipt_id: 'r2',
      source: 'http',
      case_id: null,
      payload: { client_id: 5 },
      violations: [{ path: '/client_id', message: 'must be string' }],
    });
    const garbage = received('rejected', {
      receipt_id: 'r3',
      payload: null,
      raw_text: '{oops',
      case_id: null,
    });
    const docs = project(rawIntakeProjection, [rejected, garbage]);
    assert.equal(docs.get('r2')?.event_type, 'HTTP_INTAKE_RECEIVED');
    assert.deepEqual(docs.get('r2')?.violations, [{ path: '/client_id', message: 'must be string' }]);
    assert.equal(docs.get('r3')?.raw_text, '{oops');
  });
});
