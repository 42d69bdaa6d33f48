import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { startService } from '../../../src/app/service.ts';
import { startEmulator } from '../../../src/emulator/index.ts';
import { kycIntakeExample } from '../../support/intake-examples.ts';
import { testPersonalDataEnv } from '../../support/personal-data.ts';
import { mongoUrl } from '../../support/services.ts';
import { runCli } from '../cli/run-cli.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('a replica with PROJECTOR=off serves the read models another replica projects, read-your-writes included', async (t) => {
  const url = mongoUrl(t);
  if (url === undefined) return;
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-replicas-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const emulator = await startEmulator({ dataDir });
  cleanups.push(() => emulator.close());
  const shared = {
    EVENTSTORE_URL: emulator.connectionString,
    MONGODB_URL: url,
    MONGODB_DATABASE: `replicas_${randomUUID().slice(0, 8)}`,
    PORT: '0',
    ...testPersonalDataEnv,
  };
  const projecting = await startService(loadConfig(shared), pino({ level: 'silent' }));
  cleanups.push(() => projecting.stop());
  const serving = await startService(loadConfig({ ...shared, PROJECTOR: 'off' }), pino({ level: 'silent' }));
  cleanups.push(() => serving.stop());
  assert.deepEqual(serving.processors.projectors(), []);

  // Written through the serving replica, read back from it at the position the write returned:
  // it waits on the checkpoints the projecting replica stores.
  const opened = await fetch(`${serving.url}/api/v1/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `replicas-${randomUUID()}` },
    body: JSON.stringify(kycIntakeExample),
  });
  assert.equal(opened.status, 202);
  const { case_id: caseId, position } = (await opened.json()) as { case_id: string; position: string };
  const read = await fetch(`${serving.url}/api/v1/cases/${caseId}?min_position=${position}`);
  assert.equal(read.status, 200, await read.clone().text());
  assert.equal(((await read.json()) as { id: string }).id, caseId);

  const ready = await fetch(`${serving.url}/health/ready`);
  assert.equal(ready.status, 200);
  const components = (
    (await ready.json()) as { components: Record<string, { status: string; state?: string }> }
  ).components;
  assert.deepEqual([components.projector?.status, components.projector?.state], ['up', 'off']);

  const status = (await (await fetch(`${serving.url}/api/v1/admin/projections`)).json()) as {
    state: string;
    healthy: boolean | null;
    lag: { events: number };
  };
  assert.deepEqual([status.state, status.healthy, status.lag.events], ['off', null, 0]);
  const cli = await runCli(['projections', 'status', '--url', serving.url]);
  assert.equal(cli.code, 2);
  assert.match(
    cli.stderr,
    /does not run the projector \(PROJECTOR=off.*point --url at the replica that projects/,
  );

  const retry = await fetch(`${serving.url}/api/v1/admin/projections/retry`, { method: 'POST' });
  assert.equal(retry.status, 409);
  assert.equal(((await retry.json()) as { code: string }).code, 'projector.off');
  const rebuild = await fetch(`${serving.url}/api/v1/admin/projections/cases/rebuild`, { method: 'POST' });
  assert.equal(rebuild.status, 409);
  assert.match(((await rebuild.json()) as { title: string }).title, /PROJECTOR=off/);

  // Stopped projector elsewhere: the serving replica's wait times out instead of answering stale.
  await projecting.stop();
  const second = await fetch(`${serving.url}/api/v1/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `replicas-${randomUUID()}` },
    body: JSON.stringify(kycIntakeExample),
  });
  const later = (await second.json()) as { case_id: string; position: string };
  const stale = await fetch(`${serving.url}/api/v1/cases/${later.case_id}?min_position=${later.position}`);
  assert.equal(stale.status, 503);
  assert.equal(((await stale.json()) as { code: string }).code, 'read_model.behind');
});
