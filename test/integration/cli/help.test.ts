import assert from 'node:assert/strict';
import { it } from 'node:test';
import { runCli } from './run-cli.ts';

const commands = ['serve', 'projections', 'parked', 'dlq', 'erasures', 'demo', 'eventstore-emulator'];

it('top-level help lists every command on one line with what it does, and exits 0', async () => {
  const run = await runCli(['--help']);
  assert.equal(run.code, 0, run.stderr);
  for (const name of commands) {
    const line = run.stdout.split('\n').find((text) => text.trimStart().startsWith(`${name} `));
    assert.ok(line, `no line for ${name} in:\n${run.stdout}`);
    assert.match(line, new RegExp(`^ {2}${name} +\\S.{10,}$`));
  }
});

it('a mistyped command is refused with the command it probably meant', async () => {
  const run = await runCli(['projectoins', 'status']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^unknown command "projectoins" \(did you mean "projections"\?\)/);
  assert.match(run.stderr, /^ {2}parked +\S/m);
});

it('a command with nothing close is refused without a guess', async () => {
  const run = await runCli(['frobnicate']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^unknown command "frobnicate"\n/);
});

it('a mistyped action of a command is refused with the action it probably meant', async () => {
  const run = await runCli(['projections', 'stauts']);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /^unknown action "stauts" \(did you mean "status"\?\)/);
});
