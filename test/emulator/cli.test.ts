/** The `eventstore-emulator` command: help, argument errors, listening line, SIGINT. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { EventStoreDBClient } from '@eventstore/db-client';
import { streamName, testEvents } from './support.ts';

const cli = new URL('../../src/app/cli/main.ts', import.meta.url).pathname;
const tsx = import.meta.resolve('tsx');

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', tsx, cli, 'eventstore-emulator', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exit, output: () => ({ stdout, stderr }) };
}

test('--help prints the usage and exits 0', async () => {
  const { exit, output } = run(['--help']);
  assert.equal(await exit, 0);
  assert.match(output().stdout, /usage: npm run --silent cli -- eventstore-emulator --port <n>/);
});

test('a missing port or conflicting storage options exit 2 with the usage', async () => {
  for (const args of [[], ['--port', '0', '--memory', '--data-dir', '/tmp/x'], ['--port', 'abc']]) {
    const { exit, output } = run(args);
    assert.equal(await exit, 2, `args ${args.join(' ')}`);
    assert.match(output().stderr, /usage:/);
  }
});

test('it prints the connection string once it accepts connections, and stops cleanly on SIGINT', async () => {
  const { child, exit, output } = run(['--port', '0', '--host', '127.0.0.1', '--memory']);
  const connectionString = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line: ${JSON.stringify(output())}`)),
      20_000,
    );
    child.stdout.on('data', () => {
      const match = /^listening on (esdb:\/\/127\.0\.0\.1:\d+\?tls=false)$/m.exec(output().stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
  });
  const client = EventStoreDBClient.connectionString(connectionString);
  await client.appendToStream(streamName(), testEvents(1));
  await client.dispose();
  child.kill('SIGINT');
  assert.equal(await exit, 0);
});
