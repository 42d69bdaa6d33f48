import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { caseProjections, intakeProjections, retentionProjections } from '../../../projections/index.ts';
import type { ApiKey } from '../../../src/app/config.ts';
import type { Projection } from '../../../src/eventsourcing/core/projection.ts';
import { eventually } from '../../support/eventually.ts';
import { type InjectApp, injectApp } from '../../support/inject-app.ts';
import { copyOf, kycIntakeExample } from '../../support/intake-examples.ts';
import { assertProblem } from './problems.ts';

type Json = Record<string, unknown>;

const keys: ApiKey[] = [
  { name: 'auditor', role: 'reader', secret: 'reader-secret-0123456789' },
  { name: 'intake', role: 'operator', secret: 'operator-secret-0123456789' },
  { name: 'ops', role: 'admin', secret: 'admin-secret-0123456789' },
];
const as = (role: 'reader' | 'operator' | 'admin') => ({
  authorization: `Bearer ${keys.find((key) => key.role === role)!.secret}`,
});

describe('roles on the composed service (inject)', () => {
  let harness: InjectApp;
  before(async () => {
    harness = await injectApp({ keys });
  });
  after(() => harness.close());

  const call = (method: 'GET' | 'POST', url: string, headers: Record<string, string> = {}) =>
    harness.app.inject({
      method,
      url,
      headers,
      ...(method === 'POST' && url === '/api/v1/cases' ? { payload: copyOf(kycIntakeExample) } : {}),
    });

  // Each route family: one read, one command, one admin operation.
  const routes = [
    { method: 'GET', url: '/api/v1/cases', needs: 'reader', ok: 200 },
    { method: 'GET', url: '/api/v1/events/raw', needs: 'reader', ok: 200 },
    { method: 'POST', url: '/api/v1/cases', needs: 'operator', ok: 202 },
    { method: 'GET', url: '/api/v1/admin/projections', needs: 'admin', ok: 200 },
  ] as const;
  const rank = { reader: 0, operator: 1, admin: 2 } as const;

  for (const route of routes) {
    it(`answers ${route.method} ${route.url} with 401 without a key or with an unknown one`, async () => {
      assertProblem(await call(route.method, route.url), 401, 'auth.unauthenticated');
      assertProblem(
        await call(route.method, route.url, { authorization: 'Bearer not-a-key-of-this-service' }),
        401,
        'auth.unauthenticated',
      );
    });

    for (const role of ['reader', 'operator', 'admin'] as const) {
      const allowed = rank[role] >= rank[route.needs];
      it(`answers ${route.method} ${route.url} for ${role === 'reader' ? 'a' : 'an'} ${role} with ${allowed ? route.ok : 403}`, async () => {
        const response = await call(route.method, route.url, as(role));
        if (allowed) assert.equal(response.statusCode, route.ok, response.body);
        else assertProblem(response, 403, 'auth.forbidden');
      });
    }
  }

  it('accepts the key as X-API-Key too, and records the caller as the actor of what it writes', async () => {
    const opened = await harness.app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      payload: { ...copyOf(kycIntakeExample), client_id: 'actor-check' },
      headers: { 'x-api-key': keys[1]!.secret },
    });
    assert.equal(opened.statusCode, 202, opened.body);
    const events = await harness.app.inject({
      method: 'GET',
      url: `/api/v1/cases/${opened.json().case_id}/events?limit=1`,
      headers: as('reader'),
    });
    assert.equal(events.json()[0].metadata.actor, 'intake');
  });

  it('keeps health public while keys are configured', async () => {
    const response = await harness.app.inject({ method: 'GET', url: '/health/ready' });
    assert.equal(response.statusCode, 200, response.body);
  });
});

describe('operations on the composed service (inject)', () => {
  let harness: InjectApp;
  before(async () => {
    harness = await injectApp();
  });
  after(() => harness.close());

  const call = (method: 'GET' | 'POST', url: string, payload?: Json) =>
    harness.app.inject({ method, url, ...(payload === undefined ? {} : { payload }) });

  it('reports every projection at the checkpoint of the last event written', async () => {
    const opened = await call('POST', '/api/v1/cases', copyOf(kycIntakeExample));
    assert.equal(opened.statusCode, 202);
    await harness.settled();
    const status = (await call('GET', '/api/v1/admin/projections')).json();
    assert.equal(status.state, 'live');
    assert.equal(status.healthy, true);
    const head = harness.eventStore.all().at(-1)!.position;
    const names = [...caseProjections, ...intakeProjections, ...retentionProjections]
      .map((p) => p.name)
      .sort();
    assert.deepEqual(status.projections.map((p: Json) => p.name).sort(), names);
    for (const projection of status.projections) {
      assert.deepEqual(projection.checkpoint, { commit: String(head.commit), prepare: String(head.prepare) });
    }
  });

  it('rebuilds a read model on request and serves the same documents after the swap', async () => {
    await call('POST', '/api/v1/cases', { ...copyOf(kycIntakeExample), client_id: 'rebuilt' });
    await harness.settled();
    const before = (await call('GET', '/api/v1/cases?limit=500')).json();
    const targetOfCases = async () =>
      (await call('GET', '/api/v1/admin/projections'))
        .json()
        .projections.find((p: Json) => p.name === 'cases').target as string;
    const targetBefore = await targetOfCases();
    const started = await call('POST', '/api/v1/admin/projections/cases/rebuild');
    assert.equal(started.statusCode, 202, started.body);
    assert.deepEqual(started.json(), { rebuilding: 'cases' });
    // The rebuild runs after the answer; the swap shows as a new target collection.
    await eventually('the cases rebuild to swap', async () => {
      const target = await targetOfCases();
      return target !== targetBefore ? target : undefined;
    });
    assert.deepEqual((await call('GET', '/api/v1/cases?limit=500')).json(), before);
  });

  it('refuses to rebuild a projection that does not exist with 409', async () => {
    assertProblem(
      await call('POST', '/api/v1/admin/projections/nothing/rebuild'),
      409,
      'projection.rebuild_refused',
    );
  });

  it('refuses to skip an event the projector is not stopped at with 409', async () => {
    const problem = assertProblem(
      await call('POST', '/api/v1/admin/projections/skip', { event_id: 'some-event', reason: 'not stopped' }),
      409,
      'projection.not_stopped_at_event',
    );
    assert.equal(problem.stopped_at, null);
  });

  it('refuses a skip without a reason, naming the field', async () => {
    const problem = assertProblem(
      await call('POST', '/api/v1/admin/projections/skip', { event_id: 'some-event' }),
      400,
      'request.invalid',
    );
    assert.deepEqual(
      problem.violations?.map((v) => v.path),
      ['body/reason'],
    );
  });

  for (const [method, url] of [
    ['GET', '/api/v1/admin/notifications/parked'],
    ['POST', '/api/v1/admin/notifications/parked/replay'],
    ['GET', '/api/v1/admin/dlq'],
  ] as const) {
    it(`says the Kafka bridge is off on ${method} ${url}`, async () => {
      assertProblem(await call(method, url), 409, 'kafka.bridge_off');
    });
  }
});

describe('a projection stopped by an event, repaired over the admin API (inject)', () => {
  // Refuses the intake of one client; every other event passes.
  const poisoned: Projection = {
    name: 'poisoned',
    version: 1,
    collection: 'poisoned',
    handles: ['CaseOpened'],
    creates: ['CaseOpened'],
    documentIds: (event) => [String((event.data as Json).case_id)],
    evolve(_current, event, documentId) {
      if ((event.data as Json).client_id === 'poison') throw new Error('cannot read this case');
      return { id: documentId };
    },
  };
  let harness: InjectApp;
  before(async () => {
    harness = await injectApp({ projections: [...caseProjections, poisoned] });
  });
  after(() => harness.close());

  it('reports the stopped event on /health/ready and the admin status, and resumes once it is skipped', async () => {
    const opened = await harness.app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      payload: { ...copyOf(kycIntakeExample), client_id: 'poison' },
    });
    assert.equal(opened.statusCode, 202, opened.body);
    const failure = await eventually('the projector to stop at the poisoned event', () => {
      return harness.processors.get('poisoned')?.status().failures[0];
    });
    assert.equal(failure.projection, 'poisoned');

    const ready = await harness.app.inject({ method: 'GET', url: '/health/ready' });
    assert.equal(ready.statusCode, 503);
    assert.match(ready.json().components.projector.detail, /projection poisoned stopped at event/);
    const status = (await harness.app.inject({ method: 'GET', url: '/api/v1/admin/projections' })).json();
    assert.equal(status.healthy, false);

    const skipped = await harness.app.inject({
      method: 'POST',
      url: '/api/v1/admin/projections/skip',
      payload: { event_id: failure.eventId, reason: 'unreadable test case' },
    });
    assert.equal(skipped.statusCode, 200, skipped.body);
    assert.deepEqual(skipped.json(), { skipped: failure.eventId });
    await harness.settled();
    const resumed = await harness.app.inject({ method: 'GET', url: '/health/ready' });
    assert.equal(resumed.statusCode, 200, resumed.body);
    const found = await harness.app.inject({ method: 'GET', url: `/api/v1/cases/${opened.json().case_id}` });
    assert.equal(found.json().client_id, 'poison', 'the other projections applied the event');
  });
});
