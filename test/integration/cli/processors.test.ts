import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { pino } from 'pino';
import { casesProjection } from '../../../projections/index.ts';
import { loadConfig } from '../../../src/app/config.ts';
import { startService } from '../../../src/app/service.ts';
import { parsePositionToken } from '../../../src/cases/application/case-service.ts';
import { eventually } from '../../support/eventually.ts';
import { kycIntakeExample } from '../../support/intake-examples.ts';
import { runCli } from './run-cli.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

type Report = { name: string; kind: string; state: string; failures: { eventId: string; action: string }[] };

it('a bug in one read model stops only its processor; the admin API and the CLI list, skip, retry and rebuild processors by name', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-processors-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const service = await startService(loadConfig({ DATA_DIR: dataDir, PORT: '0' }), pino({ level: 'silent' }));
  cleanups.push(() => service.stop());
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${service.url}/api/v1/admin/processors${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const cli = (...args: string[]) => runCli(['processors', ...args, '--url', service.url]);

  // A bug in this build's cases projection: it cannot apply the case of one client.
  const correct = casesProjection.evolve;
  cleanups.push(async () => {
    casesProjection.evolve = correct;
  });
  casesProjection.evolve = (current, event, documentId) => {
    if (event.type === 'CaseOpened' && (event.data as { client_id?: string }).client_id === 'client-bug') {
      throw new Error('the cases bug');
    }
    return correct(current, event, documentId);
  };
  const opened = await fetch(`${service.url}/api/v1/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': 'processors-bug' },
    body: JSON.stringify({ ...kycIntakeExample, client_id: 'client-bug' }),
  });
  assert.equal(opened.status, 202);
  const { position } = (await opened.json()) as { position: string };

  // Only the cases processor stops: the persons read model applies the same case.
  const stopped = await eventually('the cases processor to stop', async () => {
    const answer = await api('GET', '/cases');
    return (answer.body as Report).state === 'failed' ? (answer.body as Report) : undefined;
  });
  const eventId = stopped.failures[0]?.eventId ?? '';
  assert.equal(stopped.failures[0]?.action, 'stopped');
  const persons = service.processors.projectors().find((p) => p.name === 'persons');
  assert.equal(await persons?.waitFor(parsePositionToken(position), 10_000), true);
  const list = (await api('GET', '')).body.processors as Report[];
  assert.deepEqual(
    list.filter((p) => p.state !== 'running').map((p) => p.name),
    ['cases'],
  );
  const ready = (await (await fetch(`${service.url}/health/ready`)).json()) as {
    components: { processors: { status: string; processors: Record<string, { state: string }> } };
  };
  assert.equal(ready.components.processors.status, 'down');
  assert.equal(ready.components.processors.processors.cases?.state, 'failed');
  assert.equal(ready.components.processors.processors.persons?.state, 'running');

  const metrics = await (await fetch(`${service.url}/metrics`)).text();
  assert.match(metrics, /kyc_processor_failures\{[^}]*processor="cases"[^}]*\} 1/);
  assert.match(metrics, /kyc_processor_running\{[^}]*processor="persons"[^}]*\} 1/);
  assert.match(metrics, /kyc_processor_lag_events\{[^}]*processor="persons"[^}]*\} 0/);

  const listed = await cli('list');
  assert.equal(listed.code, 1, listed.stderr);
  assert.match(listed.stdout, /^cases\s+projector\s+failed .*1 FAILED event/m);
  assert.match(listed.stdout, /^persons\s+projector\s+running/m);
  const status = await cli('status', 'cases');
  assert.equal(status.code, 1);
  assert.match(status.stdout, new RegExp(`stopped at event ${eventId} .*the cases bug`));
  const unknown = await cli('status', 'case');
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown processor "case".*cases/);
  assert.equal((await api('GET', '/nope')).status, 404);
  assert.equal((await api('POST', '/nope/retry')).body.code, 'processor.not_found');

  // Retry with the bug still there: it stops again at the same event.
  const retried = await cli('retry', 'cases');
  assert.equal(retried.code, 0, retried.stderr);
  assert.match(retried.stdout, new RegExp(`retrying ${eventId}`));
  const nothing = await api('POST', '/persons/retry');
  assert.deepEqual([nothing.status, nothing.body.events], [202, []]);

  // Skip needs the event that stopped it; then the cases processor goes on.
  const wrong = await api('POST', '/cases/skip', { event_id: 'not-that-one', reason: 'wrong event' });
  assert.deepEqual([wrong.status, wrong.body.code], [409, 'processor.not_failed_at_event']);
  const skipped = await cli('skip', 'cases', '--event', eventId, '--reason', 'bad test case; fixed by hand');
  assert.equal(skipped.code, 0, skipped.stderr);
  await eventually('the cases processor to run', async () =>
    ((await api('GET', '/cases')).body as Report).state === 'running' ? true : undefined,
  );
  assert.equal((await cli('list')).code, 0);

  // Rebuild one processor; a name that is not there is refused.
  const rebuilt = await cli('rebuild', 'persons');
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assert.match(rebuilt.stdout, /persons: rebuilt and swapped/);
  assert.equal((await api('POST', '/nope/rebuild')).status, 404);
});
