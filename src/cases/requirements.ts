import Type, { type Static } from 'typebox';
import { ENTITY_TYPES, type EntityType } from './documents.ts';
import type { TraitementType } from './intake.ts';
import { type Parsed, schemaViolations, type Violation } from './validation.ts';

const DOCUMENT_TYPE = '^[A-Z][A-Z0-9_]{0,63}$';
const RULE_ID = '^[a-z0-9][a-z0-9-]{0,63}$';

export const RequirementRuleSchema = Type.Object(
  {
    id: Type.String({ pattern: RULE_ID, description: 'Stable id, recorded on each requirement it creates' }),
    description: Type.String({ minLength: 1, description: 'Why these documents are needed' }),
    when: Type.Object(
      {
        entity_type: Type.Enum([...ENTITY_TYPES]),
        traitement_types: Type.Optional(Type.Array(Type.Enum(['KYC', 'KYB']), { minItems: 1 })),
        case_types: Type.Optional(
          Type.Array(Type.String({ pattern: DOCUMENT_TYPE }), {
            minItems: 1,
            description: 'Normalised case types (upper snake case); absent means any',
          }),
        ),
        has_role: Type.Optional(Type.Boolean({ description: 'PERSON only: whether role_in_company is set' })),
        is_ubo: Type.Optional(Type.Boolean({ description: 'BENEFICIAL_OWNER only: the is_ubo flag' })),
      },
      {
        additionalProperties: false,
        description: 'Every condition given must hold; absent ones match anything',
      },
    ),
    documents: Type.Array(Type.String({ pattern: DOCUMENT_TYPE }), { minItems: 1 }),
  },
  { additionalProperties: false },
);

export const RequirementRulesSchema = Type.Object(
  {
    $comment: Type.Optional(Type.String()),
    version: Type.Literal(1),
    rules: Type.Array(RequirementRuleSchema),
  },
  { additionalProperties: false },
);

export type RequirementRule = Static<typeof RequirementRuleSchema>;
export type RequirementRules = Static<typeof RequirementRulesSchema>;

/**
 * Checks the document-requirement rules file (already decoded JSON) and returns the rules or every
 * problem with its path. Beyond the schema: rule ids are unique, and `has_role` / `is_ubo` only
 * appear on the entity type they describe.
 */
export function parseRequirementRules(json: unknown): Parsed<RequirementRules> {
  const violations = schemaViolations(RequirementRulesSchema, json);
  if (violations.length > 0) return { ok: false, violations };
  const rules = json as RequirementRules;
  const seen = new Set<string>();
  rules.rules.forEach((rule, i) => {
    if (seen.has(rule.id))
      violations.push({ path: `/rules/${i}/id`, message: `duplicate rule id "${rule.id}"` });
    seen.add(rule.id);
    violations.push(...misplacedConditions(rule, i));
  });
  return violations.length > 0 ? { ok: false, violations } : { ok: true, value: rules };
}

function misplacedConditions(rule: RequirementRule, i: number): Violation[] {
  const violations: Violation[] = [];
  if (rule.when.has_role !== undefined && rule.when.entity_type !== 'PERSON') {
    violations.push({ path: `/rules/${i}/when/has_role`, message: 'applies to PERSON rules only' });
  }
  if (rule.when.is_ubo !== undefined && rule.when.entity_type !== 'BENEFICIAL_OWNER') {
    violations.push({ path: `/rules/${i}/when/is_ubo`, message: 'applies to BENEFICIAL_OWNER rules only' });
  }
  return violations;
}

/** What the rules may look at about one entity of a case. */
export type EntityFacts = {
  entity_type: EntityType;
  traitement_type: TraitementType;
  case_type: string;
  /** PERSON: a role in the company is set. */
  has_role: boolean;
  /** BENEFICIAL_OWNER: flagged as ultimate beneficial owner. */
  is_ubo: boolean;
};

export type RequiredDocument = { document_type: string; rule_ids: string[] };

/**
 * Every matching rule contributes its documents; a document named by several rules is required
 * once, listing all of them. Order follows the file, so the result is stable.
 */
export function requiredDocuments(rules: RequirementRules, facts: EntityFacts): RequiredDocument[] {
  const byType = new Map<string, RequiredDocument>();
  for (const rule of rules.rules) {
    if (!matches(rule, facts)) continue;
    for (const documentType of rule.documents) {
      const found = byType.get(documentType);
      if (found === undefined) byType.set(documentType, { document_type: documentType, rule_ids: [rule.id] });
      else if (!found.rule_ids.includes(rule.id)) found.rule_ids.push(rule.id);
    }
  }
  return [...byType.values()];
}

function matches(rule: RequirementRule, facts: EntityFacts): boolean {
  const when = rule.when;
  return (
    when.entity_type === facts.entity_type &&
    (when.traitement_types === undefined || when.traitement_types.includes(facts.traitement_type)) &&
    (when.case_types === undefined || when.case_types.includes(facts.case_type)) &&
    (when.has_role === undefined || when.has_role === facts.has_role) &&
    (when.is_ubo === undefined || when.is_ubo === facts.is_ubo)
  );
}
