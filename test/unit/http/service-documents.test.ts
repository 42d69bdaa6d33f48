import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type InjectApp, injectApp } from '../../support/inject-app.ts';
import { copyOf, kycIntakeExample } from '../../support/intake-examples.ts';
import { assertProblem } from './problems.ts';

type Json = Record<string, unknown>;

// Document requirements through the real case service, projector and routes, over memory.
describe('document requirements over the composed service (inject)', () => {
  let harness: InjectApp;
  before(async () => {
    harness = await injectApp();
  });
  after(() => harness.close());

  const get = (url: string) => harness.app.inject({ method: 'GET', url });
  const changeStatus = (id: string, payload: Json, headers: Record<string, string> = {}) =>
    harness.app.inject({ method: 'PUT', url: `/api/v1/documents/${id}/status`, payload, headers });

  /** Opens a KYC case of its own and returns it with its two documents' ids by type. */
  async function kycCase(key: string) {
    const opened = await harness.app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      payload: { ...copyOf(kycIntakeExample), client_id: `documents-${key}` },
      headers: { 'idempotency-key': key },
    });
    assert.equal(opened.statusCode, 202, opened.body);
    const { case_id: caseId, position } = opened.json() as { case_id: string; position: string };
    const documents = (
      await get(`/api/v1/documents/case/${caseId}?min_position=${position}`)
    ).json() as Json[];
    const idOf = (type: string) => String(documents.find((d) => d.document_type === type)?.id);
    return { caseId, passport: idOf('PASSPORT'), address: idOf('PROOF_OF_ADDRESS') };
  }

  it('refuses a move the transition table does not allow with 409 naming the allowed states', async () => {
    const { passport } = await kycCase('invalid-move');
    const problem = assertProblem(
      await changeStatus(passport, { new_status: 'VERIFIED_MANUAL' }),
      409,
      'document.invalid_transition',
    );
    assert.equal(problem.from, 'AWAITING_UPLOAD');
    assert.deepEqual([...(problem.allowed as string[])].sort(), ['NOT_APPLICABLE', 'UPLOADED']);
    const unchanged = await get(`/api/v1/documents/${passport}`);
    assert.equal(unchanged.json().status, 'AWAITING_UPLOAD');
    assert.equal(unchanged.headers.etag, '"1"');
  });

  it('moves a document, keeping its notes and metadata, and answers the new version as ETag', async () => {
    const { passport } = await kycCase('upload');
    const uploaded = await changeStatus(passport, {
      new_status: 'UPLOADED',
      notes_to_add: ['scan received'],
      metadata_changes: { file_reference: 'doc_xyz.pdf' },
    });
    assert.equal(uploaded.statusCode, 200, uploaded.body);
    assert.equal(uploaded.headers.etag, '"2"');
    const document = uploaded.json().document as Json;
    assert.equal(document.status, 'UPLOADED');
    assert.deepEqual(document.notes, ['scan received']);
    assert.deepEqual(document.metadata, { file_reference: 'doc_xyz.pdf' });
    const served = await get(`/api/v1/documents/${passport}`);
    assert.equal(
      served.headers.etag,
      `"${served.json().version}"`,
      'the ETag is the version of the body served',
    );
    assert.equal(served.headers.etag, '"2"');
  });

  it('writes nothing when the current status is set again', async () => {
    const { passport, caseId } = await kycCase('same-again');
    const first = await changeStatus(passport, { new_status: 'UPLOADED' });
    const again = await changeStatus(passport, { new_status: 'UPLOADED', notes_to_add: ['ignored'] });
    assert.equal(again.statusCode, 200);
    assert.equal(again.json().revision, first.json().revision);
    assert.deepEqual(again.json().document.notes, []);
    const events = await get(`/api/v1/cases/${caseId}/events`);
    assert.equal(events.json().filter((e: Json) => e.event_type === 'DocumentStatusChanged').length, 1);
  });

  it('answers 412 to a stale If-Match with the actual version, and applies a current one', async () => {
    const { passport, address } = await kycCase('if-match');
    await changeStatus(passport, { new_status: 'UPLOADED' });
    const etag = String((await get(`/api/v1/documents/${passport}`)).headers.etag);
    // A change to another document of the same case leaves this one's ETag valid.
    assert.equal((await changeStatus(address, { new_status: 'UPLOADED' })).statusCode, 200);
    const stale = assertProblem(
      await changeStatus(passport, { new_status: 'VERIFIED_MANUAL' }, { 'if-match': '"1"' }),
      412,
      'document.version_mismatch',
    );
    assert.equal(stale.expected_version, 1);
    assert.equal(stale.actual_version, 2);
    const verified = await changeStatus(passport, { new_status: 'VERIFIED_MANUAL' }, { 'if-match': etag });
    assert.equal(verified.statusCode, 200, verified.body);
    assert.equal(verified.headers.etag, '"3"');
    // Weak and unquoted forms name the same version.
    const weak = await changeStatus(passport, { new_status: 'VERIFIED_MANUAL' }, { 'if-match': 'W/"3"' });
    assert.equal(weak.statusCode, 200, weak.body);
  });

  it('refuses an If-Match that names no version with 400 naming the header', async () => {
    const { passport } = await kycCase('bad-if-match');
    const problem = assertProblem(
      await changeStatus(passport, { new_status: 'UPLOADED' }, { 'if-match': 'abc' }),
      400,
      'request.invalid',
    );
    assert.deepEqual(
      problem.violations?.map((v) => v.path),
      ['headers/if-match'],
    );
  });

  it('refuses an invalid status body naming every violation', async () => {
    const { passport } = await kycCase('bad-body');
    const problem = assertProblem(
      await changeStatus(passport, { new_status: 'DONE', extra: 1 }),
      400,
      'request.invalid',
    );
    assert.deepEqual(
      problem.violations?.map((v) => v.path),
      ['body/extra', 'body/new_status'],
    );
  });

  it('answers 404 document.not_found to a change of an unknown document', async () => {
    assertProblem(await changeStatus('nope', { new_status: 'UPLOADED' }), 404, 'document.not_found');
  });

  it('moves the case to review once every document is resolved, and requires a notification', async () => {
    const { caseId, passport, address } = await kycCase('resolved');
    await changeStatus(passport, { new_status: 'UPLOADED' });
    await changeStatus(passport, { new_status: 'VERIFIED_MANUAL' });
    await changeStatus(address, { new_status: 'UPLOADED' });
    const last = await changeStatus(address, { new_status: 'VERIFIED_SYSTEM' });
    assert.equal(last.statusCode, 200, last.body);
    const found = await get(`/api/v1/cases/${caseId}?min_position=${last.json().position}`);
    assert.equal(found.json().status, 'PENDING_REVIEW');
    assert.equal(found.json().document_counts.VERIFIED_MANUAL, 1);
    assert.equal(found.json().document_counts.VERIFIED_SYSTEM, 1);
    const history = await get(`/api/v1/cases/${caseId}/events?limit=1000`);
    assert.ok(
      history.json().some((e: Json) => e.event_type === 'NotificationRequired'),
      history
        .json()
        .map((e: Json) => e.event_type)
        .join(', '),
    );
    const verified = await get(`/api/v1/documents/case/${caseId}?status=VERIFIED_MANUAL`);
    assert.deepEqual(
      verified.json().map((d: Json) => d.id),
      [passport],
    );
  });

  it('determines requirements on demand idempotently, and answers 404 for an unknown entity', async () => {
    const { caseId } = await kycCase('determine');
    const persons = await get(`/api/v1/persons/case/${caseId}`);
    const request = { case_id: caseId, entity_id: String(persons.json()[0].id), entity_type: 'PERSON' };
    const determine = (payload: Json) =>
      harness.app.inject({ method: 'POST', url: '/api/v1/documents/determine-requirements', payload });
    const first = await determine(request);
    assert.equal(first.statusCode, 202, first.body);
    assert.equal(first.json().requirement_ids.length, 2);
    const second = await determine(request);
    assert.deepEqual(second.json().requirement_ids, first.json().requirement_ids);
    assert.equal(second.json().revision, first.json().revision, 'nothing more was written');
    assertProblem(await determine({ ...request, entity_id: 'ghost' }), 404, 'entity.not_found');
    assertProblem(await determine({ ...request, case_id: 'ghost' }), 404, 'case.not_found');
  });
});
