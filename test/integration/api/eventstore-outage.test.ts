import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { startService } from '../../../src/app/service.ts';
import { type RunningEmulator, startEmulator } from '../../../src/emulator/index.ts';
import { eventually } from '../../support/eventually.ts';
import { kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { testPersonalDataEnv } from '../../support/personal-data.ts';

type Json = Record<string, unknown>;
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('the event store stopped under the service: commands 503 with Retry-After, reads keep serving, all recovers without a restart', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-outage-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  let store: RunningEmulator = await startEmulator({ dataDir: join(dataDir, 'es'), port: 0 });
  const port = store.port;
  cleanups.push(() => store.close());
  const service = await startService(
    loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      EVENTSTORE_URL: store.connectionString,
      ...testPersonalDataEnv,
    }),
    pino({ level: 'silent' }),
  );
  cleanups.push(() => service.stop());

  const open = (key: string, intake: unknown) =>
    fetch(`${service.url}/api/v1/cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(intake),
    });
  const before = await open('before-the-outage', kycIntakeExample);
  assert.equal(before.status, 202);
  const { case_id: caseId, position } = (await before.json()) as { case_id: string; position: string };
  assert.equal((await fetch(`${service.url}/api/v1/cases/${caseId}?min_position=${position}`)).status, 200);

  await store.close();

  const refused = await open('during-the-outage', kybIntakeExample);
  const problem = (await refused.json()) as Json;
  assert.equal(problem.code, 'eventstore.unavailable', JSON.stringify(problem));
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get('retry-after'), '5');
  assert.match(String(refused.headers.get('content-type')), /application\/problem\+json/);

  // The read models stay readable; readiness says which part is down.
  const read = await fetch(`${service.url}/api/v1/cases/${caseId}`);
  assert.equal(read.status, 200);
  const ready = await fetch(`${service.url}/health/ready`);
  assert.equal(ready.status, 503);
  const health = (await ready.json()) as { components: Record<string, Json> };
  assert.equal(health.components.eventStore?.status, 'down');
  assert.equal(health.components.readStore?.status, 'up');

  // The same store comes back on the same address: no restart of the service.
  store = await startEmulator({ dataDir: join(dataDir, 'es'), port });
  const reopened = await eventually(
    'a command to succeed again',
    async () => {
      const response = await open('during-the-outage', kybIntakeExample);
      return response.status === 202
        ? ((await response.json()) as { case_id: string; position: string })
        : undefined;
    },
    30_000,
  );
  const found = await fetch(
    `${service.url}/api/v1/cases/${reopened.case_id}?min_position=${reopened.position}`,
  );
  assert.equal(found.status, 200, 'the projector follows the store again');
  await eventually(
    'readiness to recover',
    async () => ((await fetch(`${service.url}/health/ready`)).status === 200 ? true : undefined),
    30_000,
  );
});
