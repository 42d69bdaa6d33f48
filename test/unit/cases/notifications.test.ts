import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { NotificationRequired } from '../../../src/cases/events.ts';
import {
  caseCreatedTrigger,
  caseReadyForReviewTrigger,
  documentRejectedTrigger,
  firstActiveRule,
  matchBundledRule,
  type NotificationRules,
  notificationRequired,
  parseNotificationRules,
  resolveNotification,
  toSeedNotificationEnvelope,
  triggerFor,
} from '../../../src/cases/notifications.ts';
import type { RecordedEvent } from '../../../src/eventsourcing/core/events.ts';
import { bundledNotificationRules } from './support.ts';

const rule = (id: string, extra: Record<string, unknown> = {}) => ({
  rule_id: id,
  notification_type: `TYPE_${id}`,
  ...extra,
});

describe('triggers', () => {
  it('follows the older format for case creation', () => {
    assert.equal(caseCreatedTrigger('KYC', 'INDIVIDUAL_STANDARD'), 'CASE_CREATED_KYC_INDIVIDUAL_STANDARD');
    assert.equal(caseCreatedTrigger('KYB', 'KYB_STANDARD'), 'CASE_CREATED_KYB_KYB_STANDARD');
  });

  it('upper-cases and turns dashes and spaces into underscores', () => {
    assert.equal(
      triggerFor('CASE_CREATED', 'kyb', 'company-standard plus'),
      'CASE_CREATED_KYB_COMPANY_STANDARD_PLUS',
    );
  });

  it('names document rejection and readiness for review the same way', () => {
    assert.equal(
      documentRejectedTrigger('KYC', 'INDIVIDUAL_STANDARD'),
      'DOCUMENT_REJECTED_KYC_INDIVIDUAL_STANDARD',
    );
    assert.equal(
      caseReadyForReviewTrigger('KYB', 'COMPANY_STANDARD'),
      'CASE_READY_FOR_REVIEW_KYB_COMPANY_STANDARD',
    );
  });
});

describe('firstActiveRule (the configuration service answer)', () => {
  it('returns the first active rule, filling the optional fields', () => {
    assert.deepEqual(firstActiveRule([rule('a', { template_id: 'T' })]), {
      rule_id: 'a',
      is_active: true,
      notification_type: 'TYPE_a',
      template_id: 'T',
      language_code: null,
      include_recipient_details: false,
    });
  });

  it('skips inactive rules', () => {
    assert.equal(firstActiveRule([rule('a', { is_active: false }), rule('b'), rule('c')])?.rule_id, 'b');
  });

  it('treats a rule without is_active as active', () => {
    assert.equal(firstActiveRule([rule('a')])?.is_active, true);
  });

  it('returns null when every rule is inactive, or there is none', () => {
    assert.equal(firstActiveRule([rule('a', { is_active: false })]), null);
    assert.equal(firstActiveRule([]), null);
  });

  it('returns null for an answer that is not an array', () => {
    assert.equal(firstActiveRule({ rule_id: 'a', notification_type: 'X' }), null);
    assert.equal(firstActiveRule(null), null);
  });

  it('skips items that are not valid rules instead of giving up', () => {
    assert.equal(firstActiveRule([3, { rule_id: 'no-type' }, rule('ok')])?.rule_id, 'ok');
  });
});

describe('bundled notification rules', () => {
  const rules = bundledNotificationRules();

  it('has a rule for every trigger the domain raises', () => {
    for (const [trigger, id] of [
      ['CASE_CREATED_KYC_INDIVIDUAL_STANDARD', 'welcome_email_rule'],
      ['CASE_CREATED_KYB_COMPANY_STANDARD', 'welcome_email_kyb_rule'],
      ['DOCUMENT_REJECTED_KYB_COMPANY_STANDARD', 'document_rejected_rule'],
      ['CASE_READY_FOR_REVIEW_KYC_INDIVIDUAL_STANDARD', 'case_ready_for_review_rule'],
    ]) {
      assert.equal(matchBundledRule(rules, trigger!)?.rule_id, id, trigger);
    }
  });

  it('matches exact triggers and prefixes ending in *, first active in file order', () => {
    const custom: NotificationRules = {
      version: 1,
      rules: [
        {
          rule_id: 'off',
          description: 'd',
          event_trigger: 'CASE_CREATED_KYC_*',
          is_active: false,
          notification_type: 'A',
          template_id: null,
          language_code: null,
        },
        {
          rule_id: 'exact',
          description: 'd',
          event_trigger: 'CASE_CREATED_KYC_X',
          is_active: true,
          notification_type: 'B',
          template_id: null,
          language_code: null,
        },
        {
          rule_id: 'prefix',
          description: 'd',
          event_trigger: 'CASE_CREATED_*',
          is_active: true,
          notification_type: 'C',
          template_id: null,
          language_code: 'en',
        },
      ],
    };
    assert.equal(matchBundledRule(custom, 'CASE_CREATED_KYC_X')?.rule_id, 'exact');
    assert.equal(matchBundledRule(custom, 'CASE_CREATED_KYC_Y')?.rule_id, 'prefix');
    assert.equal(matchBundledRule(custom, 'CASE_CREATED_KYC_Y')?.language_code, 'en');
    assert.equal(matchBundledRule(custom, 'DOCUMENT_REJECTED_KYC_X'), null);
  });

  it('reports malformed triggers, missing fields, unknown fields and duplicate ids', () => {
    const json = structuredClone(rules) as unknown as { rules: Record<string, unknown>[] };
    json.rules[0]!.event_trigger = 'case_created';
    delete json.rules[1]!.notification_type;
    json.rules[2]!.colour = 'red';
    const first = parseNotificationRules(json);
    assert.ok(!first.ok);
    assert.deepEqual(first.violations, [
      {
        path: '/rules/0/event_trigger',
        message: 'must be an upper snake case trigger, optionally ending in "*"',
      },
      { path: '/rules/1/notification_type', message: 'is required' },
      { path: '/rules/2/colour', message: 'is not a known property' },
    ]);
    const duplicate = structuredClone(rules) as unknown as { rules: Record<string, unknown>[] };
    duplicate.rules[1]!.rule_id = 'welcome_email_rule';
    const second = parseNotificationRules(duplicate);
    assert.ok(!second.ok);
    assert.deepEqual(second.violations, [
      { path: '/rules/1/rule_id', message: 'duplicate rule id "welcome_email_rule"' },
    ]);
  });
});

describe('resolveNotification', () => {
  const bundled = bundledNotificationRules();
  const trigger = 'CASE_CREATED_KYC_INDIVIDUAL_STANDARD';

  it('uses the service answer when it answered with an array', () => {
    assert.deepEqual(resolveNotification({ outcome: 'answered', rules: [rule('svc')] }, bundled, trigger), {
      rule: {
        rule_id: 'svc',
        is_active: true,
        notification_type: 'TYPE_svc',
        template_id: null,
        language_code: null,
        include_recipient_details: false,
      },
      source: 'config-service',
      fallback_reason: null,
    });
  });

  it('takes an empty answer from the service as "no notification"', () => {
    assert.deepEqual(resolveNotification({ outcome: 'answered', rules: [] }, bundled, trigger), {
      rule: null,
      source: 'config-service',
      fallback_reason: null,
    });
  });

  it('falls back to the bundled rules when the service failed, and says why', () => {
    const resolution = resolveNotification(
      { outcome: 'failed', reason: 'TimeoutError: 5000 ms' },
      bundled,
      trigger,
    );
    assert.equal(resolution.rule?.rule_id, 'welcome_email_rule');
    assert.equal(resolution.source, 'bundled');
    assert.equal(resolution.fallback_reason, 'configuration service failed: TimeoutError: 5000 ms');
  });

  it('falls back to the bundled rules when the service answered something other than an array', () => {
    const resolution = resolveNotification({ outcome: 'answered', rules: { oops: true } }, bundled, trigger);
    assert.equal(resolution.source, 'bundled');
    assert.match(resolution.fallback_reason ?? '', /other than an array/);
  });

  it('uses the bundled rules without a reason when no service is configured', () => {
    assert.deepEqual(resolveNotification({ outcome: 'not_configured' }, bundled, 'UNKNOWN_TRIGGER'), {
      rule: null,
      source: 'bundled',
      fallback_reason: null,
    });
  });
});

describe('the NotificationRequired payload and the older envelope', () => {
  const NAME_MARKER = 'Zyxwmarker';
  const payload = (include_recipient_details: boolean, details: Record<string, string> = {}) =>
    notificationRequired({
      notification_id: 'n-1',
      trigger: {
        trigger: 'CASE_CREATED_KYC_INDIVIDUAL_STANDARD',
        context: {
          case_id: 'c-1',
          client_id: 'kyc-client-001',
          traitement_type: 'KYC',
          case_type: 'INDIVIDUAL_STANDARD',
        },
      },
      rule: {
        rule_id: 'r',
        is_active: true,
        notification_type: 'EMAIL_WELCOME_KYC',
        template_id: 'KYC_WELCOME_EMAIL_V1',
        language_code: null,
        include_recipient_details,
      },
      resolution: { rule: null, source: 'config-service', fallback_reason: null },
      primary_contact: { firstname: NAME_MARKER, lastname: 'Doe' },
      details,
      at: '2026-03-01T10:00:00.000Z',
    });
  const recorded = (data: NotificationRequired['data']): RecordedEvent<NotificationRequired> => ({
    type: 'NotificationRequired',
    data,
    id: 'evt-1',
    streamId: 'case-c-1',
    revision: 4n,
    position: { commit: 10n, prepare: 10n },
    created: new Date('2026-03-01T10:00:01.000Z'),
    metadata: {
      correlationId: 'corr',
      causationId: 'cause',
      idempotencyKey: 'key-1',
      actor: 'SYSTEM',
      schemaVersion: 1,
    },
  });

  it('carries ids and statuses but no name by default, keeping the older fields', () => {
    const data = payload(false, { document_type: 'PASSPORT' });
    assert.equal(data.include_recipient_details, false);
    assert.deepEqual(data.recipient_details, { case_id: 'c-1', client_id: 'kyc-client-001' });
    assert.deepEqual(data.context_data, {
      case_id: 'c-1',
      client_name: 'N/A',
      case_type: 'INDIVIDUAL_STANDARD',
      traitement_type: 'KYC',
      document_type: 'PASSPORT',
    });
    const envelope = JSON.stringify(toSeedNotificationEnvelope(recorded(data)));
    assert.ok(!envelope.includes(NAME_MARKER));
    assert.ok(!envelope.includes('Doe'));
  });

  it('builds recipient and context with names as the older service did when the rule asks', () => {
    const data = payload(true);
    assert.deepEqual(data.recipient_details, {
      case_id: 'c-1',
      client_id: 'kyc-client-001',
      primary_contact_name: `${NAME_MARKER} Doe`,
    });
    assert.deepEqual(data.context_data, {
      case_id: 'c-1',
      client_name: NAME_MARKER,
      case_type: 'INDIVIDUAL_STANDARD',
      traitement_type: 'KYC',
    });
    const envelope = toSeedNotificationEnvelope(recorded(data));
    assert.equal(envelope.payload.recipient_details.primary_contact_name, `${NAME_MARKER} Doe`);
    assert.equal(envelope.payload.context_data.client_name, NAME_MARKER);
    assert.equal(envelope.payload.recipient_details_included, true);
  });

  it('drops the names an event recorded before rules could ask for them still holds', () => {
    const { include_recipient_details: _, ...older } = payload(true);
    const envelope = toSeedNotificationEnvelope(recorded(older));
    assert.deepEqual(envelope.payload.recipient_details, { case_id: 'c-1', client_id: 'kyc-client-001' });
    assert.equal(envelope.payload.context_data.client_name, 'N/A');
    assert.equal(envelope.payload.recipient_details_included, false);
    assert.ok(!JSON.stringify(envelope).includes(NAME_MARKER));
  });

  it('reads the flag from the configuration service and the bundled rules, false unless set', () => {
    assert.equal(firstActiveRule([rule('a')])?.include_recipient_details, false);
    assert.equal(
      firstActiveRule([rule('a', { include_recipient_details: true })])?.include_recipient_details,
      true,
    );
    const bundledWithNames = parseNotificationRules({
      version: 1,
      rules: [
        {
          rule_id: 'letter',
          description: 'A letter greeting the client by name.',
          event_trigger: 'CASE_APPROVED_*',
          is_active: true,
          notification_type: 'LETTER_APPROVED',
          template_id: null,
          language_code: null,
          include_recipient_details: true,
        },
      ],
    });
    assert.ok(bundledWithNames.ok);
    assert.equal(
      matchBundledRule(bundledWithNames.value, 'CASE_APPROVED_KYC_X')?.include_recipient_details,
      true,
    );
    assert.equal(
      matchBundledRule(bundledNotificationRules(), 'CASE_CREATED_KYC_INDIVIDUAL_STANDARD')
        ?.include_recipient_details,
      false,
    );
  });

  it('maps a recorded event to the older outbound envelope, version counted from 1', () => {
    const data = payload(false);
    assert.deepEqual(toSeedNotificationEnvelope(recorded(data)), {
      event_id: 'evt-1',
      event_type: 'NotificationRequired',
      aggregate_id: 'c-1',
      timestamp: '2026-03-01T10:00:00.000Z',
      version: 5,
      payload: {
        notification_type: 'EMAIL_WELCOME_KYC',
        recipient_details: data.recipient_details,
        template_id: 'KYC_WELCOME_EMAIL_V1',
        language_code: null,
        context_data: data.context_data,
        recipient_details_included: false,
        notification_id: 'n-1',
        event_trigger: 'CASE_CREATED_KYC_INDIVIDUAL_STANDARD',
        rule_id: 'r',
        rule_source: 'config-service',
      },
      metadata: { correlation_id: 'corr', causation_id: 'cause' },
    });
  });
});
