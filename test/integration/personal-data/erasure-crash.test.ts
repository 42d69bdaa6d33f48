import assert from 'node:assert/strict';
import { randomInt, randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { EventStoreDBClient, FORWARDS, START } from '@eventstore/db-client';
import { ERASED } from '../../../src/cases/personal-data.ts';
import { startEmulator } from '../../../src/emulator/index.ts';
import { copyOf, kycIntakeExample } from '../../support/intake-examples.ts';
import { type RunningService, startService } from '../../support/service-process.ts';

// The erasure of a case as a crash trial: the service is killed (SIGKILL) at random moments while
// the due job runs it, restarted on the same data directory, and the erasure must end completed
// once, with one certificate. Then an old copy of the event store, taken before the erasure, is
// put back beside the current key store, as a restore from backup would: the names stay unreadable.
// KILLS (default 3) sets how many kills are tried.

const kills = Number(process.env.ERASURE_CRASH_KILLS ?? 3);
const marker = `Erasurecrash${randomUUID().replaceAll('-', '')}`;
const dirs: string[] = [];
let service: RunningService | undefined;

after(async () => {
  await service?.kill();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

const isKeyFile = (name: string) => name.startsWith('personal-data-k');

async function call(method: string, path: string, body?: unknown) {
  const response = await fetch(`${service!.baseUrl}${path}`, {
    method,
    headers:
      body === undefined ? {} : { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

it('completes an erasure killed mid-run once, and an event store restored from before it stays unreadable', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-erasure-crash-'));
  const snapshot = await mkdtemp(join(tmpdir(), 'kyc-erasure-snapshot-'));
  dirs.push(dataDir, snapshot);
  // Retention of 0 years: the erasure is due as soon as the relationship has ended.
  const env = { DATA_DIR: dataDir, RETENTION_YEARS: '0', ERASURE_JOB_INTERVAL_SECONDS: '0' };
  service = await startService(env);

  const intake = copyOf(kycIntakeExample);
  intake.persons[0]!.firstname = marker;
  intake.persons[0]!.lastname = marker;
  const opened = await call('POST', '/api/v1/cases', intake);
  assert.equal(opened.status, 202, JSON.stringify(opened.body));
  const caseId = String(opened.body.case_id);
  const personsPath = `/api/v1/persons/case/${caseId}`;
  const persons = await call('GET', `${personsPath}?min_position=${String(opened.body.position)}`);
  assert.equal((persons.body as unknown as { firstname: string }[])[0]?.firstname, marker);

  // The backup an operator might restore later: everything but the key store.
  await service.stop();
  await cp(dataDir, snapshot, { recursive: true, filter: (source) => !isKeyFile(source.split('/').pop()!) });
  service = await startService(env);

  assert.equal(
    (await call('POST', `/api/v1/cases/${caseId}/relationship-end`, { ended_at: '2000-01-01T00:00:00.000Z' }))
      .status,
    200,
  );
  const requested = await call('POST', `/api/v1/cases/${caseId}/erasure-request`);
  assert.equal(requested.status, 202, JSON.stringify(requested.body));
  assert.equal(requested.body.status, 'due');

  const foundAfterRestart: string[] = [];
  for (let attempt = 0; attempt < kills; attempt++) {
    const run = call('POST', '/api/v1/admin/erasures/run').catch(() => undefined);
    // The fault injection: a kill at a random moment of the run (not a wait for an outcome).
    await delay(randomInt(0, 40));
    await service.kill();
    await run;
    service = await startService(env);
    const status = String((await call('GET', `/api/v1/cases/${caseId}/erasure`)).body.status);
    foundAfterRestart.push(status);
    if (status === 'completed') break;
  }
  t.diagnostic(`after each kill the erasure was: ${foundAfterRestart.join(', ')}`);

  const ran = await call('POST', '/api/v1/admin/erasures/run');
  assert.equal(ran.status, 200, JSON.stringify(ran.body));
  const done = await call('GET', `/api/v1/cases/${caseId}/erasure`);
  assert.equal(done.body.status, 'completed', JSON.stringify(done.body));
  const certificate = done.body.certificate as {
    checks: { store: string; result: string; detail: string }[];
    completing_event: { id: string };
  };
  assert.deepEqual(
    certificate.checks.map((check) => [check.store, check.result]),
    [
      ['key store', 'passed'],
      ['event store', 'passed'],
      ['read store', 'passed'],
    ],
    JSON.stringify(certificate.checks),
  );
  // Asked again, nothing changes: the same certificate, from the same completing event.
  await call('POST', '/api/v1/admin/erasures/run');
  const again = await call('GET', `/api/v1/cases/${caseId}/erasure`);
  assert.deepEqual(again.body.certificate, done.body.certificate);
  const erased = (await call('GET', personsPath)).body as unknown as { firstname: string }[];
  assert.deepEqual(
    erased.map((p) => p.firstname),
    [ERASED],
  );
  await service.stop();
  service = undefined;

  // Once in the log: one start and one completion, whatever the kills interrupted.
  const emulator = await startEmulator({ dataDir });
  const client = EventStoreDBClient.connectionString(emulator.connectionString);
  try {
    const types: string[] = [];
    for await (const resolved of client.readStream(`retention-${caseId}`, {
      fromRevision: START,
      direction: FORWARDS,
    })) {
      if (resolved.event !== undefined) types.push(resolved.event.type);
    }
    assert.equal(types.filter((type) => type === 'ErasureCompleted').length, 1, types.join(', '));
    assert.equal(types.filter((type) => type === 'ErasureStarted').length, 1, types.join(', '));
  } finally {
    await client.dispose();
    await emulator.close();
  }

  // A restore of the event store from before the erasure, beside the current key store.
  for (const name of await readdir(dataDir)) {
    if (!isKeyFile(name)) await rm(join(dataDir, name), { recursive: true, force: true });
  }
  await cp(snapshot, dataDir, { recursive: true });
  service = await startService(env);
  const restored = await call('GET', `${personsPath}?min_position=${String(opened.body.position)}`);
  assert.deepEqual(
    (restored.body as unknown as { firstname: string; lastname: string }[]).map((p) => [
      p.firstname,
      p.lastname,
    ]),
    [[ERASED, ERASED]],
  );
  const events = await call('GET', `/api/v1/cases/${caseId}/events`);
  assert.equal(JSON.stringify(events.body).includes(marker), false, 'the restored history shows no name');
});
