import Type, { type Static, type TSchema } from 'typebox';
import { TIMELINE_CATEGORIES } from '../../projections/timeline.ts';
import { ISO_COUNTRY_CODES } from '../cases/countries.ts';
import { DOCUMENT_STATUSES, ENTITY_TYPES } from '../cases/documents.ts';
import { CASE_EVENT_TYPES, CASE_STATUSES, DECISIONS, RISK_RATINGS } from '../cases/events.ts';
import { INTAKE_OUTCOMES } from '../cases/intake-audit.ts';

// The read-model documents as the API serves them. Each schema is registered once by the server
// (`addSchema`), so the OpenAPI lists it once under components, and the same schema serialises
// the response: a field missing here would be dropped from every answer, so each lists every
// field of its document type in projections/. The documents are built only by the projections,
// so they are closed (`additionalProperties: false`); payloads and metadata stay open.

/**
 * `schema` or null. A schema of one type, or an enum of strings, becomes a type list
 * (`"type": ["string", "null"]`) rather than `anyOf`: the response serialiser tells the members of
 * a type list apart by `typeof`, but checks each `anyOf` branch by running the validator over the
 * value, on every answer. Anything else stays a union.
 */
const nullable = <T extends TSchema>(schema: T) => {
  const { type, enum: values } = schema as { type?: unknown; enum?: unknown };
  const strings = Array.isArray(values) && values.every((value) => typeof value === 'string');
  if (typeof type === 'string' || (type === undefined && strings)) {
    return Type.Unsafe<Static<T> | null>({
      ...schema,
      type: [type ?? 'string', 'null'],
      ...(Array.isArray(values) ? { enum: [...values, null] } : {}),
    });
  }
  return Type.Union([schema, Type.Null()]);
};
const Timestamp = Type.String({ format: 'date-time', description: 'ISO 8601, UTC' });
const DateOnly = Type.String({ description: 'ISO 8601 date (YYYY-MM-DD)', examples: ['1990-01-15'] });
const Country = Type.Enum([...ISO_COUNTRY_CODES], { description: 'ISO 3166-1 alpha-2' });

export { CASE_STATUSES };
export const CaseStatus = Type.Enum([...CASE_STATUSES], {
  description:
    'OPEN until every document requirement is resolved, then PENDING_REVIEW; IN_REVIEW once assigned; then APPROVED, REJECTED or MORE_INFORMATION_REQUESTED; CLOSED when closed (see the case transition table)',
});
export const TraitementType = Type.Enum(['KYC', 'KYB']);
export const DocumentStatus = Type.Enum([...DOCUMENT_STATUSES]);
export const EntityType = Type.Enum([...ENTITY_TYPES]);

const Violation = Type.Object(
  { path: Type.String({ description: 'JSON pointer into the message' }), message: Type.String() },
  { additionalProperties: false },
);

const closed = { additionalProperties: false } as const;
const RiskRating = Type.Enum([...RISK_RATINGS]);

const CaseRisk = Type.Object(
  {
    computed: nullable(RiskRating),
    score: nullable(Type.Number()),
    factors: Type.Array(
      Type.Object(
        { factor: Type.String(), input: Type.String(), points: Type.Number(), detail: Type.String() },
        closed,
      ),
      { description: 'Every rule that added points to the computed rating' },
    ),
    rules_version: nullable(
      Type.String({ description: 'Version of the risk rules file that rated the case' }),
    ),
    rated_at: nullable(Timestamp),
    override: nullable(
      Type.Object(
        {
          rating: RiskRating,
          computed_rating: nullable(RiskRating),
          reason: Type.String(),
          by: Type.String(),
          at: Timestamp,
        },
        closed,
      ),
    ),
    effective: nullable(RiskRating),
  },
  { ...closed, description: 'The computed rating and any manual override, side by side; `effective` counts' },
);

const CaseDocument = Type.Object(
  {
    id: Type.String(),
    client_id: Type.String(),
    version: Type.String({ description: 'The intake schema version ("1.0")' }),
    type: Type.String({
      description: 'Case type, e.g. INDIVIDUAL_STANDARD',
      examples: ['INDIVIDUAL_STANDARD'],
    }),
    traitement_type: TraitementType,
    company_id: nullable(Type.String()),
    status: CaseStatus,
    idempotency_key: Type.String(),
    persons_count: Type.Integer({ minimum: 0 }),
    beneficial_owners_count: Type.Integer({ minimum: 0 }),
    documents_total: Type.Integer({ minimum: 0 }),
    document_counts: Type.Object(
      Object.fromEntries(DOCUMENT_STATUSES.map((status) => [status, Type.Integer({ minimum: 0 })])),
      { ...closed, description: 'Requirements per status; every status is present, zero included' },
    ),
    intake_warnings: Type.Array(
      Type.Object(
        {
          path: Type.String(),
          code: Type.Enum(['company_profile_ignored', 'person_without_role']),
          message: Type.String(),
        },
        closed,
      ),
    ),
    assignee: nullable(Type.String({ description: 'The reviewer (API key name)' })),
    risk: CaseRisk,
    approvals: Type.Array(Type.Object({ by: Type.String(), at: Timestamp }, closed), {
      description: 'APPROVE decisions of the current review; a HIGH-risk case needs two by different people',
    }),
    last_decision: nullable(
      Type.Object(
        {
          decision: Type.Enum([...DECISIONS]),
          reason_codes: Type.Array(Type.String()),
          comment: nullable(Type.String()),
          by: Type.String(),
          at: Timestamp,
        },
        closed,
      ),
    ),
    status_since: Timestamp,
    time_in_status: Type.Object(
      Object.fromEntries(CASE_STATUSES.map((status) => [status, Type.Number({ minimum: 0 })])),
      {
        ...closed,
        description:
          'Seconds spent in each status before the current one, every status present; the current stint runs from status_since',
      },
    ),
    in_review_queue: Type.Boolean({ description: 'PENDING_REVIEW or IN_REVIEW' }),
    review_queue_since: nullable(Timestamp),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { ...closed, description: 'A KYC or KYB case' },
);

const PersonDocument = Type.Object(
  {
    id: Type.String(),
    case_id: Type.String(),
    company_id: nullable(Type.String()),
    firstname: Type.String(),
    lastname: Type.String(),
    birthdate: nullable(DateOnly),
    role_in_company: nullable(Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { ...closed, description: 'A person of a case: the KYC individual, or a KYB director or role holder' },
);

const CompanyDocument = Type.Object(
  {
    id: Type.String(),
    case_id: Type.String(),
    registered_name: Type.String(),
    trading_name: nullable(Type.String()),
    registration_number: Type.String(),
    registration_date: nullable(DateOnly),
    country_of_incorporation: Country,
    registered_address: Type.Object(
      {
        street: nullable(Type.String()),
        city: nullable(Type.String()),
        state_province: nullable(Type.String()),
        postal_code: nullable(Type.String()),
        country: Country,
      },
      closed,
    ),
    business_type: nullable(Type.String()),
    industry_sector: nullable(Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { ...closed, description: 'The company of a KYB case' },
);

const BeneficialOwnerDocument = Type.Object(
  {
    id: Type.String(),
    company_id: Type.String(),
    case_id: Type.String(),
    firstname: Type.String(),
    lastname: Type.String(),
    birthdate: nullable(DateOnly),
    role_in_company: nullable(Type.String()),
    ownership_percentage: nullable(Type.Number({ minimum: 0, maximum: 100 })),
    types_of_control: Type.Array(Type.String()),
    is_ubo: Type.Boolean({ description: 'Ultimate beneficial owner' }),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { ...closed, description: 'A beneficial owner of a company' },
);

const DocumentRequirementDocument = Type.Object(
  {
    id: Type.String(),
    case_id: Type.String(),
    entity_id: Type.String({ description: 'The person, company or beneficial owner it is required of' }),
    entity_type: EntityType,
    document_type: Type.String({ examples: ['PASSPORT'] }),
    status: DocumentStatus,
    is_required: Type.Boolean(),
    metadata: nullable(
      Type.Record(Type.String(), Type.Unknown(), {
        description: 'Merged shallowly from every status change’s metadata_changes',
      }),
    ),
    notes: Type.Array(Type.String(), { description: 'Every note added, oldest first' }),
    version: Type.Integer({
      minimum: 1,
      description: '1 when required, one more per status change; the ETag',
    }),
    rule_ids: Type.Array(Type.String()),
    updated_by: nullable(Type.String()),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { ...closed, description: 'A document a case needs from one of its entities' },
);

const RawIntakeDocument = Type.Object(
  {
    id: Type.String(),
    event_type: Type.Enum(['KAFKA_MESSAGE_RAW_STORED', 'HTTP_INTAKE_RECEIVED']),
    payload: Type.Unknown({ description: 'The message as parsed, or null when it was not JSON' }),
    raw_text: nullable(Type.String({ description: 'The text as received when it could not be parsed' })),
    received_at: Timestamp,
    processed_at: Timestamp,
    source: Type.Enum(['kafka', 'http']),
    transport: Type.Record(Type.String(), Type.String(), {
      description: 'Kafka topic, partition, offset and key; or HTTP method and path',
    }),
    idempotency_key: nullable(Type.String()),
    outcome: Type.Enum([...INTAKE_OUTCOMES]),
    case_id: nullable(Type.String()),
    violations: Type.Array(Violation),
    error_code: nullable(Type.String()),
  },
  { ...closed, description: 'An intake received over Kafka or HTTP, valid or not, with its outcome' },
);

const CaseEvent = Type.Object(
  {
    event_id: Type.String(),
    event_type: Type.Enum([...CASE_EVENT_TYPES]),
    aggregate_id: Type.String({ description: 'The case id' }),
    revision: Type.String({ pattern: '^[0-9]+$', description: 'Position in the case stream, from 0' }),
    position: Type.String({ pattern: '^[0-9]+-[0-9]+$', description: 'Position in the whole log' }),
    timestamp: Timestamp,
    payload: Type.Object({}, { additionalProperties: true, description: 'The event data, by event_type' }),
    metadata: Type.Object({}, { additionalProperties: true }),
  },
  { ...closed, description: 'An event of a case stream, as stored' },
);

const Who = Type.Object(
  {
    type: Type.String({
      description: 'USER (an API key name), INTAKE, SYSTEM, or COMMAND (the caller of the command)',
    }),
    id: nullable(Type.String()),
  },
  closed,
);

const TimelineEntry = Type.Object(
  {
    id: Type.String({ description: 'The id of the event the entry stands for' }),
    case_id: Type.String(),
    at: Timestamp,
    sequence: Type.String({ pattern: '^[0-9]+$', description: 'Place in the whole log, zero-padded' }),
    stream: Type.String({ description: '`case-<id>`, or `access-<id>` for reads of personal data' }),
    revision: Type.Integer({ minimum: 0 }),
    event_type: Type.String(),
    category: Type.Enum([...TIMELINE_CATEGORIES]),
    actor: Who,
    subject: nullable(Type.Object({ type: Type.String(), id: Type.String() }, closed)),
    summary: Type.String(),
    before: nullable(Type.Object({}, { additionalProperties: true })),
    after: nullable(Type.Object({}, { additionalProperties: true })),
    reason_codes: Type.Array(Type.String()),
    comment: nullable(Type.String()),
    why: nullable(Type.String()),
  },
  { ...closed, description: 'One change to a case, or one read of its personal data: who, when, what, why' },
);

/** Every shared response schema, by its `$id` (the name under components/schemas). */
export const SHARED_SCHEMAS = {
  CaseDocument,
  PersonDocument,
  CompanyDocument,
  BeneficialOwnerDocument,
  DocumentRequirementDocument,
  RawIntakeDocument,
  CaseEvent,
  TimelineEntry,
} as const;

export type SharedSchemaName = keyof typeof SHARED_SCHEMAS;

/**
 * A reference to a shared schema. Typed as a loose document: the ports hand the routes read-model
 * documents as records, and the serialiser (not the compiler) holds them to the schema.
 */
export const ref = (name: SharedSchemaName) =>
  Type.Unsafe<Record<string, unknown> & { id?: string }>({ $ref: `${name}#` });
