import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRiskRules, type RiskInputs, rateRisk } from '../../../src/cases/risk.ts';
import { bundledRiskRules } from './support.ts';

const rules = bundledRiskRules();

const individual: RiskInputs = {
  traitement_type: 'KYC',
  case_type: 'INDIVIDUAL_STANDARD',
  company: null,
  person_countries: [],
  beneficial_owners: [],
};

const company = (
  change: Partial<NonNullable<RiskInputs['company']>> = {},
  owners: RiskInputs['beneficial_owners'] = [{ is_ubo: true, country: null }],
) => ({
  traitement_type: 'KYB',
  case_type: 'COMPANY_STANDARD',
  company: { country_of_incorporation: 'GB', residence_country: 'GB', industry_sector: null, ...change },
  person_countries: [],
  beneficial_owners: owners,
});

const factorsOf = (inputs: RiskInputs) =>
  rateRisk(rules, inputs).factors.map((f) => [f.factor, f.input, f.points]);

describe('risk rating rules', () => {
  it('bundles a valid, versioned rules file', () => {
    assert.ok(rules.version.length > 0);
  });

  it('rates a standard individual LOW with no factor, recording the rules version', () => {
    assert.deepEqual(rateRisk(rules, individual), {
      rating: 'LOW',
      score: 0,
      factors: [],
      rules_version: rules.version,
    });
  });

  it('rates a company incorporated in a high-risk country HIGH, naming each contributing factor', () => {
    const result = rateRisk(rules, company({ country_of_incorporation: 'IR' }));
    assert.equal(result.rating, 'HIGH');
    assert.deepEqual(
      result.factors.map((f) => [f.factor, f.input, f.points]),
      [
        ['country_of_incorporation', 'IR', 60],
        ['case_type', 'COMPANY_STANDARD', 10],
      ],
    );
    assert.equal(result.score, 70);
    assert.match(result.factors[0]?.detail ?? '', /high-risk country/);
  });

  it('scores the registered address as the company’s residence, from the monitoring list too', () => {
    assert.deepEqual(factorsOf(company({ residence_country: 'NG' })), [
      ['country_of_residence', 'NG', 20],
      ['case_type', 'COMPANY_STANDARD', 10],
    ]);
  });

  it('scores persons’ and owners’ countries once per country', () => {
    assert.deepEqual(
      factorsOf({
        ...individual,
        person_countries: ['KP', 'KP'],
        beneficial_owners: [],
      }),
      [['country_of_residence', 'KP', 60]],
    );
    assert.deepEqual(
      factorsOf(
        company({}, [
          { is_ubo: true, country: 'SY' },
          { is_ubo: true, country: 'SY' },
        ]),
      ),
      [
        ['owner_country', 'SY', 15],
        ['case_type', 'COMPANY_STANDARD', 10],
      ],
    );
  });

  it('scores a company without an ultimate beneficial owner, and each intermediate owner as a layer', () => {
    const layered = company({}, [
      { is_ubo: false, country: null },
      { is_ubo: false, country: null },
    ]);
    assert.deepEqual(factorsOf(layered), [
      ['ownership_layers', '2', 20],
      ['ubo_count', '0', 40],
      ['case_type', 'COMPANY_STANDARD', 10],
    ]);
    assert.equal(rateRisk(rules, layered).rating, 'HIGH');
  });

  it('caps the layer points', () => {
    const owners = Array.from({ length: 9 }, () => ({ is_ubo: false, country: null }));
    assert.equal(
      rateRisk(rules, company({}, [...owners, { is_ubo: true, country: null }])).factors[0]?.points,
      30,
    );
  });

  it('scores more ultimate owners than the rules allow', () => {
    const owners = Array.from({ length: 5 }, () => ({ is_ubo: true, country: null }));
    assert.deepEqual(factorsOf(company({}, owners))[0], ['ubo_count', '5', 10]);
    assert.equal(factorsOf(company({}, owners.slice(0, 4))).length, 1);
  });

  it('matches an industry sector at the start of a word, case-insensitively, counting the worst match once', () => {
    assert.deepEqual(factorsOf(company({ industry_sector: 'Crypto Exchange' }))[1], [
      'industry_sector',
      'Crypto Exchange',
      30,
    ]);
    assert.equal(factorsOf(company({ industry_sector: 'Dairy farms' })).length, 1);
    const both = factorsOf(company({ industry_sector: 'Arms and crypto' }));
    assert.deepEqual(both.slice(1), [['industry_sector', 'Arms and crypto', 40]]);
  });

  it('turns scores into ratings at the thresholds: below MEDIUM is LOW, at MEDIUM MEDIUM, at HIGH HIGH', () => {
    const at = (points: number) =>
      rateRisk(
        { ...rules, case_types: [{ case_type: 'X', points, detail: 'test' }] },
        { ...individual, case_type: 'X' },
      ).rating;
    assert.equal(at(rules.thresholds.MEDIUM - 1), 'LOW');
    assert.equal(at(rules.thresholds.MEDIUM), 'MEDIUM');
    assert.equal(at(rules.thresholds.HIGH - 1), 'MEDIUM');
    assert.equal(at(rules.thresholds.HIGH), 'HIGH');
  });

  it('refuses a rules file with an unknown country or thresholds out of order', () => {
    const broken = structuredClone(rules);
    broken.country_lists.high_risk.push('XX');
    broken.thresholds = { MEDIUM: 50, HIGH: 50 };
    const parsed = parseRiskRules(broken);
    assert.equal(parsed.ok, false);
    assert.deepEqual(parsed.ok ? [] : parsed.violations.map((v) => v.path), [
      `/country_lists/high_risk/${broken.country_lists.high_risk.length - 1}`,
      '/thresholds/HIGH',
    ]);
    assert.equal(parseRiskRules({ version: '1' }).ok, false);
  });
});
