import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateIntake } from '../../../src/cases/intake.ts';
import { INPUT_LIMITS, inputLimitViolations } from '../../../src/cases/limits.ts';
import { copyOf, kycIntakeExample } from '../../support/intake-examples.ts';

/** `{"a":{"a":…}}` nested `depth` levels, the value itself counting as one. */
function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('input limits', () => {
  it('accepts a value exactly at every limit', () => {
    const value = {
      deep: nested(INPUT_LIMITS.maxDepth - 1),
      text: 'x'.repeat(INPUT_LIMITS.maxStringLength),
      items: Array.from({ length: INPUT_LIMITS.maxArrayItems }, () => 1),
      ['k'.repeat(INPUT_LIMITS.maxKeyLength)]: true,
    };
    assert.deepEqual(inputLimitViolations(value), []);
    const wide = Object.fromEntries(
      Array.from({ length: INPUT_LIMITS.maxObjectProperties }, (_, i) => [`p${i}`, i]),
    );
    assert.deepEqual(inputLimitViolations(wide), []);
  });

  it('refuses nesting one level past the limit, naming where', () => {
    const violations = inputLimitViolations({ deep: nested(INPUT_LIMITS.maxDepth) });
    assert.equal(violations.length, 1);
    assert.match(violations[0]!.path, /^\/deep(\/a)+$/);
    assert.match(violations[0]!.message, /nests deeper than 16 levels/);
  });

  it('survives nesting a hundred thousand levels deep without recursion', () => {
    const text = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const violations = inputLimitViolations(JSON.parse(text));
    assert.equal(violations.length, 1);
  });

  it('refuses a string, a name, an array and an object just past their limits', () => {
    const wide = Object.fromEntries(
      Array.from({ length: INPUT_LIMITS.maxObjectProperties + 1 }, (_, i) => [`p${i}`, i]),
    );
    const violations = inputLimitViolations({
      text: 'x'.repeat(INPUT_LIMITS.maxStringLength + 1),
      items: Array.from({ length: INPUT_LIMITS.maxArrayItems + 1 }, () => 1),
      wide,
      ['k'.repeat(INPUT_LIMITS.maxKeyLength + 1)]: true,
    });
    assert.deepEqual(
      violations.map((v) => v.path.slice(0, 6)),
      ['/text', '/items', '/wide', `/${'k'.repeat(5)}`],
    );
    assert.match(violations[0]!.message, /at most 10000 characters/);
    assert.match(violations[1]!.message, /at most 1000 items/);
    assert.match(violations[2]!.message, /at most 256 properties/);
    assert.match(violations[3]!.message, /property names must be at most 256/);
  });

  it('refuses lone surrogates in values and names', () => {
    const violations = inputLimitViolations(JSON.parse('{"a":"\\ud800","\\udc00":1}'));
    assert.deepEqual(
      violations.map((v) => v.message),
      [
        'must be well-formed Unicode (no lone surrogates)',
        'property names must be well-formed Unicode (no lone surrogates)',
      ],
    );
  });

  it('refuses a number JSON parses as Infinity, which could not be stored', () => {
    assert.deepEqual(inputLimitViolations(JSON.parse('{"amount":1e400,"ok":1e300}')), [
      { path: '/amount', message: 'must be a finite number' },
    ]);
  });

  it('reports at most fifty violations, however many there are', () => {
    const many = Array.from({ length: 500 }, () => 'x'.repeat(INPUT_LIMITS.maxStringLength + 1));
    assert.equal(inputLimitViolations(many).length, 50);
  });

  it('escapes property names in paths as JSON Pointer does', () => {
    const [violation] = inputLimitViolations({ 'a/b~c': 'x'.repeat(INPUT_LIMITS.maxStringLength + 1) });
    assert.equal(violation?.path, '/a~1b~0c');
  });

  it('is checked by the intake validation before the schema', () => {
    const message = copyOf(kycIntakeExample) as unknown as Record<string, unknown>;
    message.persons = JSON.parse(`${'['.repeat(1_000)}${']'.repeat(1_000)}`);
    const result = validateIntake(message);
    assert.equal(result.ok, false);
    assert.equal(result.ok ? '' : result.violations[0]?.message, 'nests deeper than 16 levels');
  });
});
