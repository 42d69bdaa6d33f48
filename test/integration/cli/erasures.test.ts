import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { type RunningService, startService } from '../../../src/app/service.ts';
import { kycIntakeExample } from '../../support/intake-examples.ts';
import { runCli } from './run-cli.ts';

const ADMIN = 'erasures-cli-admin-0123456789';
let service: RunningService;
let dataDir: string;

before(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'kyc-erasures-cli-'));
  // The periodic job is off: only the command runs erasures here.
  service = await startService(
    loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      API_KEYS: `ops:admin:${ADMIN}`,
      ERASURE_JOB_INTERVAL_SECONDS: '0',
    }),
    pino({ level: 'silent' }),
  );
});
after(async () => {
  await service?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      'idempotency-key': `erasures-cli-${randomUUID()}`,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`);
  return (await response.json()) as Record<string, unknown>;
}

const cli = (...args: string[]) =>
  runCli(['erasures', ...args, '--url', service.url], { KYC_API_KEY: ADMIN });

it('`erasures list` shows a due request, `erasures run` completes it, and the list then says completed', async () => {
  const opened = await call('POST', '/api/v1/cases', { ...kycIntakeExample, client_id: 'erasures-cli' });
  const caseId = opened.case_id as string;
  await call('POST', `/api/v1/cases/${caseId}/relationship-end`, { ended_at: '2000-01-01T00:00:00Z' });
  await call('POST', `/api/v1/cases/${caseId}/erasure-request`);

  const due = await cli('list', '--status', 'due');
  assert.equal(due.code, 0, due.stderr);
  assert.match(
    due.stdout,
    new RegExp(`^due +${caseId} +requested \\S+ +due since 2005-01-01T00:00:00.000Z$`, 'm'),
  );

  const run = await cli('run');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^1 erasure\(s\) completed$/m);
  assert.match(run.stdout, new RegExp(`^completed +${caseId}$`, 'm'));
  assert.equal((await call('GET', `/api/v1/cases/${caseId}/erasure`)).status, 'completed');

  const completed = await cli('list', '--status', 'completed');
  assert.match(completed.stdout, new RegExp(`^completed +${caseId} `, 'm'));
  const again = await cli('run');
  assert.match(again.stdout, /^no erasure was due$/m);
  // Nothing was restored here: the ledger finds every erased key already destroyed.
  const reshred = await cli('reshred');
  assert.equal(reshred.code, 0, reshred.stderr);
  assert.match(
    reshred.stdout,
    /^1 completed erasure\(s\), [1-9]\d* key\(s\): 0 destroyed again, 0 tombstone\(s\) added$/m,
  );
});

it('`erasures list` names the erasure of one person as <case>/subjects/<person>', async () => {
  const opened = await call('POST', '/api/v1/cases', {
    ...kycIntakeExample,
    client_id: 'erasures-cli-subject',
  });
  const caseId = opened.case_id as string;
  const persons = await fetch(`${service.url}/api/v1/persons/case/${caseId}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  const personId = ((await persons.json()) as { id: string }[])[0]!.id;
  const erased = await call('POST', `/api/v1/cases/${caseId}/subjects/${personId}/erasure-request`, {
    reason_code: 'recorded_in_error',
  });
  assert.equal(erased.status, 'completed');

  const completed = await cli('list', '--status', 'completed');
  assert.equal(completed.code, 0, completed.stderr);
  assert.match(
    completed.stdout,
    new RegExp(`^completed +${caseId}/subjects/${personId} +requested \\S+ +completed \\S+$`, 'm'),
  );
});

it('refuses an unknown action or status with exit code 2, and a caller without the key with 1', async () => {
  const action = await cli('erase');
  assert.equal(action.code, 2);
  assert.match(action.stderr, /^unknown action "erase"/);
  const status = await cli('list', '--status', 'dun');
  assert.equal(status.code, 2);
  assert.match(status.stderr, /unknown status "dun" \(did you mean "due"\?\)/);
  const anonymous = await runCli(['erasures', 'run', '--url', service.url]);
  assert.equal(anonymous.code, 1);
  assert.match(anonymous.stderr, /failed with 401/);
});
