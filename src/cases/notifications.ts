import Type, { type Static, type TSchema } from 'typebox';
import type { RecordedEvent } from '../eventsourcing/core/events.ts';
import type { NotificationRequired, NotificationRequiredData, RuleSource } from './events.ts';
import { matchesSchema, type Parsed, schemaViolations } from './validation.ts';

// When something happens that someone should hear about, the domain names it with a trigger
// string, and a rule (from the configuration service, or the bundled file) says which
// notification to send. The rule is resolved BEFORE deciding and recorded in the
// NotificationRequired event, so replaying the stream never asks the service again.

export const NOTIFICATION_EVENTS = [
  'CASE_CREATED',
  'DOCUMENT_REJECTED',
  'CASE_READY_FOR_REVIEW',
  'CASE_APPROVED',
  'CASE_REJECTED',
  'CASE_MORE_INFORMATION_REQUESTED',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/**
 * `<EVENT>_<TRAITEMENT>_<CASE_TYPE>`, upper case, with `-` and spaces turned into `_`: the older
 * service's format (`CASE_CREATED_KYC_INDIVIDUAL_STANDARD`), applied to every event.
 */
export function triggerFor(event: NotificationEvent, traitementType: string, caseType: string): string {
  return `${event}_${traitementType}_${caseType}`.toUpperCase().replace(/[-\s]/g, '_');
}

export const caseCreatedTrigger = (traitementType: string, caseType: string): string =>
  triggerFor('CASE_CREATED', traitementType, caseType);
export const documentRejectedTrigger = (traitementType: string, caseType: string): string =>
  triggerFor('DOCUMENT_REJECTED', traitementType, caseType);
export const caseReadyForReviewTrigger = (traitementType: string, caseType: string): string =>
  triggerFor('CASE_READY_FOR_REVIEW', traitementType, caseType);

/** The context the configuration service's `/rules/match` expects beside the trigger. */
export type RuleMatchContext = {
  case_id: string;
  client_id: string;
  traitement_type: string;
  case_type: string;
};

/** A trigger raised by a command, with what to send the configuration service. */
export type NotificationTrigger = { trigger: string; context: RuleMatchContext };

/** A rule, as the configuration service returns it. */
export type NotificationRule = {
  rule_id: string;
  is_active: boolean;
  notification_type: string;
  template_id: string | null;
  language_code: string | null;
  /**
   * The recipient this rule addresses needs the contact's name (a letter greeting the client by
   * name, say). False by default: a notification carries ids and statuses only.
   */
  include_recipient_details: boolean;
};

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** One item of the configuration service's answer: the older client's model (extra fields ignored). */
const ServiceRuleSchema = Type.Object({
  rule_id: Type.String({ minLength: 1 }),
  is_active: Type.Optional(Type.Boolean()),
  notification_type: Type.String({ minLength: 1 }),
  template_id: Type.Optional(nullable(Type.String())),
  language_code: Type.Optional(nullable(Type.String())),
  include_recipient_details: Type.Optional(Type.Boolean()),
});

/**
 * The first active rule of an answer from the configuration service (a JSON array), or null.
 * `is_active` defaults to true. Unlike the older client, an item that is not a valid rule is
 * skipped instead of abandoning the whole answer.
 */
export function firstActiveRule(answer: unknown): NotificationRule | null {
  if (!Array.isArray(answer)) return null;
  for (const item of answer) {
    if (!matchesSchema(ServiceRuleSchema, item)) continue;
    const rule = item as Static<typeof ServiceRuleSchema>;
    if (rule.is_active === false) continue;
    return {
      rule_id: rule.rule_id,
      is_active: true,
      notification_type: rule.notification_type,
      template_id: rule.template_id ?? null,
      language_code: rule.language_code ?? null,
      include_recipient_details: rule.include_recipient_details === true,
    };
  }
  return null;
}

// --- the bundled rules file -------------------------------------------------------------------

/** Upper snake case, optionally ending in `*` to match every trigger with that prefix. */
const TRIGGER_PATTERN = '^[A-Z][A-Z0-9_]*\\*?$';

export const BundledNotificationRuleSchema = Type.Object(
  {
    rule_id: Type.String({ pattern: '^[a-z0-9][a-z0-9_-]{0,63}$' }),
    description: Type.String({ minLength: 1 }),
    event_trigger: Type.String({
      pattern: TRIGGER_PATTERN,
      description: 'Exact trigger, or a prefix ending in "*", e.g. "CASE_CREATED_KYC_*"',
    }),
    is_active: Type.Boolean(),
    notification_type: Type.String({ minLength: 1 }),
    template_id: nullable(Type.String({ minLength: 1 })),
    language_code: nullable(Type.String({ minLength: 2, maxLength: 8 })),
    include_recipient_details: Type.Optional(
      Type.Boolean({ description: "Send the first person's name to the recipient; default false" }),
    ),
  },
  { additionalProperties: false },
);

export const NotificationRulesSchema = Type.Object(
  {
    $comment: Type.Optional(Type.String()),
    version: Type.Literal(1),
    rules: Type.Array(BundledNotificationRuleSchema),
  },
  { additionalProperties: false },
);

export type BundledNotificationRule = Static<typeof BundledNotificationRuleSchema>;
export type NotificationRules = Static<typeof NotificationRulesSchema>;

/** Checks the bundled notification rules (decoded JSON): schema, and unique rule ids. */
export function parseNotificationRules(json: unknown): Parsed<NotificationRules> {
  const violations = schemaViolations(NotificationRulesSchema, json, {
    patterns: { [TRIGGER_PATTERN]: 'must be an upper snake case trigger, optionally ending in "*"' },
  });
  if (violations.length > 0) return { ok: false, violations };
  const rules = json as NotificationRules;
  const seen = new Set<string>();
  rules.rules.forEach((rule, i) => {
    if (seen.has(rule.rule_id)) {
      violations.push({ path: `/rules/${i}/rule_id`, message: `duplicate rule id "${rule.rule_id}"` });
    }
    seen.add(rule.rule_id);
  });
  return violations.length > 0 ? { ok: false, violations } : { ok: true, value: rules };
}

const triggerMatches = (pattern: string, trigger: string): boolean =>
  pattern.endsWith('*') ? trigger.startsWith(pattern.slice(0, -1)) : pattern === trigger;

/** What the configuration service would do with the bundled rules: those for the trigger, in file order, first active. */
export function matchBundledRule(rules: NotificationRules, trigger: string): NotificationRule | null {
  return firstActiveRule(rules.rules.filter((rule) => triggerMatches(rule.event_trigger, trigger)));
}

// --- resolving a trigger (the handler's part, kept pure here) ---------------------------------

/**
 * The rule decision a command carries for one trigger. `rule: null` means "no active rule": no
 * notification, as in the older service.
 */
export type NotificationResolution = {
  rule: NotificationRule | null;
  source: RuleSource;
  fallback_reason: string | null;
};

/** Resolutions keyed by trigger string, filled by the handler before deciding. */
export type NotificationResolutions = Readonly<Record<string, NotificationResolution>>;

/** What asking the configuration service gave (mirrors the client's result), or that there is none. */
export type RuleLookup =
  | { outcome: 'answered'; rules: unknown }
  | { outcome: 'failed'; reason: string }
  | { outcome: 'not_configured' };

/**
 * Turns a lookup into the decision to record. The service's answer wins when it is an array (even
 * an empty one: "no notification" is a valid answer). When the service failed or answered
 * nonsense, the bundled rules decide and the event says why. Without a service, the bundled rules
 * decide with no reason to report.
 */
export function resolveNotification(
  lookup: RuleLookup,
  bundled: NotificationRules,
  trigger: string,
): NotificationResolution {
  switch (lookup.outcome) {
    case 'answered':
      if (Array.isArray(lookup.rules)) {
        return { rule: firstActiveRule(lookup.rules), source: 'config-service', fallback_reason: null };
      }
      return {
        rule: matchBundledRule(bundled, trigger),
        source: 'bundled',
        fallback_reason: 'configuration service answered with something other than an array of rules',
      };
    case 'failed':
      return {
        rule: matchBundledRule(bundled, trigger),
        source: 'bundled',
        fallback_reason: `configuration service failed: ${lookup.reason}`,
      };
    case 'not_configured':
      return { rule: matchBundledRule(bundled, trigger), source: 'bundled', fallback_reason: null };
    default: {
      const unknown: never = lookup;
      throw new Error(`unknown lookup outcome ${JSON.stringify(unknown)}`);
    }
  }
}

// --- the payload and the older service's outbound envelope -----------------------------------

export type NotificationInput = {
  notification_id: string;
  trigger: NotificationTrigger;
  rule: NotificationRule;
  resolution: NotificationResolution;
  /** Name of the case's first person, when there is one. */
  primary_contact: { firstname: string; lastname: string } | null;
  /** Extra context for the template (document details for a rejection). */
  details: Readonly<Record<string, string>>;
  at: string;
};

/** What a notification says instead of a name its rule did not ask for (the older "no person" value). */
export const WITHHELD_CLIENT_NAME = 'N/A';

/**
 * The NotificationRequired data. `recipient_details` and `context_data` are built as the older
 * service built them (`primary_contact_name` only when there is a person; `client_name` falls back
 * to "N/A"), plus the trigger's details, but with names only when the rule asks for them
 * (`include_recipient_details`): otherwise the contact is left out as if the case had no person,
 * so a consumer sees no field it has not seen before.
 */
export function notificationRequired(input: NotificationInput): NotificationRequiredData {
  const { context } = input.trigger;
  const contact = input.rule.include_recipient_details ? input.primary_contact : null;
  return {
    notification_id: input.notification_id,
    case_id: context.case_id,
    event_trigger: input.trigger.trigger,
    rule_id: input.rule.rule_id,
    rule_source: input.resolution.source,
    fallback_reason: input.resolution.fallback_reason,
    notification_type: input.rule.notification_type,
    include_recipient_details: input.rule.include_recipient_details,
    recipient_details: {
      case_id: context.case_id,
      client_id: context.client_id,
      ...(contact === null ? {} : { primary_contact_name: `${contact.firstname} ${contact.lastname}` }),
    },
    template_id: input.rule.template_id,
    language_code: input.rule.language_code,
    context_data: {
      case_id: context.case_id,
      client_name: contact?.firstname ?? WITHHELD_CLIENT_NAME,
      case_type: context.case_type,
      traitement_type: context.traitement_type,
      ...input.details,
    },
    required_at: input.at,
  };
}

/** The recipient fields that are never personal: everything else is a name or about one. */
const RECIPIENT_IDS = ['case_id', 'client_id'] as const;

/**
 * Recipient and context as they may leave the service. Events recorded before rules could ask
 * for names (no `include_recipient_details`) hold the contact's name: it is dropped here, so the
 * topic never carries a name its rule did not ask for, whatever the event's age.
 */
export function minimisedRecipient(data: NotificationRequiredData): {
  recipient_details: Record<string, string>;
  context_data: Record<string, string>;
} {
  if (data.include_recipient_details === true) {
    return { recipient_details: data.recipient_details, context_data: data.context_data };
  }
  const recipient_details: Record<string, string> = {};
  for (const field of RECIPIENT_IDS) {
    const value = data.recipient_details[field];
    if (value !== undefined) recipient_details[field] = value;
  }
  const context_data =
    'client_name' in data.context_data
      ? { ...data.context_data, client_name: WITHHELD_CLIENT_NAME }
      : data.context_data;
  return { recipient_details, context_data };
}

/** The message the older service published on its notification topic (key: case_id). */
export type SeedNotificationEnvelope = {
  event_id: string;
  event_type: 'NotificationRequired';
  aggregate_id: string;
  timestamp: string;
  version: number;
  payload: {
    notification_type: string;
    recipient_details: Record<string, string>;
    template_id: string | null;
    language_code: string | null;
    context_data: Record<string, string>;
    // Added fields; the older consumers ignore what they do not know.
    /** False: the rule asked for no names, so `primary_contact_name` is absent and `client_name` is "N/A". */
    recipient_details_included: boolean;
    notification_id: string;
    event_trigger: string;
    rule_id: string;
    rule_source: RuleSource;
  };
  metadata: { correlation_id: string | null; causation_id: string | null };
};

/**
 * The older service's envelope for a recorded NotificationRequired: same field names, `version`
 * is the 1-based position in the case stream, `timestamp` the business time of the event.
 */
export function toSeedNotificationEnvelope(
  event: RecordedEvent<NotificationRequired>,
): SeedNotificationEnvelope {
  const data = event.data;
  const recipient = minimisedRecipient(data);
  return {
    event_id: event.id,
    event_type: 'NotificationRequired',
    aggregate_id: data.case_id,
    timestamp: data.required_at,
    version: Number(event.revision) + 1,
    payload: {
      notification_type: data.notification_type,
      recipient_details: recipient.recipient_details,
      template_id: data.template_id,
      language_code: data.language_code,
      context_data: recipient.context_data,
      recipient_details_included: data.include_recipient_details === true,
      notification_id: data.notification_id,
      event_trigger: data.event_trigger,
      rule_id: data.rule_id,
      rule_source: data.rule_source,
    },
    metadata: { correlation_id: event.metadata.correlationId, causation_id: event.metadata.causationId },
  };
}
