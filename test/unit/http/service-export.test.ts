import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ApiKey } from '../../../src/app/config.ts';
import type { PersonalDataAccess } from '../../../src/http/ports.ts';
import { eventually } from '../../support/eventually.ts';
import { type InjectApp, injectApp } from '../../support/inject-app.ts';
import { copyOf, kycIntakeExample } from '../../support/intake-examples.ts';
import { assertProblem } from './problems.ts';

type Json = Record<string, unknown>;

const keys: ApiKey[] = [
  { name: 'auditor', role: 'reader', secret: 'reader-secret-0123456789' },
  { name: 'intake', role: 'operator', secret: 'operator-secret-0123456789' },
  { name: 'reviewer-1', role: 'reviewer', secret: 'reviewer-secret-0123456789' },
  { name: 'compliance', role: 'approver', secret: 'approver-secret-0123456789' },
  { name: 'ops', role: 'admin', secret: 'admin-secret-0123456789' },
];
const as = (name: string) => ({
  authorization: `Bearer ${keys.find((key) => key.name === name)!.secret}`,
});

describe('case export for authorities (inject)', () => {
  let harness: InjectApp;
  const reads: PersonalDataAccess[] = [];
  const NAME = `Exportmarker${Date.now()}`;

  before(async () => {
    harness = await injectApp({ keys, accessLog: { record: (read) => void reads.push(read) } });
  });
  after(() => harness.close());

  async function openCase(): Promise<string> {
    const intake = copyOf(kycIntakeExample) as Json & { persons: Json[] };
    intake.client_id = `client-${Math.random().toString(36).slice(2)}`;
    intake.persons[0]!.firstname = NAME;
    const opened = await harness.app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      headers: { ...as('intake'), 'idempotency-key': `export-${intake.client_id}` },
      payload: intake,
    });
    assert.equal(opened.statusCode, 202, opened.body);
    await harness.settled();
    return (opened.json() as { case_id: string }).case_id;
  }

  const exportOf = (caseId: string, caller: string) =>
    harness.app.inject({ method: 'GET', url: `/api/v1/cases/${caseId}/export`, headers: as(caller) });

  it('gives an approver the decrypted events and the read models of the case, and records the read', async () => {
    const caseId = await openCase();
    reads.length = 0;
    const response = await exportOf(caseId, 'compliance');
    assert.equal(response.statusCode, 200, response.body);
    const body = response.json() as Json & { events: Json[]; persons: Json[]; case: Json; erasure: Json };
    assert.equal(body.export_version, 1);
    assert.equal(body.case_id, caseId);
    assert.equal(body.exported_by, 'compliance');
    assert.equal(body.case.id, caseId);
    assert.deepEqual(body.erasure, { status: 'none' });
    assert.equal(body.persons[0]?.firstname, NAME);
    assert.equal(body.events[0]?.event_type, 'CaseOpened');
    assert.ok(body.events.some((event) => event.event_type === 'PersonAdded'));
    assert.ok(JSON.stringify(body.events).includes(NAME), 'the events carry the personal fields, opened');
    await eventually('the read is recorded', () => (reads.length === 1 ? true : undefined));
    assert.equal(reads[0]?.reader, 'compliance');
    assert.equal(reads[0]?.route, 'GET /api/v1/cases/:case_id/export');
    assert.deepEqual(
      reads[0]?.subjects.map((subject) => subject.type),
      ['CASE', ...body.persons.map(() => 'PERSON')],
    );
  });

  it('serves an admin too, and refuses readers, operators and reviewers', async () => {
    const caseId = await openCase();
    assert.equal((await exportOf(caseId, 'ops')).statusCode, 200);
    for (const caller of ['auditor', 'intake', 'reviewer-1']) {
      assertProblem(await exportOf(caseId, caller), 403, 'auth.forbidden');
    }
  });

  it('answers 404 for an unknown case', async () => {
    assertProblem(await exportOf('no-such-case', 'compliance'), 404, 'case.not_found');
  });

  it('answers 410 once the case is erased, and records no read', async () => {
    const caseId = await openCase();
    await harness.erasure.endRelationship(caseId, '2000-01-01T00:00:00.000Z', 'ops');
    await harness.erasure.requestErasure(caseId, 'dpo', 'api');
    assert.equal((await harness.erasure.executeIfDue(caseId)).status, 'completed');
    reads.length = 0;
    const response = await exportOf(caseId, 'compliance');
    assertProblem(response, 410, 'case.erased');
    assert.ok(!response.body.includes(NAME));
    assert.equal(reads.length, 0);
  });
});
