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
import { eventually } from '../../support/eventually.ts';
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

it('replicas with PROJECTOR=auto share the processors by lease: one leads, the other follows and serves, and takes over when the leader stops', async (t) => {
  const url = mongoUrl(t);
  if (url === undefined) return;
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-leases-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const emulator = await startEmulator({ dataDir });
  cleanups.push(() => emulator.close());
  const shared = {
    EVENTSTORE_URL: emulator.connectionString,
    MONGODB_URL: url,
    MONGODB_DATABASE: `leases_${randomUUID().slice(0, 8)}`,
    PORT: '0',
    LEASE_TTL_MS: '6000',
    LEASE_RENEW_AFTER_MS: '1000',
    LEASE_MARGIN_MS: '2000',
    ...testPersonalDataEnv,
  };
  type Lease = {
    mode: string;
    role: string;
    holder: string | null;
    token: number | null;
    expires_at: string | null;
  };
  const leases = async (service: { url: string }) => {
    const body = (await (await fetch(`${service.url}/api/v1/admin/processors`)).json()) as {
      processors: { name: string; lease: Lease }[];
    };
    return body.processors;
  };
  const a = await startService(loadConfig({ ...shared, REPLICA_ID: 'replica-a' }), pino({ level: 'silent' }));
  cleanups.push(() => a.stop());
  const b = await startService(loadConfig({ ...shared, REPLICA_ID: 'replica-b' }), pino({ level: 'silent' }));
  cleanups.push(() => b.stop());
  const replicas = [
    { id: 'replica-a', service: a },
    { id: 'replica-b', service: b },
  ];
  // Each processor: one replica leads, the other follows it. (Which one leads which is up to the
  // leases: under load a lease may change hands, so the test asks rather than assumes.)
  const placement = async () => {
    const [ofA, ofB] = await Promise.all([leases(a), leases(b)]);
    const settled = ofA.map((p, index) => {
      const q = ofB[index];
      if (q === undefined || q.name !== p.name) return undefined;
      if (p.lease.role === 'leader' && q.lease.role === 'follower' && q.lease.holder === 'replica-a')
        return [p.name, 'replica-a'] as const;
      if (q.lease.role === 'leader' && p.lease.role === 'follower' && p.lease.holder === 'replica-b')
        return [p.name, 'replica-b'] as const;
      return undefined;
    });
    return settled.every((entry) => entry !== undefined) ? new Map(settled) : undefined;
  };
  const leaders = await eventually(
    'one leader per processor, followed by the other replica',
    placement,
    15_000,
  );
  for (const { name, lease } of [...(await leases(a)), ...(await leases(b))]) {
    assert.equal(lease.mode, 'auto', name);
    assert.equal(typeof lease.token, 'number', name);
    assert.ok(lease.expires_at && Date.parse(lease.expires_at) > Date.now() - 10_000, name);
  }
  const casesLeader = replicas.find(({ id }) => id === leaders.get('cases'));
  const casesFollower = replicas.find(({ id }) => id !== leaders.get('cases'));
  assert.ok(casesLeader && casesFollower);

  // Written and read back through the follower: it waits on the checkpoints the leader stores.
  const openThrough = async (service: { url: string }) => {
    const opened = await fetch(`${service.url}/api/v1/cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `leases-${randomUUID()}` },
      body: JSON.stringify(kycIntakeExample),
    });
    assert.equal(opened.status, 202);
    const { case_id: caseId, position } = (await opened.json()) as { case_id: string; position: string };
    // 503 read_model.behind says "retry shortly": on a loaded machine the leader may need longer
    // than one wait, so a few are allowed.
    await eventually(
      'the case to be readable at its position',
      async () => {
        const read = await fetch(`${service.url}/api/v1/cases/${caseId}?min_position=${position}`);
        if (read.status === 503) return undefined;
        assert.equal(read.status, 200, await read.clone().text());
        return true;
      },
      20_000,
    );
  };
  await openThrough(casesFollower.service);

  const ready = await fetch(`${casesFollower.service.url}/health/ready`);
  assert.equal(ready.status, 200, await ready.clone().text());
  const processors = (
    (await ready.json()) as {
      components: { processors: { status: string; processors: Record<string, { lease: Lease }> } };
    }
  ).components.processors;
  assert.equal(processors.status, 'up', 'a follower is healthy');
  assert.equal(processors.processors.cases?.lease.role, 'follower');
  const leaderMetrics = await (await fetch(`${casesLeader.service.url}/metrics`)).text();
  const followerMetrics = await (await fetch(`${casesFollower.service.url}/metrics`)).text();
  assert.match(leaderMetrics, /kyc_processor_leader\{[^}]*processor="cases"[^}]*\} 1/);
  assert.match(followerMetrics, /kyc_processor_leader\{[^}]*processor="cases"[^}]*\} 0/);
  assert.match(followerMetrics, /kyc_processor_lease_expires_seconds\{[^}]*processor="cases"[^}]*\} \d/);
  const listed = await runCli(['processors', 'list', '--url', casesFollower.service.url]);
  assert.ok(
    listed.stdout
      .split('\n')
      .some(
        (line) =>
          /^cases\s+projector\s+stopped\s/.test(line) && line.includes(`follower of ${casesLeader.id}`),
      ),
    listed.stdout,
  );
  const rebuild = await fetch(`${casesFollower.service.url}/api/v1/admin/processors/cases/rebuild`, {
    method: 'POST',
  });
  assert.equal(rebuild.status, 409);
  assert.match(await rebuild.text(), new RegExp(casesLeader.id));

  // A graceful stop releases the leases: the other replica takes them over at its next look.
  await casesLeader.service.stop();
  await eventually(
    `${casesFollower.id} to lead every processor`,
    async () =>
      (await leases(casesFollower.service)).every((p) => p.lease.role === 'leader') ? true : undefined,
    10_000,
  );
  await openThrough(casesFollower.service);
});
