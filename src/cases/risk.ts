import Type, { type Static } from 'typebox';
import { ISO_COUNTRY_CODES } from './countries.ts';
import type { RiskFactor, RiskRating } from './events.ts';
import { type Parsed, schemaViolations, type Violation } from './validation.ts';

// The risk rating of a case: a sum of points from a bundled, versioned rules file
// (rules/risk-rules.json), turned into LOW, MEDIUM or HIGH by two thresholds. Pure: the same
// inputs and rules always give the same rating, so a replay rebuilds it exactly.

const COUNTRY_LISTS = ['high_risk', 'increased_monitoring'] as const;
type CountryList = (typeof COUNTRY_LISTS)[number];
const CASE_TYPE = '^[A-Z][A-Z0-9_]{0,63}$';

const CountryPoints = Type.Object(
  { high_risk: Type.Number({ minimum: 0 }), increased_monitoring: Type.Number({ minimum: 0 }) },
  { additionalProperties: false },
);

export const RiskRulesSchema = Type.Object(
  {
    $comment: Type.Optional(Type.String()),
    version: Type.String({ minLength: 1, maxLength: 64 }),
    thresholds: Type.Object(
      { MEDIUM: Type.Number({ minimum: 0 }), HIGH: Type.Number({ minimum: 0 }) },
      { additionalProperties: false },
    ),
    country_lists: Type.Object(
      {
        high_risk: Type.Array(Type.String({ pattern: '^[A-Z]{2}$' })),
        increased_monitoring: Type.Array(Type.String({ pattern: '^[A-Z]{2}$' })),
      },
      { additionalProperties: false },
    ),
    country_points: Type.Object(
      {
        country_of_incorporation: CountryPoints,
        country_of_residence: CountryPoints,
        owner_country: CountryPoints,
      },
      { additionalProperties: false },
    ),
    ownership: Type.Object(
      {
        points_per_intermediate_layer: Type.Number({ minimum: 0 }),
        max_layer_points: Type.Number({ minimum: 0 }),
        no_ubo_points: Type.Number({ minimum: 0 }),
        many_ubos: Type.Object(
          { more_than: Type.Integer({ minimum: 0 }), points: Type.Number({ minimum: 0 }) },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    case_types: Type.Array(
      Type.Object(
        {
          case_type: Type.String({ pattern: CASE_TYPE }),
          points: Type.Number({ minimum: 0 }),
          detail: Type.String({ minLength: 1 }),
        },
        { additionalProperties: false },
      ),
    ),
    industry_sectors: Type.Array(
      Type.Object(
        {
          contains: Type.String({ minLength: 1, pattern: '^[a-z0-9 ]+$' }),
          points: Type.Number({ minimum: 0 }),
          detail: Type.String({ minLength: 1 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type RiskRules = Static<typeof RiskRulesSchema>;

/** Checks the risk rules file (decoded JSON): schema, known country codes, ordered thresholds. */
export function parseRiskRules(json: unknown): Parsed<RiskRules> {
  const violations: Violation[] = schemaViolations(RiskRulesSchema, json);
  if (violations.length > 0) return { ok: false, violations };
  const rules = json as RiskRules;
  const known = new Set<string>(ISO_COUNTRY_CODES);
  for (const list of COUNTRY_LISTS) {
    rules.country_lists[list].forEach((code, i) => {
      if (!known.has(code))
        violations.push({ path: `/country_lists/${list}/${i}`, message: `unknown country ${code}` });
    });
  }
  if (rules.thresholds.HIGH <= rules.thresholds.MEDIUM) {
    violations.push({ path: '/thresholds/HIGH', message: 'must be greater than MEDIUM' });
  }
  return violations.length > 0 ? { ok: false, violations } : { ok: true, value: rules };
}

/** What the rating looks at: facts of the case as its events recorded them. */
export type RiskInputs = {
  traitement_type: string;
  case_type: string;
  company: {
    country_of_incorporation: string;
    /** The registered address's country: where the company resides. */
    residence_country: string;
    industry_sector: string | null;
  } | null;
  /** Countries of residence of the persons, where the intake gave one. */
  person_countries: readonly string[];
  beneficial_owners: readonly { is_ubo: boolean; country: string | null }[];
};

export type RiskResult = { rating: RiskRating; score: number; factors: RiskFactor[]; rules_version: string };

function listOf(rules: RiskRules, country: string): CountryList | null {
  for (const list of COUNTRY_LISTS) if (rules.country_lists[list].includes(country)) return list;
  return null;
}

const LIST_NAMES: Record<CountryList, string> = {
  high_risk: 'a high-risk country',
  increased_monitoring: 'a country under increased monitoring',
};

/** A phrase matches a sector when it starts at a word of it: "arms" matches "Arms trade", not "Farms". */
function sectorMatches(sector: string, phrase: string): boolean {
  const words = ` ${sector.toLowerCase().replace(/[^a-z0-9]+/g, ' ')}`;
  return words.includes(` ${phrase}`);
}

/** Rates a case. Factors come in a fixed order (countries, ownership, case type, sector). */
export function rateRisk(rules: RiskRules, inputs: RiskInputs): RiskResult {
  const factors: RiskFactor[] = [];
  const country = (factor: keyof RiskRules['country_points'], code: string, whose: string) => {
    const list = listOf(rules, code);
    if (list === null) return;
    const points = rules.country_points[factor][list];
    if (points > 0) factors.push({ factor, input: code, points, detail: `${whose} is ${LIST_NAMES[list]}` });
  };

  const company = inputs.company;
  if (company !== null) {
    country('country_of_incorporation', company.country_of_incorporation, 'Country of incorporation');
    country('country_of_residence', company.residence_country, "The company's registered address");
  }
  // Each country counts once per factor: ten persons in one country are one exposure.
  for (const code of new Set(inputs.person_countries)) {
    country('country_of_residence', code, "A person's country of residence");
  }
  const ownerCountries = inputs.beneficial_owners.flatMap((owner) =>
    owner.country === null ? [] : [owner.country],
  );
  for (const code of new Set(ownerCountries)) country('owner_country', code, "A beneficial owner's country");

  if (inputs.traitement_type === 'KYB') {
    const ubos = inputs.beneficial_owners.filter((owner) => owner.is_ubo).length;
    // The intake has no ownership chain: an owner that is not ultimate stands for a layer
    // between the company and its ultimate owners.
    const layers = inputs.beneficial_owners.length - ubos;
    const { ownership } = rules;
    if (layers > 0 && ownership.points_per_intermediate_layer > 0) {
      factors.push({
        factor: 'ownership_layers',
        input: String(layers),
        points: Math.min(layers * ownership.points_per_intermediate_layer, ownership.max_layer_points),
        detail: `${layers} owner(s) between the company and its ultimate beneficial owners`,
      });
    }
    if (ubos === 0 && ownership.no_ubo_points > 0) {
      factors.push({
        factor: 'ubo_count',
        input: '0',
        points: ownership.no_ubo_points,
        detail: 'No ultimate beneficial owner identified',
      });
    } else if (ubos > ownership.many_ubos.more_than && ownership.many_ubos.points > 0) {
      factors.push({
        factor: 'ubo_count',
        input: String(ubos),
        points: ownership.many_ubos.points,
        detail: `More than ${ownership.many_ubos.more_than} ultimate beneficial owners`,
      });
    }
  }

  const caseType = rules.case_types.find((rule) => rule.case_type === inputs.case_type);
  if (caseType !== undefined && caseType.points > 0) {
    factors.push({
      factor: 'case_type',
      input: inputs.case_type,
      points: caseType.points,
      detail: caseType.detail,
    });
  }

  const sector = company?.industry_sector ?? null;
  if (sector !== null) {
    // The highest-scoring match counts, once: "crypto casino" is one risky sector, not two.
    const matches = rules.industry_sectors.filter((rule) => sectorMatches(sector, rule.contains));
    const worst = matches.reduce<(typeof matches)[number] | null>(
      (best, rule) => (best === null || rule.points > best.points ? rule : best),
      null,
    );
    if (worst !== null && worst.points > 0) {
      factors.push({ factor: 'industry_sector', input: sector, points: worst.points, detail: worst.detail });
    }
  }

  const score = factors.reduce((sum, factor) => sum + factor.points, 0);
  const rating: RiskRating =
    score >= rules.thresholds.HIGH ? 'HIGH' : score >= rules.thresholds.MEDIUM ? 'MEDIUM' : 'LOW';
  return { rating, score, factors, rules_version: rules.version };
}

/** True when two results would record the same RiskRated (the trigger and time aside). */
export function sameRating(a: RiskResult, b: RiskResult): boolean {
  return (
    a.rating === b.rating &&
    a.score === b.score &&
    a.rules_version === b.rules_version &&
    JSON.stringify(a.factors) === JSON.stringify(b.factors)
  );
}
