import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { isCaseEvent } from '../../../src/cases/events.ts';
import { caseIdFor, type IdDeriver } from '../../../src/cases/ids.ts';
import type { NotificationResolution } from '../../../src/cases/notifications.ts';
import { copyOf, kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { AT, createDecider, given, ofType, openCase, readableIds, SYSTEM } from './support.ts';

const CASE = 'case:key-1';
const PERSON_0 = `person:${CASE}:0`;
const COMPANY = `company:${CASE}`;
const OWNER_0 = `beneficial-owner:${CASE}:0`;
const requirementId = (entity: string, documentType: string) =>
  `document-requirement:${CASE}:${entity}:${documentType}`;

const decider = createDecider();

describe('OpenCase: KYC', () => {
  const events = given(decider, []).when(openCase(kycIntakeExample));

  it('opens the case, adds the person, requires their documents, rates the risk and notifies, in that order', () => {
    assert.deepEqual(
      events.map((e) => e.type),
      [
        'CaseOpened',
        'PersonAdded',
        'DocumentRequired',
        'DocumentRequired',
        'RiskRated',
        'NotificationRequired',
      ],
    );
  });

  it('records the case as the older service did, plus its idempotency key and no warnings', () => {
    const [opened] = ofType(events, 'CaseOpened');
    assert.ok(opened);
    assert.equal(opened.data.case_id, CASE);
    assert.equal(opened.data.client_id, 'kyc-client-001');
    assert.equal(opened.data.case_version, '1.0');
    assert.equal(opened.data.case_type, 'INDIVIDUAL_STANDARD');
    assert.equal(opened.data.traitement_type, 'KYC');
    assert.equal(opened.data.company_id, null);
    assert.equal(opened.data.idempotency_key, 'key-1');
    assert.equal(opened.data.opened_at, AT);
    assert.deepEqual(opened.data.opened_by, SYSTEM);
    assert.deepEqual(opened.data.intake_warnings, []);
  });

  it('adds the person to the case with no company', () => {
    assert.deepEqual(ofType(events, 'PersonAdded')[0]?.data, {
      person_id: PERSON_0,
      case_id: CASE,
      company_id: null,
      firstname: 'John',
      lastname: 'Doe',
      birthdate: '1990-01-15',
      role_in_company: null,
      added_at: AT,
    });
  });

  it('requires PASSPORT and PROOF_OF_ADDRESS of the person, awaiting upload', () => {
    assert.deepEqual(
      ofType(events, 'DocumentRequired').map((e) => e.data),
      ['PASSPORT', 'PROOF_OF_ADDRESS'].map((documentType) => ({
        document_requirement_id: requirementId(PERSON_0, documentType),
        case_id: CASE,
        entity_id: PERSON_0,
        entity_type: 'PERSON',
        document_type: documentType,
        is_required: true,
        status: 'AWAITING_UPLOAD',
        rule_ids: ['kyc-person'],
        required_at: AT,
        required_by: SYSTEM,
      })),
    );
  });

  it('asks for the case-created notification with the older trigger format and payload, without names', () => {
    assert.deepEqual(ofType(events, 'NotificationRequired')[0]?.data, {
      notification_id: `notification:${CASE}:0`,
      case_id: CASE,
      event_trigger: 'CASE_CREATED_KYC_INDIVIDUAL_STANDARD',
      rule_id: 'welcome_email_rule',
      rule_source: 'bundled',
      fallback_reason: null,
      notification_type: 'EMAIL_WELCOME_KYC',
      include_recipient_details: false,
      recipient_details: { case_id: CASE, client_id: 'kyc-client-001' },
      template_id: 'KYC_WELCOME_EMAIL_V1',
      language_code: null,
      context_data: {
        case_id: CASE,
        client_name: 'N/A',
        case_type: 'INDIVIDUAL_STANDARD',
        traitement_type: 'KYC',
      },
      required_at: AT,
    });
  });

  it('writes only events that match their schemas', () => {
    for (const event of events) assert.ok(isCaseEvent(event), event.type);
  });

  it('ignores a company profile on a KYC intake and says so in the case', () => {
    const message = {
      ...copyOf(kycIntakeExample),
      company_profile: copyOf(kybIntakeExample.company_profile),
    };
    const result = given(decider, []).when(openCase(message));
    assert.equal(ofType(result, 'CompanyRegistered').length, 0);
    const opened = ofType(result, 'CaseOpened')[0];
    assert.equal(opened?.data.company_id, null);
    assert.deepEqual(
      opened?.data.intake_warnings.map((w) => [w.path, w.code]),
      [['/company_profile', 'company_profile_ignored']],
    );
  });
});

describe('OpenCase: KYB', () => {
  const events = given(decider, []).when(openCase(kybIntakeExample));

  it('registers the company, links the director, adds the owner, requires documents, rates and notifies', () => {
    assert.deepEqual(
      events.map((e) => e.type),
      [
        'CaseOpened',
        'CompanyRegistered',
        'PersonAdded',
        'BeneficialOwnerAdded',
        'DocumentRequired',
        'DocumentRequired',
        'DocumentRequired',
        'DocumentRequired',
        'RiskRated',
        'NotificationRequired',
      ],
    );
    for (const event of events) assert.ok(isCaseEvent(event), event.type);
  });

  it('puts the company in the case stream, with the case and company ids derived from the key', () => {
    assert.equal(ofType(events, 'CaseOpened')[0]?.data.company_id, COMPANY);
    const company = ofType(events, 'CompanyRegistered')[0]?.data;
    assert.equal(company?.company_id, COMPANY);
    assert.equal(company?.case_id, CASE);
    assert.equal(company?.registered_name, 'Test Corp Ltd');
    assert.deepEqual(company?.registered_address, {
      street: '1 Business Park',
      city: 'London',
      state_province: null,
      postal_code: 'E14 5HQ',
      country: 'GB',
    });
  });

  it('links a person with a role to the company and keeps them on the case', () => {
    const person = ofType(events, 'PersonAdded')[0]?.data;
    assert.equal(person?.company_id, COMPANY);
    assert.equal(person?.case_id, CASE);
    assert.equal(person?.role_in_company, 'Director');
  });

  it('keeps the beneficial owner nested like the older service', () => {
    assert.deepEqual(ofType(events, 'BeneficialOwnerAdded')[0]?.data, {
      beneficial_owner_id: OWNER_0,
      case_id: CASE,
      company_id: COMPANY,
      person_details: {
        firstname: 'Ultimate',
        lastname: 'Owner',
        birthdate: '1975-11-10',
        role_in_company: null,
      },
      ownership_percentage: 75,
      types_of_control: ['SHAREHOLDING_OVER_25'],
      is_ubo: true,
      added_at: AT,
    });
  });

  it('requires the company papers, the director passport and the UBO passport', () => {
    assert.deepEqual(
      ofType(events, 'DocumentRequired').map((e) => [
        e.data.entity_type,
        e.data.entity_id,
        e.data.document_type,
      ]),
      [
        ['COMPANY', COMPANY, 'COMPANY_REGISTRATION_CERTIFICATE'],
        ['COMPANY', COMPANY, 'ARTICLES_OF_ASSOCIATION'],
        ['PERSON', PERSON_0, 'PASSPORT_DIRECTOR_BO'],
        ['BENEFICIAL_OWNER', OWNER_0, 'PASSPORT_DIRECTOR_BO'],
      ],
    );
  });

  it('also requires audited financial statements for enhanced due diligence', () => {
    const message = { ...copyOf(kybIntakeExample), type: 'ENHANCED_DUE_DILIGENCE' };
    const company = ofType(given(decider, []).when(openCase(message)), 'DocumentRequired').filter(
      (e) => e.data.entity_type === 'COMPANY',
    );
    assert.deepEqual(
      company.map((e) => [e.data.document_type, e.data.rule_ids]),
      [
        ['COMPANY_REGISTRATION_CERTIFICATE', ['kyb-company']],
        ['ARTICLES_OF_ASSOCIATION', ['kyb-company']],
        ['FINANCIAL_STATEMENTS_AUDITED', ['kyb-company-enhanced-due-diligence']],
      ],
    );
  });

  it('requires nothing of an owner who is not an ultimate beneficial owner', () => {
    const message = copyOf(kybIntakeExample);
    message.beneficial_owners[0]!.is_ubo = false;
    const required = ofType(given(decider, []).when(openCase(message)), 'DocumentRequired');
    assert.equal(
      required.some((e) => e.data.entity_type === 'BENEFICIAL_OWNER'),
      false,
    );
  });

  it('keeps a KYB person without a role on the case, off the company, without documents, with a warning', () => {
    const message = copyOf(kybIntakeExample);
    message.persons.push({
      firstname: 'No',
      lastname: 'Role',
      birthdate: '1980-01-01',
      role_in_company: null as never,
    });
    const result = given(decider, []).when(openCase(message));
    const person = ofType(result, 'PersonAdded')[1]?.data;
    assert.equal(person?.person_id, `person:${CASE}:1`);
    assert.equal(person?.case_id, CASE);
    assert.equal(person?.company_id, null);
    assert.equal(
      ofType(result, 'DocumentRequired').some((e) => e.data.entity_id === person?.person_id),
      false,
    );
    assert.deepEqual(
      ofType(result, 'CaseOpened')[0]?.data.intake_warnings.map((w) => [w.path, w.code]),
      [['/persons/1/role_in_company', 'person_without_role']],
    );
  });

  it('names no contact when a KYB intake has no person, as the older service did', () => {
    const message = { ...copyOf(kybIntakeExample), persons: [] };
    const notification = ofType(given(decider, []).when(openCase(message)), 'NotificationRequired')[0]?.data;
    assert.deepEqual(notification?.recipient_details, { case_id: CASE, client_id: 'kyb-client-002' });
    assert.equal(notification?.context_data.client_name, 'N/A');
    assert.equal(notification?.event_trigger, 'CASE_CREATED_KYB_COMPANY_STANDARD');
  });

  it('refuses a KYB intake without a company profile that bypassed validation', () => {
    const command = openCase(kybIntakeExample);
    command.data.intake.company_profile = null;
    given(decider, []).whenThrows(command, 'intake.invalid');
  });

  it('refuses a KYC intake with owners that bypassed validation', () => {
    const command = openCase(kycIntakeExample);
    command.data.intake.beneficial_owners = [
      {
        person_details: { firstname: 'A', lastname: 'B', birthdate: null, role_in_company: null },
        ownership_percentage: null,
        types_of_control: [],
        is_ubo: false,
      },
    ];
    given(decider, []).whenThrows(command, 'intake.invalid');
  });
});

describe('OpenCase: ids and idempotency', () => {
  const sha: IdDeriver = (...parts) =>
    createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32);

  it('derives the same case, with the same ids, from the same key every time', () => {
    const first = given(createDecider({ ids: sha }), []).when(openCase(kybIntakeExample, 'k'));
    const second = given(createDecider({ ids: sha }), []).when(openCase(kybIntakeExample, 'k'));
    assert.deepEqual(first, second);
    assert.equal(ofType(first, 'CaseOpened')[0]?.data.case_id, caseIdFor(sha, 'k'));
  });

  it('derives a different case from a different key', () => {
    const a = ofType(given(decider, []).when(openCase(kycIntakeExample, 'a')), 'CaseOpened')[0];
    const b = ofType(given(decider, []).when(openCase(kycIntakeExample, 'b')), 'CaseOpened')[0];
    assert.notEqual(a?.data.case_id, b?.data.case_id);
  });

  it('derives every id of the case from the case id', () => {
    const events = given(decider, []).when(openCase(kybIntakeExample));
    assert.equal(caseIdFor(readableIds, 'key-1'), CASE);
    for (const event of ofType(events, 'DocumentRequired')) {
      assert.equal(
        event.data.document_requirement_id,
        requirementId(event.data.entity_id, event.data.document_type),
      );
    }
  });

  it('writes nothing when the same intake arrives again with the same key', () => {
    const history = given(decider, []).when(openCase(kybIntakeExample));
    assert.deepEqual(given(decider, history).when(openCase(kybIntakeExample)), []);
  });

  it('treats the same intake in another letter case or key order as the same intake', () => {
    const history = given(decider, []).when(openCase(kycIntakeExample));
    const reordered = {
      persons: copyOf(kycIntakeExample.persons),
      traitement_type: 'kyc',
      type: 'individual_standard',
      version: '1.0',
      client_id: 'kyc-client-001',
    };
    assert.deepEqual(given(decider, history).when(openCase(reordered)), []);
  });

  it('refuses a different intake under a key already used', () => {
    const history = given(decider, []).when(openCase(kycIntakeExample));
    const other = { ...copyOf(kycIntakeExample), client_id: 'someone-else' };
    const error = given(decider, history).whenThrows(openCase(other), 'intake.idempotency_key_reused');
    assert.equal(error.details.case_id, CASE);
  });

  it('refuses to open a second case on a stream that holds another key', () => {
    const history = given(decider, []).when(openCase(kycIntakeExample, 'key-1'));
    given(decider, history).whenThrows(openCase(kycIntakeExample, 'key-2'), 'case.already_exists');
  });
});

describe('OpenCase: notification rule decisions', () => {
  const fromService: NotificationResolution = {
    rule: {
      rule_id: 'svc-rule',
      is_active: true,
      notification_type: 'SMS_WELCOME',
      template_id: 'T1',
      language_code: 'fr',
      include_recipient_details: false,
    },
    source: 'config-service',
    fallback_reason: null,
  };

  it('names the trigger the handler must resolve before deciding', () => {
    assert.deepEqual(decider.notificationTriggers(openCase(kycIntakeExample), decider.initialState()), [
      {
        trigger: 'CASE_CREATED_KYC_INDIVIDUAL_STANDARD',
        context: {
          case_id: CASE,
          client_id: 'kyc-client-001',
          traitement_type: 'KYC',
          case_type: 'INDIVIDUAL_STANDARD',
        },
      },
    ]);
  });

  it('names no trigger for an intake already handled', () => {
    const history = given(decider, []).when(openCase(kycIntakeExample));
    const state = given(decider, history).state;
    assert.deepEqual(decider.notificationTriggers(openCase(kycIntakeExample), state), []);
  });

  it('records the rule the handler resolved, with its source', () => {
    const command = openCase(kycIntakeExample, 'key-1', {
      notifications: { CASE_CREATED_KYC_INDIVIDUAL_STANDARD: fromService },
    });
    const data = ofType(given(decider, []).when(command), 'NotificationRequired')[0]?.data;
    assert.equal(data?.rule_id, 'svc-rule');
    assert.equal(data?.rule_source, 'config-service');
    assert.equal(data?.notification_type, 'SMS_WELCOME');
    assert.equal(data?.language_code, 'fr');
  });

  it('records the fallback reason when the service failed and the bundled rule was used', () => {
    const command = openCase(kycIntakeExample, 'key-1', {
      notifications: {
        CASE_CREATED_KYC_INDIVIDUAL_STANDARD: {
          rule: fromService.rule,
          source: 'bundled',
          fallback_reason: 'configuration service failed: timeout',
        },
      },
    });
    const data = ofType(given(decider, []).when(command), 'NotificationRequired')[0]?.data;
    assert.equal(data?.rule_source, 'bundled');
    assert.equal(data?.fallback_reason, 'configuration service failed: timeout');
  });

  it('opens the case without a notification when no active rule applies', () => {
    const command = openCase(kycIntakeExample, 'key-1', {
      notifications: {
        CASE_CREATED_KYC_INDIVIDUAL_STANDARD: { rule: null, source: 'config-service', fallback_reason: null },
      },
    });
    const events = given(decider, []).when(command);
    assert.equal(ofType(events, 'NotificationRequired').length, 0);
    assert.equal(ofType(events, 'CaseOpened').length, 1);
  });

  it('falls back to the bundled rules for a trigger the command did not resolve', () => {
    const quiet = createDecider({ notificationRules: { version: 1, rules: [] } });
    assert.equal(ofType(given(quiet, []).when(openCase(kycIntakeExample)), 'NotificationRequired').length, 0);
  });
});
