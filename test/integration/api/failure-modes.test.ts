import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { type Config, loadConfig } from '../../../src/app/config.ts';
import { type RunningService, startService } from '../../../src/app/service.ts';
import { eventually } from '../../support/eventually.ts';

// Faults from the "Failure modes" table of the README that concern the event log and the read
// models, each against the embedded service in-process.

type Json = Record<string, unknown>;
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

async function freshDataDir(): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-failure-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  return dataDir;
}

async function start(dataDir: string, overrides: Partial<Config> = {}): Promise<RunningService> {
  const config = { ...loadConfig({ DATA_DIR: dataDir, PORT: '0' }), ...overrides };
  const service = await startService(config, pino({ level: 'silent' }));
  cleanups.push(() => service.stop());
  return service;
}

async function ready(service: RunningService) {
  const response = await fetch(`${service.url}/health/ready`);
  return { status: response.status, body: (await response.json()) as { components: Record<string, Json> } };
}

const waitReady = (service: RunningService) =>
  eventually('readiness', async () => ((await ready(service)).status === 200 ? true : undefined), 15_000);

describe('failure modes: event log and read models', () => {
  it('an idle service stays ready when the log grows only by events no projection handles', async () => {
    // No lag is tolerated at all: any event counted as unprocessed would turn readiness to 503.
    const service = await start(await freshDataDir(), { readyMaxProjectionLagSeconds: 0 });
    await waitReady(service);
    await service.eventStore.appendToStream(
      `other-service-${randomUUID()}`,
      [{ id: randomUUID(), type: 'SomethingElseHappened', data: {}, metadata: {} }],
      'no_stream',
    );
    const answer = await ready(service);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.components.projector?.lag_events, 0);
    const status = (await (await fetch(`${service.url}/api/v1/admin/projections`)).json()) as Json;
    assert.deepEqual((status.readiness as Json).status, 'up', 'projections status gives the same verdict');
  });

  it('an intake without a body is refused, audited with a null payload, and stops no projection', async () => {
    const service = await start(await freshDataDir());
    await waitReady(service);
    const refused = await fetch(`${service.url}/api/v1/cases`, { method: 'POST' });
    assert.equal(refused.status, 400);
    const audit = await eventually(
      'the refused intake in the raw audit',
      async () => {
        const response = await fetch(`${service.url}/api/v1/events/raw`);
        const rows = (await response.json()) as Json[];
        return rows.length > 0 ? rows : undefined;
      },
      15_000,
    );
    assert.equal(audit[0]?.outcome, 'rejected');
    assert.equal(audit[0]?.payload, null);
    assert.equal((await ready(service)).status, 200);
  });

  it('a skipped poison event stays skipped after a restart of the embedded service', async () => {
    const dataDir = await freshDataDir();
    const first = await start(dataDir);
    const poisonId = randomUUID();
    await first.eventStore.appendToStream(
      `case-poison-${poisonId}`,
      [{ id: poisonId, type: 'CaseOpened', data: { not: 'a case' }, metadata: { schemaVersion: 1 } }],
      'no_stream',
    );
    await eventually(
      'the projector to stop at the poison event',
      async () => ((await ready(first)).status === 503 ? true : undefined),
      15_000,
    );
    const skip = await fetch(`${first.url}/api/v1/admin/projections/skip`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: poisonId, reason: 'written by a buggy tool' }),
    });
    assert.equal(skip.status, 200, await skip.text());
    await waitReady(first);
    await first.stop();

    // In-memory read models are rebuilt from the log at start: the skip must come back with them.
    const second = await start(dataDir);
    await waitReady(second);
    const processors = second.processors.list().map((processor) => processor.status());
    assert.ok(processors.length > 0);
    assert.deepEqual(
      processors.filter((status) => status.failures.length > 0 || status.state !== 'running'),
      [],
    );
  });

  it('a min_position past the end of the log is refused at once, not waited for', async () => {
    const service = await start(await freshDataDir());
    await waitReady(service);
    const response = await fetch(`${service.url}/api/v1/cases?min_position=999999999999-999999999999`);
    const problem = (await response.json()) as Json;
    assert.equal(problem.code, 'read.position_beyond_head', JSON.stringify(problem));
    assert.equal(response.status, 400);
  });
});
