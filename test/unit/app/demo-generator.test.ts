import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { demoIntake, demoIntakes } from '../../../src/app/cli/demo-generator.ts';
import { validateIntake } from '../../../src/cases/intake.ts';

const today = new Date().toISOString().slice(0, 10);

describe('demo intake generator', () => {
  it('generates intakes that pass intake validation, dates in the past included, over many seeds', () => {
    for (let seed = 0; seed < 300; seed += 1) {
      for (const kybRatio of [0, 0.5, 1]) {
        for (let index = 0; index < 3; index += 1) {
          const intake = demoIntake(index, { seed, kybRatio });
          const checked = validateIntake(intake, { today });
          assert.ok(
            checked.ok,
            `seed ${seed}, index ${index}: ${JSON.stringify(checked.ok ? [] : checked.violations)}\n${JSON.stringify(intake)}`,
          );
        }
      }
    }
  });

  it('gives the same intakes for the same seed and different ones for another seed', () => {
    const options = { seed: 7, kybRatio: 0.5 };
    assert.deepEqual(demoIntakes(50, options), demoIntakes(50, options));
    assert.deepEqual(demoIntake(31, options), demoIntakes(50, options)[31]);
    assert.notDeepEqual(demoIntakes(50, options), demoIntakes(50, { ...options, seed: 8 }));
  });

  it('mixes KYC and KYB at the default ratio, with varied people, countries and case types', () => {
    const intakes = demoIntakes(200, { seed: 1, kybRatio: 0.5 });
    const kyb = intakes.filter((intake) => intake.traitement_type === 'KYB').length;
    assert.ok(kyb > 60 && kyb < 140, `${kyb} of 200 are KYB`);
    const names = new Set(
      intakes.flatMap((intake) => intake.persons.map((p) => `${p.firstname} ${p.lastname}`)),
    );
    assert.ok(names.size > 100, `only ${names.size} distinct names`);
    const countries = new Set(
      intakes.map(
        (intake) => intake.company_profile?.country_of_incorporation ?? intake.client_id.slice(4, 6),
      ),
    );
    assert.ok(countries.size >= 8, `only ${countries.size} countries`);
    assert.deepEqual(
      new Set(intakes.map((intake) => intake.type)),
      new Set(['INDIVIDUAL_STANDARD', 'COMPANY_STANDARD', 'ENHANCED_DUE_DILIGENCE']),
    );
    assert.equal(new Set(intakes.map((intake) => intake.client_id)).size, 200, 'client ids repeat');
  });

  it('keeps to the ratio at its ends: 0 gives only KYC, 1 only KYB', () => {
    assert.ok(demoIntakes(50, { seed: 3, kybRatio: 0 }).every((intake) => intake.traitement_type === 'KYC'));
    assert.ok(demoIntakes(50, { seed: 3, kybRatio: 1 }).every((intake) => intake.traitement_type === 'KYB'));
  });

  it('gives KYB cases 1–3 persons with roles and 0–2 owners whose shares add up to at most 100', () => {
    const kyb = demoIntakes(500, { seed: 11, kybRatio: 1 });
    const ownerCounts = new Set<number>();
    const personCounts = new Set<number>();
    for (const intake of kyb) {
      personCounts.add(intake.persons.length);
      assert.ok(intake.persons.every((person) => typeof person.role_in_company === 'string'));
      const owners = intake.beneficial_owners ?? [];
      ownerCounts.add(owners.length);
      const shares = owners.map((owner) => owner.ownership_percentage ?? 0);
      assert.ok(
        shares.reduce((sum, share) => sum + share, 0) <= 100,
        `shares ${shares.join(' + ')} exceed 100`,
      );
      for (const owner of owners) {
        assert.equal(owner.is_ubo, (owner.ownership_percentage ?? 0) >= 25, JSON.stringify(owner));
      }
    }
    assert.deepEqual([...personCounts].sort(), [1, 2, 3]);
    assert.deepEqual([...ownerCounts].sort(), [0, 1, 2]);
  });
});
