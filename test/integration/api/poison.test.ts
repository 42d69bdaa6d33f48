import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { startService } from '../../../src/app/service.ts';
import { eventually } from '../../support/eventually.ts';
import { kycIntakeExample } from '../../support/intake-examples.ts';

type Json = Record<string, unknown>;
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('a poison event stops the projector, turns readiness to 503 naming it, and an operator skip brings it back', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-poison-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const service = await startService(loadConfig({ DATA_DIR: dataDir, PORT: '0' }), pino({ level: 'silent' }));
  cleanups.push(() => service.stop());
  const ready = async () => {
    const response = await fetch(`${service.url}/health/ready`);
    return { status: response.status, body: (await response.json()) as { components: Record<string, Json> } };
  };
  assert.equal((await ready()).status, 200);

  // An event no projection can apply, written past the command handler (as a buggy writer would).
  const poisonId = randomUUID();
  await service.eventStore.appendToStream(
    `case-poison-${poisonId}`,
    [{ id: poisonId, type: 'CaseOpened', data: { not: 'a case' }, metadata: { schemaVersion: 1 } }],
    'no_stream',
  );

  const stopped = await eventually(
    'readiness to fail',
    async () => {
      const answer = await ready();
      return answer.status === 503 ? answer : undefined;
    },
    15_000,
  );
  assert.equal(stopped.body.components.projector?.status, 'down');
  assert.match(String(stopped.body.components.projector?.detail), new RegExp(poisonId));

  // Later writes wait, they are not lost.
  const opened = await fetch(`${service.url}/api/v1/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': 'after-the-poison' },
    body: JSON.stringify(kycIntakeExample),
  });
  assert.equal(opened.status, 202);
  const { case_id: caseId } = (await opened.json()) as { case_id: string };

  const skip = await fetch(`${service.url}/api/v1/admin/projections/skip`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: poisonId, reason: 'written by a buggy tool; nothing to project' }),
  });
  assert.equal(skip.status, 200, await skip.text());
  await eventually(
    'readiness to recover',
    async () => ((await ready()).status === 200 ? true : undefined),
    15_000,
  );
  const found = await eventually(
    'the case written meanwhile',
    async () => {
      const response = await fetch(`${service.url}/api/v1/cases/${caseId}`);
      return response.status === 200 ? response : undefined;
    },
    15_000,
  );
  assert.equal(found.status, 200);
});
