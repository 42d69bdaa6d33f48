import Type, { type Static, type TSchema } from 'typebox';
import {
  createEventRegistry,
  defineEvent,
  type EventRegistry,
} from '../eventsourcing/core/event-definitions.ts';
import type { DomainEvent } from '../eventsourcing/core/events.ts';
import { ISO_COUNTRY_CODES } from './countries.ts';
import { DOCUMENT_STATUSES, ENTITY_TYPES } from './documents.ts';
import { matchesSchema } from './validation.ts';

// Everything about a case lives in one stream, `case-<case_id>`: the case, its company, persons,
// owners, document requirements and notifications. Payloads are snake_case like the older
// service's events and read models, every field is always present (null when unknown), and times
// are ISO-8601 strings taken from the command, never from a clock.

const Timestamp = Type.String({ format: 'date-time', description: 'ISO-8601 instant' });
const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const ActorSchema = Type.Object(
  {
    type: Type.String({ minLength: 1, description: 'Kind of actor, e.g. SYSTEM, USER, KAFKA' }),
    id: nullable(Type.String({ minLength: 1, description: 'Who exactly, when known' })),
  },
  { description: 'Who asked for the change' },
);
export type Actor = Static<typeof ActorSchema>;

export const TraitementTypeSchema = Type.Enum(['KYC', 'KYB']);
/** The case's lifecycle; the transition table is CASE_TRANSITIONS in review.ts. */
export const CASE_STATUSES = [
  'OPEN',
  'PENDING_REVIEW',
  'IN_REVIEW',
  'MORE_INFORMATION_REQUESTED',
  'APPROVED',
  'REJECTED',
  'CLOSED',
] as const;
export const CaseStatusSchema = Type.Enum([...CASE_STATUSES]);
export type CaseStatus = Static<typeof CaseStatusSchema>;
const Country = Type.Enum([...ISO_COUNTRY_CODES]);
const DocumentStatusSchema = Type.Enum([...DOCUMENT_STATUSES]);
const EntityTypeSchema = Type.Enum([...ENTITY_TYPES]);

export const IntakeWarningSchema = Type.Object({
  path: Type.String(),
  code: Type.Enum(['company_profile_ignored', 'person_without_role']),
  message: Type.String(),
});
export type IntakeWarning = Static<typeof IntakeWarningSchema>;

export const CaseOpenedSchema = Type.Object({
  case_id: Type.String(),
  idempotency_key: Type.String(),
  /** Derived from the normalised intake: tells a re-send from a reused key. */
  intake_fingerprint: Type.String(),
  client_id: Type.String(),
  /** The intake's `version` ("1.0"), named as in the older service's CaseCreated. */
  case_version: Type.String(),
  case_type: Type.String(),
  traitement_type: TraitementTypeSchema,
  company_id: nullable(Type.String()),
  opened_at: Timestamp,
  opened_by: ActorSchema,
  /** What the intake held that the case does not use, so nothing is dropped silently. */
  intake_warnings: Type.Array(IntakeWarningSchema),
});

const AddressRecord = Type.Object({
  street: nullable(Type.String()),
  city: nullable(Type.String()),
  state_province: nullable(Type.String()),
  postal_code: nullable(Type.String()),
  country: Country,
});

export const CompanyRegisteredSchema = Type.Object({
  company_id: Type.String(),
  case_id: Type.String(),
  registered_name: Type.String(),
  trading_name: nullable(Type.String()),
  registration_number: Type.String(),
  registration_date: nullable(Type.String()),
  country_of_incorporation: Country,
  registered_address: AddressRecord,
  business_type: nullable(Type.String()),
  industry_sector: nullable(Type.String()),
  registered_at: Timestamp,
});

const PersonDetails = Type.Object({
  firstname: Type.String(),
  lastname: Type.String(),
  birthdate: nullable(Type.String()),
  role_in_company: nullable(Type.String()),
});

export const PersonAddedSchema = Type.Object({
  person_id: Type.String(),
  case_id: Type.String(),
  /** Set for a KYB person with a role: linked to the company. */
  company_id: nullable(Type.String()),
  firstname: Type.String(),
  lastname: Type.String(),
  birthdate: nullable(Type.String()),
  role_in_company: nullable(Type.String()),
  added_at: Timestamp,
});

export const BeneficialOwnerAddedSchema = Type.Object({
  beneficial_owner_id: Type.String(),
  case_id: Type.String(),
  company_id: Type.String(),
  person_details: PersonDetails,
  ownership_percentage: nullable(Type.Number({ minimum: 0, maximum: 100 })),
  types_of_control: Type.Array(Type.String()),
  is_ubo: Type.Boolean(),
  added_at: Timestamp,
});

export const DocumentRequiredSchema = Type.Object({
  document_requirement_id: Type.String(),
  case_id: Type.String(),
  entity_id: Type.String(),
  entity_type: EntityTypeSchema,
  document_type: Type.String(),
  is_required: Type.Boolean(),
  status: Type.Literal('AWAITING_UPLOAD'),
  /** The rules (document-requirements.json ids) that asked for this document. */
  rule_ids: Type.Array(Type.String()),
  required_at: Timestamp,
  required_by: ActorSchema,
});

export const DocumentStatusChangedSchema = Type.Object({
  document_requirement_id: Type.String(),
  case_id: Type.String(),
  entity_id: Type.String(),
  entity_type: EntityTypeSchema,
  document_type: Type.String(),
  old_status: DocumentStatusSchema,
  new_status: DocumentStatusSchema,
  actor: ActorSchema,
  /** The older service's `updated_by`: the actor's id, else its type. */
  updated_by: Type.String(),
  notes_added: Type.Array(Type.String()),
  /** Keys to merge into the requirement's metadata (shallow); null when none. */
  metadata_changes: nullable(Type.Record(Type.String(), Type.Unknown())),
  changed_at: Timestamp,
});

export const CaseStatusChangedSchema = Type.Object({
  case_id: Type.String(),
  old_status: CaseStatusSchema,
  new_status: CaseStatusSchema,
  reason: Type.Enum([
    'all_documents_resolved',
    'documents_outstanding',
    'review_started',
    'approved',
    'rejected',
    'information_requested',
    'resubmitted',
    'closed',
    'reopened',
  ]),
  changed_at: Timestamp,
});

export const CaseAssignedSchema = Type.Object({
  case_id: Type.String(),
  /** The API key name of the person who now reviews the case. */
  assignee: Type.String(),
  previous_assignee: nullable(Type.String()),
  actor: ActorSchema,
  assigned_at: Timestamp,
});

export const DECISIONS = ['APPROVE', 'REJECT', 'REQUEST_INFORMATION'] as const;
export const DecisionSchema = Type.Enum([...DECISIONS]);
export type Decision = Static<typeof DecisionSchema>;

export const CaseDecisionRecordedSchema = Type.Object({
  case_id: Type.String(),
  decision: DecisionSchema,
  /** Codes from src/cases/rules/reason-codes.json. */
  reason_codes: Type.Array(Type.String()),
  comment: nullable(Type.String()),
  /** document_requirement_ids sent back to AWAITING_UPLOAD (REQUEST_INFORMATION only). */
  requested_documents: Type.Array(Type.String()),
  /** Names of the fields the client is asked to complete or correct (REQUEST_INFORMATION only). */
  requested_fields: Type.Array(Type.String()),
  /** Approvals the case needed when this decision was taken: 2 for an effective HIGH risk, else 1. */
  approvals_needed: Type.Integer({ minimum: 0 }),
  /** Approvals counted in this review, this one included (0 for other decisions). */
  approvals_so_far: Type.Integer({ minimum: 0 }),
  actor: ActorSchema,
  decided_at: Timestamp,
});

export const CaseClosedSchema = Type.Object({
  case_id: Type.String(),
  reason_code: Type.String(),
  comment: nullable(Type.String()),
  actor: ActorSchema,
  closed_at: Timestamp,
});

export const CaseReopenedSchema = Type.Object({
  case_id: Type.String(),
  reason_code: Type.String(),
  comment: nullable(Type.String()),
  actor: ActorSchema,
  reopened_at: Timestamp,
});

export const RISK_RATINGS = ['LOW', 'MEDIUM', 'HIGH'] as const;
export const RiskRatingSchema = Type.Enum([...RISK_RATINGS]);
export type RiskRating = Static<typeof RiskRatingSchema>;

export const RiskFactorSchema = Type.Object({
  /** Which rule of the rules file, e.g. "country_of_incorporation". */
  factor: Type.String(),
  /** The case's value the rule looked at, as text ("IR", "3", "crypto exchange"). */
  input: Type.String(),
  points: Type.Number(),
  detail: Type.String(),
});
export type RiskFactor = Static<typeof RiskFactorSchema>;

export const RiskRatedSchema = Type.Object({
  case_id: Type.String(),
  rating: RiskRatingSchema,
  score: Type.Number(),
  /** Every rule that added points, in rules-file order. */
  factors: Type.Array(RiskFactorSchema),
  rules_version: Type.String(),
  /**
   * What made the rating run: "intake"; "rules_changed" when a newer rules file rates differently
   * at assignment; "first_review" for a case opened before ratings existed.
   */
  trigger: Type.String(),
  rated_at: Timestamp,
});

export const RiskOverriddenSchema = Type.Object({
  case_id: Type.String(),
  rating: RiskRatingSchema,
  /** The computed rating at the time, kept beside the override. */
  computed_rating: nullable(RiskRatingSchema),
  reason: Type.String(),
  actor: ActorSchema,
  overridden_at: Timestamp,
});

export const RuleSourceSchema = Type.Enum(['config-service', 'bundled']);
export type RuleSource = Static<typeof RuleSourceSchema>;

export const NotificationRequiredSchema = Type.Object({
  notification_id: Type.String(),
  case_id: Type.String(),
  event_trigger: Type.String(),
  rule_id: Type.String(),
  /** Where the rule came from; decided once, before the event was written, so replays never ask again. */
  rule_source: RuleSourceSchema,
  /** Why the configuration service's answer was not used, when it was not. */
  fallback_reason: nullable(Type.String()),
  // The older service's NotificationRequired payload, field for field.
  notification_type: Type.String(),
  /**
   * The rule asked for the contact's name (absent on events recorded before rules could ask: they
   * read as false, and the envelope drops the names they hold).
   */
  include_recipient_details: Type.Optional(Type.Boolean()),
  recipient_details: Type.Record(Type.String(), Type.String()),
  template_id: nullable(Type.String()),
  language_code: nullable(Type.String()),
  context_data: Type.Record(Type.String(), Type.String()),
  required_at: Timestamp,
});

export type CaseOpenedData = Static<typeof CaseOpenedSchema>;
export type CompanyRegisteredData = Static<typeof CompanyRegisteredSchema>;
export type PersonAddedData = Static<typeof PersonAddedSchema>;
export type BeneficialOwnerAddedData = Static<typeof BeneficialOwnerAddedSchema>;
export type DocumentRequiredData = Static<typeof DocumentRequiredSchema>;
export type DocumentStatusChangedData = Static<typeof DocumentStatusChangedSchema>;
export type CaseStatusChangedData = Static<typeof CaseStatusChangedSchema>;
export type NotificationRequiredData = Static<typeof NotificationRequiredSchema>;
export type CaseAssignedData = Static<typeof CaseAssignedSchema>;
export type CaseDecisionRecordedData = Static<typeof CaseDecisionRecordedSchema>;
export type CaseClosedData = Static<typeof CaseClosedSchema>;
export type CaseReopenedData = Static<typeof CaseReopenedSchema>;
export type RiskRatedData = Static<typeof RiskRatedSchema>;
export type RiskOverriddenData = Static<typeof RiskOverriddenSchema>;

export type CaseOpened = DomainEvent<'CaseOpened', CaseOpenedData>;
export type CompanyRegistered = DomainEvent<'CompanyRegistered', CompanyRegisteredData>;
export type PersonAdded = DomainEvent<'PersonAdded', PersonAddedData>;
export type BeneficialOwnerAdded = DomainEvent<'BeneficialOwnerAdded', BeneficialOwnerAddedData>;
export type DocumentRequired = DomainEvent<'DocumentRequired', DocumentRequiredData>;
export type DocumentStatusChanged = DomainEvent<'DocumentStatusChanged', DocumentStatusChangedData>;
export type CaseStatusChanged = DomainEvent<'CaseStatusChanged', CaseStatusChangedData>;
export type NotificationRequired = DomainEvent<'NotificationRequired', NotificationRequiredData>;
export type CaseAssigned = DomainEvent<'CaseAssigned', CaseAssignedData>;
export type CaseDecisionRecorded = DomainEvent<'CaseDecisionRecorded', CaseDecisionRecordedData>;
export type CaseClosed = DomainEvent<'CaseClosed', CaseClosedData>;
export type CaseReopened = DomainEvent<'CaseReopened', CaseReopenedData>;
export type RiskRated = DomainEvent<'RiskRated', RiskRatedData>;
export type RiskOverridden = DomainEvent<'RiskOverridden', RiskOverriddenData>;

export type CaseEvent =
  | CaseOpened
  | CompanyRegistered
  | PersonAdded
  | BeneficialOwnerAdded
  | DocumentRequired
  | DocumentStatusChanged
  | CaseStatusChanged
  | NotificationRequired
  | CaseAssigned
  | CaseDecisionRecorded
  | CaseClosed
  | CaseReopened
  | RiskRated
  | RiskOverridden;

export type CaseEventType = CaseEvent['type'];

/** The schema of each event's data, to check what is read back and to document the stream. */
export const CASE_EVENT_SCHEMAS = {
  CaseOpened: CaseOpenedSchema,
  CompanyRegistered: CompanyRegisteredSchema,
  PersonAdded: PersonAddedSchema,
  BeneficialOwnerAdded: BeneficialOwnerAddedSchema,
  DocumentRequired: DocumentRequiredSchema,
  DocumentStatusChanged: DocumentStatusChangedSchema,
  CaseStatusChanged: CaseStatusChangedSchema,
  NotificationRequired: NotificationRequiredSchema,
  CaseAssigned: CaseAssignedSchema,
  CaseDecisionRecorded: CaseDecisionRecordedSchema,
  CaseClosed: CaseClosedSchema,
  CaseReopened: CaseReopenedSchema,
  RiskRated: RiskRatedSchema,
  RiskOverridden: RiskOverriddenSchema,
} as const satisfies Record<CaseEventType, TSchema>;

/**
 * Schema version of each event type, written to `metadata.schemaVersion`. A change to a payload's
 * shape bumps its version and adds an upcaster beside `evolveCase`.
 */
export const CASE_EVENT_VERSIONS = {
  CaseOpened: 1,
  CompanyRegistered: 1,
  PersonAdded: 1,
  BeneficialOwnerAdded: 1,
  DocumentRequired: 1,
  DocumentStatusChanged: 1,
  CaseStatusChanged: 1,
  NotificationRequired: 1,
  CaseAssigned: 1,
  CaseDecisionRecorded: 1,
  CaseClosed: 1,
  CaseReopened: 1,
  RiskRated: 1,
  RiskOverridden: 1,
} as const satisfies Record<CaseEventType, number>;

/** The framework's event definitions of the case stream (all at version 1, so no upcasters yet). */
export const caseEventDefinitions = [
  defineEvent({ type: 'CaseOpened', schema: CaseOpenedSchema, version: CASE_EVENT_VERSIONS.CaseOpened }),
  defineEvent({
    type: 'CompanyRegistered',
    schema: CompanyRegisteredSchema,
    version: CASE_EVENT_VERSIONS.CompanyRegistered,
  }),
  defineEvent({ type: 'PersonAdded', schema: PersonAddedSchema, version: CASE_EVENT_VERSIONS.PersonAdded }),
  defineEvent({
    type: 'BeneficialOwnerAdded',
    schema: BeneficialOwnerAddedSchema,
    version: CASE_EVENT_VERSIONS.BeneficialOwnerAdded,
  }),
  defineEvent({
    type: 'DocumentRequired',
    schema: DocumentRequiredSchema,
    version: CASE_EVENT_VERSIONS.DocumentRequired,
  }),
  defineEvent({
    type: 'DocumentStatusChanged',
    schema: DocumentStatusChangedSchema,
    version: CASE_EVENT_VERSIONS.DocumentStatusChanged,
  }),
  defineEvent({
    type: 'CaseStatusChanged',
    schema: CaseStatusChangedSchema,
    version: CASE_EVENT_VERSIONS.CaseStatusChanged,
  }),
  defineEvent({
    type: 'NotificationRequired',
    schema: NotificationRequiredSchema,
    version: CASE_EVENT_VERSIONS.NotificationRequired,
  }),
  defineEvent({
    type: 'CaseAssigned',
    schema: CaseAssignedSchema,
    version: CASE_EVENT_VERSIONS.CaseAssigned,
  }),
  defineEvent({
    type: 'CaseDecisionRecorded',
    schema: CaseDecisionRecordedSchema,
    version: CASE_EVENT_VERSIONS.CaseDecisionRecorded,
  }),
  defineEvent({ type: 'CaseClosed', schema: CaseClosedSchema, version: CASE_EVENT_VERSIONS.CaseClosed }),
  defineEvent({
    type: 'CaseReopened',
    schema: CaseReopenedSchema,
    version: CASE_EVENT_VERSIONS.CaseReopened,
  }),
  defineEvent({ type: 'RiskRated', schema: RiskRatedSchema, version: CASE_EVENT_VERSIONS.RiskRated }),
  defineEvent({
    type: 'RiskOverridden',
    schema: RiskOverriddenSchema,
    version: CASE_EVENT_VERSIONS.RiskOverridden,
  }),
] as const;

/** The registry the command handler encodes and decodes case events with. */
export const createCaseEventRegistry = (): EventRegistry<CaseEvent> =>
  createEventRegistry(caseEventDefinitions);

export const CASE_EVENT_TYPES = Object.keys(CASE_EVENT_SCHEMAS) as CaseEventType[];

export const isCaseEventType = (type: string): type is CaseEventType =>
  Object.hasOwn(CASE_EVENT_SCHEMAS, type);

/** True when the event is one of ours and its data matches that type's schema. */
export function isCaseEvent(event: DomainEvent): event is CaseEvent {
  return isCaseEventType(event.type) && matchesSchema(CASE_EVENT_SCHEMAS[event.type], event.data);
}
