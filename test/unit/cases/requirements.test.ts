import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EntityType } from '../../../src/cases/documents.ts';
import type { TraitementType } from '../../../src/cases/intake.ts';
import {
  type EntityFacts,
  parseRequirementRules,
  requiredDocuments,
} from '../../../src/cases/requirements.ts';
import { bundledRequirementRules } from './support.ts';

const rules = bundledRequirementRules();

function documentsFor(
  entity_type: EntityType,
  traitement_type: TraitementType,
  case_type: string,
  flags: Partial<Pick<EntityFacts, 'has_role' | 'is_ubo'>> = {},
): string[] {
  const facts: EntityFacts = {
    entity_type,
    traitement_type,
    case_type,
    has_role: false,
    is_ubo: false,
    ...flags,
  };
  return requiredDocuments(rules, facts).map((d) => d.document_type);
}

describe('bundled document requirement rules (the older service table, extended to UBOs)', () => {
  const table: [string, EntityType, TraitementType, string, Partial<EntityFacts>, string[]][] = [
    ['KYC person', 'PERSON', 'KYC', 'INDIVIDUAL_STANDARD', {}, ['PASSPORT', 'PROOF_OF_ADDRESS']],
    [
      'KYC person, any case type',
      'PERSON',
      'KYC',
      'ENHANCED_DUE_DILIGENCE',
      {},
      ['PASSPORT', 'PROOF_OF_ADDRESS'],
    ],
    [
      'KYB person with a role',
      'PERSON',
      'KYB',
      'COMPANY_STANDARD',
      { has_role: true },
      ['PASSPORT_DIRECTOR_BO'],
    ],
    ['KYB person without a role', 'PERSON', 'KYB', 'COMPANY_STANDARD', { has_role: false }, []],
    [
      'KYB company',
      'COMPANY',
      'KYB',
      'COMPANY_STANDARD',
      {},
      ['COMPANY_REGISTRATION_CERTIFICATE', 'ARTICLES_OF_ASSOCIATION'],
    ],
    [
      'KYB company, enhanced due diligence',
      'COMPANY',
      'KYB',
      'ENHANCED_DUE_DILIGENCE',
      {},
      ['COMPANY_REGISTRATION_CERTIFICATE', 'ARTICLES_OF_ASSOCIATION', 'FINANCIAL_STATEMENTS_AUDITED'],
    ],
    ['KYC company (none in the older table)', 'COMPANY', 'KYC', 'INDIVIDUAL_STANDARD', {}, []],
    [
      'KYB ultimate beneficial owner',
      'BENEFICIAL_OWNER',
      'KYB',
      'COMPANY_STANDARD',
      { is_ubo: true },
      ['PASSPORT_DIRECTOR_BO'],
    ],
    ['KYB owner who is not a UBO', 'BENEFICIAL_OWNER', 'KYB', 'COMPANY_STANDARD', { is_ubo: false }, []],
  ];
  for (const [name, entity, traitement, caseType, flags, expected] of table) {
    it(`${name} → ${expected.join(', ') || 'nothing'}`, () => {
      assert.deepEqual(documentsFor(entity, traitement, caseType, flags), expected);
    });
  }

  it('says which rules asked for each document', () => {
    const facts: EntityFacts = {
      entity_type: 'COMPANY',
      traitement_type: 'KYB',
      case_type: 'ENHANCED_DUE_DILIGENCE',
      has_role: false,
      is_ubo: false,
    };
    assert.deepEqual(requiredDocuments(rules, facts).at(-1), {
      document_type: 'FINANCIAL_STATEMENTS_AUDITED',
      rule_ids: ['kyb-company-enhanced-due-diligence'],
    });
  });
});

describe('requiredDocuments', () => {
  it('requires a document named by two matching rules once, crediting both', () => {
    const twice = {
      version: 1 as const,
      rules: [
        { id: 'a', description: 'a', when: { entity_type: 'PERSON' as const }, documents: ['PASSPORT', 'X'] },
        { id: 'b', description: 'b', when: { entity_type: 'PERSON' as const }, documents: ['PASSPORT'] },
      ],
    };
    const facts: EntityFacts = {
      entity_type: 'PERSON',
      traitement_type: 'KYC',
      case_type: 'T',
      has_role: false,
      is_ubo: false,
    };
    assert.deepEqual(requiredDocuments(twice, facts), [
      { document_type: 'PASSPORT', rule_ids: ['a', 'b'] },
      { document_type: 'X', rule_ids: ['a'] },
    ]);
  });
});

describe('parseRequirementRules', () => {
  const valid = () =>
    structuredClone(bundledRequirementRules()) as unknown as { rules: Record<string, unknown>[] };

  it('accepts the bundled file', () => {
    assert.equal(rules.rules.length, 5);
  });

  it('reports a document type that is not upper snake case, and a rule without documents', () => {
    const json = valid();
    json.rules[0]!.documents = ['passport'];
    json.rules[1]!.documents = [];
    const parsed = parseRequirementRules(json);
    assert.ok(!parsed.ok);
    assert.deepEqual(
      parsed.violations.map((v) => v.path),
      ['/rules/0/documents/0', '/rules/1/documents'],
    );
  });

  it('reports an unknown condition, catching typos', () => {
    const json = valid();
    json.rules[0]!.when = { entity_type: 'PERSON', traitement_type: ['KYC'] };
    const parsed = parseRequirementRules(json);
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.violations, [
      { path: '/rules/0/when/traitement_type', message: 'is not a known property' },
    ]);
  });

  it('reports duplicate rule ids and conditions on the wrong entity type', () => {
    const json = valid();
    json.rules[1]!.id = 'kyc-person';
    json.rules[2]!.when = { entity_type: 'COMPANY', has_role: true, is_ubo: true };
    const parsed = parseRequirementRules(json);
    assert.ok(!parsed.ok);
    assert.deepEqual(parsed.violations, [
      { path: '/rules/1/id', message: 'duplicate rule id "kyc-person"' },
      { path: '/rules/2/when/has_role', message: 'applies to PERSON rules only' },
      { path: '/rules/2/when/is_ubo', message: 'applies to BENEFICIAL_OWNER rules only' },
    ]);
  });

  it('reports an unknown version and an unknown entity type', () => {
    const parsed = parseRequirementRules({
      version: 2,
      rules: [{ id: 'x', description: 'x', when: { entity_type: 'ANIMAL' }, documents: ['X'] }],
    });
    assert.ok(!parsed.ok);
    assert.deepEqual(
      parsed.violations.map((v) => v.path),
      ['/version', '/rules/0/when/entity_type'],
    );
  });
});
