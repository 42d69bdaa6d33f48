import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { INPUT_LIMITS } from '../../../src/cases/limits.ts';
import { type InjectApp, injectApp } from '../../support/inject-app.ts';
import { copyOf, kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { assertProblem } from './problems.ts';

type Json = Record<string, unknown>;
type Receipt = { case_id: string; position: string; revision: string };

// The real case service, projector and routes over the in-memory stores, driven with inject.
describe('cases and parties over the composed service (inject)', () => {
  let harness: InjectApp;
  before(async () => {
    harness = await injectApp();
  });
  after(() => harness.close());

  const get = (url: string) => harness.app.inject({ method: 'GET', url });
  async function openCase(intake: unknown, key: string): Promise<Receipt> {
    const response = await harness.app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      payload: intake as Json,
      headers: { 'idempotency-key': key },
    });
    assert.equal(response.statusCode, 202, response.body);
    const receipt = response.json() as Receipt;
    assert.equal(response.headers.location, `/api/v1/cases/${receipt.case_id}`);
    return receipt;
  }
  /** An intake of its own client, so lists filtered by client see only this test's cases. */
  const kycOf = (clientId: string) => ({ ...copyOf(kycIntakeExample), client_id: clientId });

  it('opens a KYC case and serves it, its person and its documents at the position it returned', async () => {
    const opened = await openCase(kycOf('kyc-ryw'), 'kyc-ryw');
    const found = await get(`/api/v1/cases/${opened.case_id}?min_position=${opened.position}`);
    assert.equal(found.statusCode, 200);
    assert.equal(found.json().client_id, 'kyc-ryw');
    assert.equal(found.json().status, 'OPEN');
    assert.equal(found.json().documents_total, 2);
    const persons = await get(`/api/v1/persons/case/${opened.case_id}`);
    assert.deepEqual(
      persons.json().map((p: Json) => [p.firstname, p.lastname]),
      [['John', 'Doe']],
    );
    const documents = await get(`/api/v1/documents/case/${opened.case_id}`);
    assert.deepEqual(
      documents
        .json()
        .map((d: Json) => d.document_type)
        .sort(),
      ['PASSPORT', 'PROOF_OF_ADDRESS'],
    );
    assert.ok(documents.json().every((d: Json) => d.status === 'AWAITING_UPLOAD'));
  });

  it('opens a KYB case with its company, director, beneficial owner and filtered documents', async () => {
    const opened = await openCase(kybIntakeExample, 'kyb-parties');
    const found = await get(`/api/v1/cases/${opened.case_id}?min_position=${opened.position}`);
    const companyId = String(found.json().company_id);
    const company = await get(`/api/v1/companies/${companyId}`);
    assert.equal(company.statusCode, 200);
    assert.equal(company.json().registered_name, 'Test Corp Ltd');
    const owners = await get(`/api/v1/companies/${companyId}/beneficial-owners`);
    assert.equal(owners.headers['x-total-count'], '1');
    assert.equal(owners.json()[0].ownership_percentage, 75);
    const persons = await get(`/api/v1/persons/case/${opened.case_id}`);
    assert.deepEqual(
      persons.json().map((p: Json) => p.role_in_company),
      ['Director'],
    );
    const companyDocuments = await get(
      `/api/v1/documents/case/${opened.case_id}?entity_type=COMPANY&is_required=true`,
    );
    assert.deepEqual(
      companyDocuments
        .json()
        .map((d: Json) => d.document_type)
        .sort(),
      ['ARTICLES_OF_ASSOCIATION', 'COMPANY_REGISTRATION_CERTIFICATE'],
    );
  });

  it('gives one case, with one CaseOpened event, for the same intake sent twice under one key', async () => {
    const first = await openCase(kycOf('kyc-twice'), 'twice');
    const second = await openCase(kycOf('kyc-twice'), 'twice');
    assert.equal(second.case_id, first.case_id);
    assert.equal(second.revision, first.revision, 'nothing more was written to the case');
    const events = await get(`/api/v1/cases/${first.case_id}/events`);
    assert.equal(events.json().filter((e: Json) => e.event_type === 'CaseOpened').length, 1);
    const cases = await get(`/api/v1/cases?client_id=kyc-twice&min_position=${second.position}`);
    assert.deepEqual(
      cases.json().map((c: Json) => c.id),
      [first.case_id],
    );
  });

  it('refuses a different intake under a used Idempotency-Key with 409 intake.idempotency_key_reused', async () => {
    await openCase(kycOf('kyc-reused'), 'reused');
    const response = await harness.app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      payload: kycOf('someone-else'),
      headers: { 'idempotency-key': 'reused' },
    });
    assertProblem(response, 409, 'intake.idempotency_key_reused');
  });

  it('answers an invalid intake with 400 naming every violation, and audits it as rejected', async () => {
    const response = await harness.app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      payload: {
        client_id: '',
        version: '2.0',
        type: 'COMPANY_STANDARD',
        traitement_type: 'KYB',
        persons: [],
      },
      headers: { 'idempotency-key': 'invalid-intake' },
    });
    const problem = assertProblem(response, 400, 'request.invalid');
    const paths = (problem.violations ?? []).map((v) => v.path);
    for (const expected of ['body/client_id', 'body/version', 'body/company_profile']) {
      assert.ok(paths.includes(expected), `${expected} in ${paths.join(', ')}`);
    }
    // The refusal returns no position: wait for the read models to hold everything written.
    await harness.settled();
    const audit = await get('/api/v1/events/raw?limit=500');
    const entry = audit.json().find((e: Json) => e.idempotency_key === 'invalid-intake');
    assert.equal(entry?.outcome, 'rejected');
    assert.equal(entry?.error_code, 'intake.invalid');
  });

  it('answers a body one byte over the limit with 413 and audits the refusal without its text', async () => {
    const padding = 'x'.repeat(INPUT_LIMITS.maxBytes);
    const response = await harness.app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'too-large' },
      payload: JSON.stringify({ ...kycIntakeExample, padding }).slice(0, INPUT_LIMITS.maxBytes + 1),
    });
    assertProblem(response, 413, 'request.too_large');
    await harness.settled();
    const audit = await get('/api/v1/events/raw?limit=500');
    const entry = audit.json().find((e: Json) => e.idempotency_key === 'too-large');
    assert.equal(entry?.outcome, 'rejected');
    assert.equal(entry?.error_code, 'request.too_large');
    assert.equal(entry?.raw_text, null);
  });

  it('lists cases newest first, paged with X-Total-Count and Links that keep the filter', async () => {
    const opened: Receipt[] = [];
    for (const key of ['page-1', 'page-2', 'page-3']) opened.push(await openCase(kycOf('kyc-paged'), key));
    await harness.settled();
    const first = await get('/api/v1/cases?client_id=kyc-paged&limit=2');
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['x-total-count'], '3');
    assert.equal(first.headers.link, '</api/v1/cases?client_id=kyc-paged&limit=2&skip=2>; rel="next"');
    const next = await get('/api/v1/cases?client_id=kyc-paged&limit=2&skip=2');
    assert.equal(next.headers.link, '</api/v1/cases?client_id=kyc-paged&limit=2&skip=0>; rel="prev"');
    const listed = [...first.json(), ...next.json()] as Json[];
    assert.deepEqual(listed.map((c) => c.id).sort(), opened.map((o) => o.case_id).sort());
    const createdAt = listed.map((c) => String(c.created_at));
    assert.deepEqual(createdAt, [...createdAt].sort().reverse());
  });

  it('pages the events of a case by revision, following Link from the first to the last', async () => {
    const opened = await openCase(kycOf('kyc-events'), 'events-paged');
    const revisions: string[] = [];
    let url: string | undefined = `/api/v1/cases/${opened.case_id}/events?limit=2`;
    while (url !== undefined) {
      const page = await get(url);
      assert.equal(page.statusCode, 200);
      assert.equal(page.headers['x-total-count'], String(Number(opened.revision) + 1));
      revisions.push(...page.json().map((e: Json) => String(e.revision)));
      url = /<([^>]+)>; rel="next"/.exec(String(page.headers.link ?? ''))?.[1];
    }
    assert.deepEqual(
      revisions,
      Array.from({ length: Number(opened.revision) + 1 }, (_, i) => String(i)),
    );
    const past = await get(`/api/v1/cases/${opened.case_id}/events?from_revision=1000`);
    assert.deepEqual(past.json(), []);
    assert.match(String(past.headers.link), /rel="prev"/);
  });

  for (const url of [
    '/api/v1/cases/nope',
    '/api/v1/cases/nope/events',
    '/api/v1/persons/case/nope',
    '/api/v1/documents/case/nope',
  ]) {
    it(`answers 404 case.not_found on ${url}`, async () => {
      assertProblem(await get(url), 404, 'case.not_found');
    });
  }

  it('answers 404 for an unknown company and document', async () => {
    assertProblem(await get('/api/v1/companies/nope'), 404, 'company.not_found');
    assertProblem(await get('/api/v1/companies/nope/beneficial-owners'), 404, 'company.not_found');
    assertProblem(await get('/api/v1/documents/nope'), 404, 'document.not_found');
  });

  it('refuses invalid queries naming each parameter', async () => {
    const problem = assertProblem(
      await get('/api/v1/cases?limit=0&min_position=abc&colour=red'),
      400,
      'request.invalid',
    );
    assert.deepEqual(
      (problem.violations ?? []).map((v) => v.path),
      ['querystring/colour', 'querystring/limit', 'querystring/min_position'],
    );
  });
});
