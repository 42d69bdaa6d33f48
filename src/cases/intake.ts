import Type, { type Static, type TSchema } from 'typebox';
import { type CountryCode, ISO_COUNTRY_CODES } from './countries.ts';
import { inputLimitViolations } from './limits.ts';
import { schemaViolations, type Violation } from './validation.ts';

export type { Violation } from './validation.ts';

// The client message ("intake") exactly as the older service received it on Kafka, snake_case,
// with its rules tightened (see README.md, "Intake contract"). This schema is the one source of
// truth for Kafka, HTTP and OpenAPI, so it stays plain JSON Schema: no transforms, no custom keywords.

/** At least one character that is not white space (patterns are unanchored in JSON Schema). */
const NOT_BLANK = '\\S';
const CASE_TYPE = '^[A-Za-z][A-Za-z0-9_-]{0,63}$';
const TRAITEMENT_TYPE = '^[Kk][Yy][BbCc]$';
const NO_OUTER_SPACE = '^\\S(.*\\S)?$';
/** Years 1900–2099; `format: date` then checks that the day exists in that month. */
const BIRTH_DATE = '^(19|20)\\d\\d-\\d\\d-\\d\\d$';
const ISO_DATE = '^\\d{4}-\\d\\d-\\d\\d$';

/** Human messages for the patterns above, keyed by the pattern as it appears in errors. */
const PATTERN_MESSAGES: Readonly<Record<string, string>> = {
  [NOT_BLANK]: 'must not be blank',
  [CASE_TYPE]: 'must start with a letter and hold only letters, digits, "_" or "-" (at most 64)',
  [TRAITEMENT_TYPE]: 'traitement_type must be either KYC or KYB',
  [NO_OUTER_SPACE]: 'must not start or end with white space',
  [BIRTH_DATE]: 'must be a date in the form YYYY-MM-DD between 1900-01-01 and 2099-12-31',
  [ISO_DATE]: 'must be a date in the form YYYY-MM-DD',
};

/** The older service's wording for its one fixed value; producers may match on it. */
const PATH_MESSAGES: Readonly<Record<string, string>> = {
  '/version': 'Version must be 1.0 for this schema processing',
};

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
const text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, pattern: NOT_BLANK, description });

const Country = (description: string) =>
  Type.Enum([...ISO_COUNTRY_CODES], {
    description: `${description}: ISO 3166-1 alpha-2 code, upper case`,
    examples: ['GB'],
  });

export const PersonSchema = Type.Object(
  {
    firstname: text(100, 'Given name(s)'),
    lastname: text(100, 'Family name'),
    birthdate: Type.Optional(
      nullable(
        Type.String({
          format: 'date',
          pattern: BIRTH_DATE,
          description: 'Date of birth, YYYY-MM-DD; not in the future',
          examples: ['1990-01-15'],
        }),
      ),
    ),
    role_in_company: Type.Optional(
      nullable(
        Type.String({
          minLength: 1,
          maxLength: 100,
          pattern: NOT_BLANK,
          description:
            'Free-text role in the company (KYB), e.g. "Director". A KYB person with a role is linked to the company and needs documents; without one the person stays on the case only.',
          examples: ['Director'],
        }),
      ),
    ),
  },
  { description: 'A natural person named in the intake.' },
);

export const AddressSchema = Type.Object(
  {
    street: Type.Optional(nullable(text(200, 'Street and number'))),
    city: Type.Optional(nullable(text(100, 'City'))),
    state_province: Type.Optional(nullable(text(100, 'State, province or region'))),
    postal_code: Type.Optional(nullable(text(20, 'Postal code'))),
    country: Country('Country'),
  },
  { description: 'A postal address; only the country is required.' },
);

export const CompanyProfileSchema = Type.Object(
  {
    registered_name: text(200, 'Name in the company register'),
    trading_name: Type.Optional(nullable(text(200, 'Name the company trades under'))),
    registration_number: text(64, 'Number in the company register'),
    registration_date: Type.Optional(
      nullable(
        Type.String({
          format: 'date',
          pattern: ISO_DATE,
          description: 'Date of registration, YYYY-MM-DD; not in the future',
        }),
      ),
    ),
    country_of_incorporation: Country('Country of incorporation'),
    registered_address: AddressSchema,
    business_type: Type.Optional(nullable(text(100, 'Legal form, e.g. "Limited Company", "PLC"'))),
    industry_sector: Type.Optional(nullable(text(100, 'Industry sector'))),
  },
  { description: 'The company under review. Required for KYB; ignored (with a warning) for KYC.' },
);

export const BeneficialOwnerSchema = Type.Object(
  {
    person_details: PersonSchema,
    ownership_percentage: Type.Optional(
      nullable(Type.Number({ minimum: 0, maximum: 100, description: 'Share owned, 0–100 inclusive' })),
    ),
    types_of_control: Type.Optional(
      nullable(
        Type.Array(text(100, 'A kind of control, e.g. "SHAREHOLDING_OVER_25"'), {
          maxItems: 20,
          description: 'How the owner controls the company; absent or null means none',
        }),
      ),
    ),
    is_ubo: Type.Optional(Type.Boolean({ description: 'Ultimate beneficial owner; defaults to false' })),
  },
  { description: 'A beneficial owner of the company (KYB only).' },
);

export const IntakeSchema = Type.Object(
  {
    client_id: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: NO_OUTER_SPACE,
      description: 'Identifier of the client in the calling system',
      examples: ['kyc-client-001'],
    }),
    version: Type.Literal('1.0', { description: 'Message schema version; only "1.0" exists' }),
    type: Type.String({
      pattern: CASE_TYPE,
      description:
        'Case type, e.g. INDIVIDUAL_STANDARD, COMPANY_STANDARD, ENHANCED_DUE_DILIGENCE. Normalised to upper case with "-" → "_".',
      examples: ['INDIVIDUAL_STANDARD'],
    }),
    traitement_type: Type.String({
      pattern: TRAITEMENT_TYPE,
      description: 'KYC (a person) or KYB (a business); any letter case, normalised to upper case',
      examples: ['KYC'],
    }),
    persons: Type.Array(PersonSchema, {
      maxItems: 100,
      description: 'Persons named in the intake; at least one for KYC',
    }),
    company_profile: Type.Optional(nullable(CompanyProfileSchema)),
    beneficial_owners: Type.Optional(
      nullable(
        Type.Array(BeneficialOwnerSchema, {
          maxItems: 100,
          description: 'KYB only; for KYC it must be absent, null or empty',
        }),
      ),
    ),
  },
  {
    title: 'Intake',
    description:
      'A request to open a KYC or KYB case, as producers send it on Kafka and over HTTP. Unknown fields are ignored.',
    examples: [
      {
        client_id: 'kyc-client-001',
        version: '1.0',
        type: 'INDIVIDUAL_STANDARD',
        traitement_type: 'KYC',
        persons: [{ firstname: 'John', lastname: 'Doe', birthdate: '1990-01-15' }],
      },
    ],
  },
);

/** The message as it arrives, once it matches the schema (optional fields may be absent). */
export type IntakeMessage = Static<typeof IntakeSchema>;

export type TraitementType = 'KYC' | 'KYB';

export type Person = {
  firstname: string;
  lastname: string;
  birthdate: string | null;
  role_in_company: string | null;
};

export type Address = {
  street: string | null;
  city: string | null;
  state_province: string | null;
  postal_code: string | null;
  country: CountryCode;
};

export type CompanyProfile = {
  registered_name: string;
  trading_name: string | null;
  registration_number: string;
  registration_date: string | null;
  country_of_incorporation: CountryCode;
  registered_address: Address;
  business_type: string | null;
  industry_sector: string | null;
};

export type BeneficialOwner = {
  person_details: Person;
  ownership_percentage: number | null;
  types_of_control: string[];
  is_ubo: boolean;
};

/**
 * A valid intake, normalised: every optional field present (null or empty), `traitement_type`
 * upper case, `type` upper snake case, unknown fields dropped. A KYC intake keeps its
 * `company_profile` so that the decider can record that it ignored it.
 */
export type Intake = {
  client_id: string;
  version: '1.0';
  type: string;
  traitement_type: TraitementType;
  persons: Person[];
  company_profile: CompanyProfile | null;
  beneficial_owners: BeneficialOwner[];
};

export type IntakeValidation = { ok: true; intake: Intake } | { ok: false; violations: Violation[] };

export type ValidateIntakeOptions = {
  /** Today's date (YYYY-MM-DD), to reject dates in the future. Omit to skip that check. */
  today?: string;
};

/** Upper case, `-` and spaces to `_`: how the older service built notification triggers. */
export function normaliseCaseType(caseType: string): string {
  return caseType.toUpperCase().replace(/[-\s]/g, '_');
}

/**
 * Checks a decoded message against the intake contract and returns either the normalised intake
 * or every violation with its path: schema violations first (at most one per path), then the
 * cross-field rules. Pure; never throws.
 */
export function validateIntake(value: unknown, options: ValidateIntakeOptions = {}): IntakeValidation {
  // Shape limits first: a value past them is refused before any recursive check reads it.
  const outsideLimits = inputLimitViolations(value);
  if (outsideLimits.length > 0) return { ok: false, violations: outsideLimits };
  const violations = [
    ...schemaViolations(IntakeSchema, value, { patterns: PATTERN_MESSAGES, paths: PATH_MESSAGES }),
    ...crossFieldViolations(value, options),
  ];
  if (violations.length > 0) return { ok: false, violations };
  return { ok: true, intake: normalise(value as IntakeMessage) };
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Rules that span fields. They run only when `traitement_type` itself is readable. */
function crossFieldViolations(value: unknown, options: ValidateIntakeOptions): Violation[] {
  if (!isRecord(value)) return [];
  const violations: Violation[] = [];
  const traitement =
    typeof value.traitement_type === 'string' && new RegExp(TRAITEMENT_TYPE).test(value.traitement_type)
      ? (value.traitement_type.toUpperCase() as TraitementType)
      : null;
  if (traitement === 'KYB' && (value.company_profile === undefined || value.company_profile === null)) {
    violations.push({
      path: '/company_profile',
      message: 'company_profile is required when traitement_type is KYB',
    });
  }
  if (traitement === 'KYC') {
    if (Array.isArray(value.beneficial_owners) && value.beneficial_owners.length > 0) {
      violations.push({
        path: '/beneficial_owners',
        message: 'beneficial_owners should be empty or not provided when traitement_type is KYC',
      });
    }
    if (Array.isArray(value.persons) && value.persons.length === 0) {
      violations.push({
        path: '/persons',
        message: 'persons must name at least one person when traitement_type is KYC',
      });
    }
  }
  if (options.today !== undefined) violations.push(...futureDates(value, options.today));
  return violations;
}

function futureDates(value: Record<string, unknown>, today: string): Violation[] {
  const dates: { path: string; date: unknown }[] = [];
  const persons = Array.isArray(value.persons) ? value.persons : [];
  persons.forEach((person, i) => {
    if (isRecord(person)) dates.push({ path: `/persons/${i}/birthdate`, date: person.birthdate });
  });
  const owners = Array.isArray(value.beneficial_owners) ? value.beneficial_owners : [];
  owners.forEach((owner, i) => {
    if (isRecord(owner) && isRecord(owner.person_details)) {
      dates.push({
        path: `/beneficial_owners/${i}/person_details/birthdate`,
        date: owner.person_details.birthdate,
      });
    }
  });
  if (isRecord(value.company_profile)) {
    dates.push({ path: '/company_profile/registration_date', date: value.company_profile.registration_date });
  }
  // ISO dates compare correctly as strings; malformed ones are already reported by the schema.
  return dates
    .filter(({ date }) => typeof date === 'string' && new RegExp(ISO_DATE).test(date) && date > today)
    .map(({ path }) => ({ path, message: `must not be after today (${today})` }));
}

function normalisePerson(person: Static<typeof PersonSchema>): Person {
  return {
    firstname: person.firstname,
    lastname: person.lastname,
    birthdate: person.birthdate ?? null,
    role_in_company: person.role_in_company ?? null,
  };
}

function normalise(message: IntakeMessage): Intake {
  const company = message.company_profile ?? null;
  return {
    client_id: message.client_id,
    version: '1.0',
    type: normaliseCaseType(message.type),
    traitement_type: message.traitement_type.toUpperCase() as TraitementType,
    persons: message.persons.map(normalisePerson),
    company_profile:
      company === null
        ? null
        : {
            registered_name: company.registered_name,
            trading_name: company.trading_name ?? null,
            registration_number: company.registration_number,
            registration_date: company.registration_date ?? null,
            country_of_incorporation: company.country_of_incorporation,
            registered_address: {
              street: company.registered_address.street ?? null,
              city: company.registered_address.city ?? null,
              state_province: company.registered_address.state_province ?? null,
              postal_code: company.registered_address.postal_code ?? null,
              country: company.registered_address.country,
            },
            business_type: company.business_type ?? null,
            industry_sector: company.industry_sector ?? null,
          },
    beneficial_owners: (message.beneficial_owners ?? []).map((owner) => ({
      person_details: normalisePerson(owner.person_details),
      ownership_percentage: owner.ownership_percentage ?? null,
      types_of_control: owner.types_of_control ?? [],
      is_ubo: owner.is_ubo ?? false,
    })),
  };
}
