import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { it } from 'node:test';

const root = new URL('../../../', import.meta.url);
const python = spawnSync('python3', ['--version']).status === 0;

/** Runs scripts/fuzz-api.sh (its short form) and resolves with its exit code and output. */
function fuzz(): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['scripts/fuzz-api.sh'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const chunks: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output: chunks.join('') }));
  });
}

it('the API fuzzer finds no server error and no answer outside the OpenAPI document, with and without keys', {
  // Under CI a missing interpreter fails the test (below) rather than skipping it.
  skip: python || process.env.CI === 'true' ? false : 'python3 is not installed',
  timeout: 240_000,
}, async () => {
  assert.ok(python, 'python3 is not installed: the fuzzer needs it (scripts/fuzz-api.sh)');
  const { code, output } = await fuzz();
  assert.equal(code, 0, `the fuzzer failed (exit ${code}):\n${output.slice(-20_000)}`);
});
