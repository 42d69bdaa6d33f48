import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { variables } from '../../../src/app/config.ts';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

it('README shows the two commands first', () => {
  const firstBlock = /```(?:sh|bash)?\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
  assert.deepEqual(
    firstBlock
      .trim()
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim()),
    ['make run', 'make test'],
  );
});

it('README configuration table lists every variable the service reads, with its default', () => {
  // Only the Configuration section: other tables (the lifecycles) also start with upper-case names.
  const section = /^## Configuration\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';
  const rows = new Map<string, string>();
  for (const match of section.matchAll(/^\| `([A-Z0-9_]+)` \| ([^|]*) \|/gm))
    rows.set(match[1]!, match[2]!.trim());
  for (const variable of variables) {
    assert.ok(rows.has(variable.name), `README lacks ${variable.name}`);
    assert.equal(rows.get(variable.name), `\`${variable.default}\``, `default of ${variable.name}`);
  }
  for (const name of rows.keys()) {
    assert.ok(
      variables.some((variable) => variable.name === name),
      `README lists ${name}, which the service does not read`,
    );
  }
});
