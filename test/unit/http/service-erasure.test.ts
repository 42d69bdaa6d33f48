import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiKey } from '../../../src/app/config.ts';
import { type InjectApp, injectApp } from '../../support/inject-app.ts';
import { copyOf, kycIntakeExample } from '../../support/intake-examples.ts';
import { assertDeclared, assertProblem } from './problems.ts';

type Json = Record<string, unknown>;

const keys: ApiKey[] = [
  { name: 'intake', role: 'operator', secret: 'operator-secret-0123456789' },
  { name: 'compliance', role: 'approver', secret: 'approver-secret-0123456789' },
  { name: 'ops', role: 'admin', secret: 'admin-secret-0123456789' },
  { name: 'legal', role: 'admin', secret: 'legal-admin-secret-0123456789' },
];
const as = (name: string) => ({
  authorization: `Bearer ${keys.find((key) => key.name === name)!.secret}`,
});

describe('retention and erasure routes (inject)', () => {
  let harness: InjectApp;

  before(async () => {
    harness = await injectApp({ keys });
  });
  after(() => harness.close());

  async function openCase(): Promise<string> {
    const intake = copyOf(kycIntakeExample) as Json;
    intake.client_id = `client-${Math.random().toString(36).slice(2)}`;
    const opened = await harness.app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      headers: { ...as('intake'), 'idempotency-key': `erasure-${intake.client_id}` },
      payload: intake,
    });
    assert.equal(opened.statusCode, 202, opened.body);
    await harness.settled();
    return (opened.json() as { case_id: string }).case_id;
  }

  const post = (url: string, caller: string, payload: Json = {}, headers: Json = {}) =>
    harness.app.inject({ method: 'POST', url, headers: { ...as(caller), ...headers }, payload });
  const get = (url: string, caller: string) =>
    harness.app.inject({ method: 'GET', url, headers: as(caller) });

  describe('erasures for operators', () => {
    const LONG_AGO = '2000-01-01T00:00:00.000Z';

    it("runs the due job on an admin's request: due erasures complete, deferred and held ones stay", async () => {
      const [due, running, held] = [await openCase(), await openCase(), await openCase()];
      for (const caseId of [due, running, held])
        await post(`/api/v1/cases/${caseId}/erasure-request`, 'intake');
      for (const caseId of [due, held]) {
        await post(`/api/v1/cases/${caseId}/relationship-end`, 'intake', { ended_at: LONG_AGO });
      }
      const hold = await post(`/api/v1/cases/${held}/legal-holds`, 'ops', { reason_code: 'litigation' });
      assert.equal(hold.statusCode, 201, hold.body);

      const listed = async (status: string) =>
        ((await get(`/api/v1/admin/erasures?status=${status}`, 'ops')).json() as { erasures: Json[] })
          .erasures;
      assert.ok((await listed('due')).some((e) => e.case_id === due));
      const run = await post('/api/v1/admin/erasures/run', 'ops');
      assert.equal(run.statusCode, 200, run.body);
      assert.ok((run.json() as { completed: string[] }).completed.includes(due));
      assert.deepEqual(
        (run.json() as { completed: string[] }).completed.filter((c) => c === running || c === held),
        [],
      );
      await assertDeclared(harness.app, 'post', '/api/v1/admin/erasures/run', 200);

      const completed = await listed('completed');
      assert.deepEqual(
        completed.filter((e) => e.case_id === due).map((e) => e.status),
        ['completed'],
      );
      const deferred = await listed('deferred');
      assert.deepEqual(deferred.find((e) => e.case_id === running)?.blocking, ['relationship_active']);
      assert.deepEqual(deferred.find((e) => e.case_id === held)?.blocking, ['legal_hold']);
      const all = await get('/api/v1/admin/erasures?limit=1000', 'ops');
      assert.equal(all.statusCode, 200);
      await assertDeclared(harness.app, 'get', '/api/v1/admin/erasures', 200);
      const statuses = (all.json() as { erasures: Json[] }).erasures
        .filter((e) => [due, running, held].includes(e.case_id as string))
        .map((e) => `${e.case_id === due ? 'due' : e.case_id === held ? 'held' : 'running'}:${e.status}`)
        .sort();
      assert.deepEqual(statuses, ['due:completed', 'held:deferred', 'running:deferred']);
    });

    it('refuses callers who are not admins and a status it does not know', async () => {
      for (const caller of ['intake', 'compliance']) {
        assertProblem(await post('/api/v1/admin/erasures/run', caller), 403, 'auth.forbidden');
        assertProblem(await get('/api/v1/admin/erasures', caller), 403, 'auth.forbidden');
      }
      assertProblem(await get('/api/v1/admin/erasures?status=erased', 'ops'), 400, 'request.invalid');
      assertProblem(await get('/api/v1/admin/erasures?limit=0', 'ops'), 400, 'request.invalid');
    });
  });

  describe('legal holds', () => {
    it('are released only by another admin than the one who placed them', async () => {
      const caseId = await openCase();
      const placed = await post(`/api/v1/cases/${caseId}/legal-holds`, 'ops', { reason_code: 'litigation' });
      assert.equal(placed.statusCode, 201, placed.body);
      const holdId = (placed.json() as { hold_id: string }).hold_id;
      const release = (caller: string) =>
        post(`/api/v1/cases/${caseId}/legal-holds/${holdId}/release`, caller, { reason_code: 'settled' });

      const own = assertProblem(await release('ops'), 409, 'retention.own_hold');
      assert.deepEqual([own.hold_id, own.placed_by], [holdId, 'ops']);
      await assertDeclared(
        harness.app,
        'post',
        '/api/v1/cases/{case_id}/legal-holds/{hold_id}/release',
        409,
        'retention.own_hold',
      );
      const held = (await get(`/api/v1/cases/${caseId}/erasure`, 'intake')).json() as Json;
      await post(`/api/v1/cases/${caseId}/erasure-request`, 'intake');
      const status = (await get(`/api/v1/cases/${caseId}/erasure`, 'intake')).json() as Json;
      assert.deepEqual([held.status, status.blocking], ['none', ['relationship_active', 'legal_hold']]);

      const released = await release('legal');
      assert.deepEqual([released.statusCode, released.json()], [200, { hold_id: holdId, released: true }]);
      const after = (await get(`/api/v1/cases/${caseId}/erasure`, 'intake')).json() as Json;
      assert.deepEqual(after.blocking, ['relationship_active'], 'the hold is gone');
    });
  });

  describe('erasure of one subject', () => {
    it('answers 404 for a subject the case holds no personal data of, and 403 below approver', async () => {
      const caseId = await openCase();
      const url = `/api/v1/cases/${caseId}/subjects/no-such-person/erasure-request`;
      assertProblem(
        await post(url, 'compliance', { reason_code: 'recorded_in_error' }),
        404,
        'subject.not_found',
      );
      await assertDeclared(
        harness.app,
        'post',
        '/api/v1/cases/{case_id}/subjects/{subject_id}/erasure-request',
        404,
        'subject.not_found',
      );
      assertProblem(await post(url, 'intake', { reason_code: 'recorded_in_error' }), 403, 'auth.forbidden');
      assertProblem(await post(url, 'ops', { reason_code: 'just_because' }), 400, 'request.invalid');
      const status = await get(`/api/v1/cases/${caseId}/subjects/no-such-person/erasure`, 'intake');
      assert.deepEqual([status.statusCode, status.json()], [200, { status: 'none' }]);
    });
  });

  describe('retention extensions', () => {
    const ENDED = '2026-03-01T00:00:00.000Z';

    it('moves the retention date of a case for an admin, and the erasure waits for the new date', async () => {
      const caseId = await openCase();
      await post(`/api/v1/cases/${caseId}/relationship-end`, 'intake', { ended_at: ENDED });
      await post(`/api/v1/cases/${caseId}/erasure-request`, 'intake');
      const extended = await post(
        `/api/v1/cases/${caseId}/retention-extensions`,
        'ops',
        { retain_until: '2034-01-01T00:00:00Z', reason_code: 'regulator_request' },
        { 'idempotency-key': `extend-${caseId}` },
      );
      assert.equal(extended.statusCode, 200, extended.body);
      assert.deepEqual(extended.json(), {
        rule: 'AMLR-77',
        rule_retain_until: '2031-03-01T00:00:00.000Z',
        retain_until: '2034-01-01T00:00:00.000Z',
      });
      await assertDeclared(harness.app, 'post', '/api/v1/cases/{case_id}/retention-extensions', 200);
      const status = (await get(`/api/v1/cases/${caseId}/erasure`, 'intake')).json() as Json;
      assert.deepEqual([status.status, status.due_at], ['deferred', '2034-01-01T00:00:00.000Z']);
    });

    it('refuses a date below the rule, a case whose relationship runs, and callers who are not admins', async () => {
      const caseId = await openCase();
      const extend = (caller: string, retain_until = '2040-01-01T00:00:00Z') =>
        post(`/api/v1/cases/${caseId}/retention-extensions`, caller, {
          retain_until,
          reason_code: 'investigation',
        });
      assertProblem(await extend('ops'), 409, 'retention.relationship_active');
      await post(`/api/v1/cases/${caseId}/relationship-end`, 'intake', { ended_at: ENDED });
      const early = await extend('ops', '2031-02-28T00:00:00Z');
      assertProblem(early, 422, 'retention.extension_before_rule_date');
      await assertDeclared(
        harness.app,
        'post',
        '/api/v1/cases/{case_id}/retention-extensions',
        422,
        'retention.extension_before_rule_date',
      );
      for (const caller of ['intake', 'compliance'])
        assertProblem(await extend(caller), 403, 'auth.forbidden');
      assertProblem(
        await post(`/api/v1/cases/${caseId}/retention-extensions`, 'ops', {
          retain_until: 'tomorrow',
          reason_code: 'investigation',
        }),
        400,
        'request.invalid',
      );
    });
  });
});
