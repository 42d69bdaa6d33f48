import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { pino } from 'pino';
import { casesProjection } from '../../../projections/index.ts';
import { loadConfig } from '../../../src/app/config.ts';
import { startService } from '../../../src/app/service.ts';
import { eventually } from '../../support/eventually.ts';
import { kycIntakeExample } from '../../support/intake-examples.ts';
import { runCli } from './run-cli.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('a projection bug stops the projector and readiness names it; `projections retry` after the fix brings it back', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-retry-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const service = await startService(loadConfig({ DATA_DIR: dataDir, PORT: '0' }), pino({ level: 'silent' }));
  cleanups.push(() => service.stop());
  const ready = async () => {
    const response = await fetch(`${service.url}/health/ready`);
    const body = (await response.json()) as {
      components: Record<string, { status: string; detail?: string; failure?: { at: string } }>;
    };
    return { status: response.status, projector: body.components.projector };
  };
  const cli = (...args: string[]) => runCli(['projections', ...args, '--url', service.url]);

  // A bug in this build's cases projection: it cannot apply the case of one client.
  const correct = casesProjection.evolve;
  cleanups.push(async () => {
    casesProjection.evolve = correct;
  });
  casesProjection.evolve = (current, event, documentId) => {
    if (
      event.type === 'CaseOpened' &&
      (event.data as { client_id?: string }).client_id === 'client-hit-by-the-bug'
    ) {
      throw new Error('cannot read property of undefined (the bug)');
    }
    return correct(current, event, documentId);
  };

  const opened = await fetch(`${service.url}/api/v1/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': 'retry-after-fix' },
    body: JSON.stringify({ ...kycIntakeExample, client_id: 'client-hit-by-the-bug' }),
  });
  assert.equal(opened.status, 202);
  const { case_id: caseId } = (await opened.json()) as { case_id: string };

  const stopped = await eventually(
    'readiness to fail',
    async () => {
      const answer = await ready();
      return answer.status === 503 ? answer : undefined;
    },
    15_000,
  );
  assert.equal(stopped.projector?.status, 'down');
  const named = /projection cases stopped at event ([0-9a-f-]{36}): .*the bug/.exec(
    stopped.projector?.detail ?? '',
  );
  assert.ok(named, `readiness names the projection and the event: ${stopped.projector?.detail}`);
  const eventId = named[1]!;

  const status = await cli('status');
  assert.equal(status.code, 1, status.stderr);
  assert.match(status.stdout, new RegExp(`stopped at event ${eventId} in cases`));

  // A skip names the event the operator saw; without it, or with another one, nothing is skipped.
  const unnamed = await cli('skip', 'cases', '--reason', 'not looked at');
  assert.equal(unnamed.code, 2);
  assert.match(unnamed.stderr, /--event <event-id>/);
  const otherEvent = await cli('skip', 'cases', '--event', randomUUID(), '--reason', 'not this one');
  assert.notEqual(otherEvent.code, 0);
  assert.match(otherEvent.stderr, new RegExp(`stopped at event ${eventId}`));

  const wrongName = await cli('retry', 'persons');
  assert.equal(wrongName.code, 1);
  assert.match(wrongName.stderr, new RegExp(`projection cases stopped at event ${eventId}`));

  // Retrying before the fix meets the same event again.
  const early = await cli('retry');
  assert.equal(early.code, 0, early.stderr);
  const still = await eventually(
    'the retry to fail again',
    async () => {
      const answer = await ready();
      const failedAgain =
        answer.status === 503 && answer.projector?.failure?.at !== stopped.projector?.failure?.at;
      return failedAgain ? answer : undefined;
    },
    15_000,
  );
  assert.match(still.projector?.detail ?? '', new RegExp(eventId));

  // The fix is deployed: the operator retries and the projector carries on from that event.
  casesProjection.evolve = correct;
  const retried = await cli('retry', 'cases');
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(retried.stdout, new RegExp(`retrying event ${eventId} in cases`));
  await eventually(
    'readiness to recover',
    async () => ((await ready()).status === 200 ? true : undefined),
    15_000,
  );
  const found = await eventually(
    'the case in the read model',
    async () => {
      const response = await fetch(`${service.url}/api/v1/cases/${caseId}`);
      return response.status === 200 ? ((await response.json()) as { client_id: string }) : undefined;
    },
    15_000,
  );
  assert.equal(found.client_id, 'client-hit-by-the-bug');
  const healthy = await cli('status');
  assert.equal(healthy.code, 0, healthy.stdout);
  const nothingToSkip = await cli('skip', 'cases', '--reason', 'late');
  assert.equal(nothingToSkip.code, 1);
  assert.match(nothingToSkip.stdout, /not stopped/);
});
