import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { type RunningService, startService } from '../../../src/app/service.ts';
import { copyOf, kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';

type Json = Record<string, unknown>;
type Operation = { responses: Record<string, { content?: Record<string, { schema: Json }> }> };
type OpenApi = {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json> };
};

const root = new URL('../../../', import.meta.url);
const admin = 'contract-admin-secret-0123456789';
/** A second admin: a legal hold is released by another person than the one who placed it. */
const secondAdmin = 'contract-admin2-secret-0123456789';
const reader = 'contract-reader-secret-0123456789';

/**
 * The service's real answers against its own OpenAPI document: each route is driven to each
 * status it declares where a test can reach it, and every answer's status must be declared for
 * that operation and its body must match the schema declared for that status and content type.
 */
describe('the OpenAPI document is the contract of every answer', () => {
  let dataDir: string;
  let service: RunningService;
  let document: OpenApi;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats.default(ajv);
  const seen = new Set<string>();

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kyc-contract-'));
    service = await startService(
      loadConfig({
        DATA_DIR: dataDir,
        PORT: '0',
        API_KEYS: `ops:admin:${admin},legal:admin:${secondAdmin},auditor:reader:${reader}`,
      }),
      pino({ level: 'silent' }),
    );
    document = (await (await fetch(`${service.url}/openapi.json`)).json()) as OpenApi;
    for (const [name, schema] of Object.entries(document.components.schemas)) {
      ajv.addSchema(schema, `#/components/schemas/${name}`);
    }
  });

  after(async () => {
    await service?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Calls the service and checks the answer against the operation `method path` of the document. */
  async function call(
    method: string,
    path: string,
    url: string,
    options: { body?: unknown; key?: string | null; headers?: Record<string, string> } = {},
  ) {
    const key = options.key === undefined ? admin : options.key;
    const response = await fetch(`${service.url}${url}`, {
      method,
      redirect: 'manual',
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(key === null ? {} : { authorization: `Bearer ${key}` }),
        ...options.headers,
      },
      ...(options.body === undefined
        ? {}
        : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
    });
    const text = await response.text();
    const operation = document.paths[path]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${path} is not in the document`);
    const declared = operation.responses[String(response.status)];
    assert.ok(
      declared,
      `${method} ${url} answered ${response.status}, which ${path} does not declare: ${text}`,
    );
    const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
    const schema = declared.content?.[mediaType]?.schema;
    assert.ok(schema, `${method} ${url} ${response.status}: content type ${mediaType} is not declared`);
    const body = JSON.parse(text) as unknown;
    const validate = ajv.compile(schema);
    assert.ok(
      validate(body),
      `${method} ${url} ${response.status} does not match its schema: ${ajv.errorsText(validate.errors)}\n${text.slice(0, 2_000)}`,
    );
    seen.add(`${method} ${path} ${response.status}`);
    return { status: response.status, headers: response.headers, body: body as Json & Json[] };
  }

  /** Reads until `ready` holds: the read models follow the log asynchronously. */
  async function eventually<T>(
    read: () => Promise<T>,
    ready: (value: T) => boolean,
    what: string,
  ): Promise<T> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      const value = await read();
      if (ready(value)) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  it('the KYC flow, from intake to PENDING_REVIEW, answers as declared', async () => {
    const opened = await call('POST', '/api/v1/cases', '/api/v1/cases', { body: copyOf(kycIntakeExample) });
    assert.equal(opened.status, 202);
    const caseId = opened.body.case_id as string;
    const at = `min_position=${opened.body.position}`;
    assert.equal((await call('GET', '/api/v1/cases', `/api/v1/cases?${at}`)).status, 200);
    assert.equal((await call('GET', '/api/v1/cases/{case_id}', `/api/v1/cases/${caseId}?${at}`)).status, 200);
    const persons = await call(
      'GET',
      '/api/v1/persons/case/{case_id}',
      `/api/v1/persons/case/${caseId}?${at}`,
    );
    assert.equal(persons.body.length, 1);
    const documents = await call(
      'GET',
      '/api/v1/documents/case/{case_id}',
      `/api/v1/documents/case/${caseId}?${at}`,
    );
    assert.ok(documents.body.length > 0);
    assert.equal(documents.headers.get('x-total-count'), String(documents.body.length));
    for (const doc of documents.body as unknown as Json[]) {
      const path = '/api/v1/documents/{id}/status';
      const url = `/api/v1/documents/${doc.id}/status`;
      assert.equal((await call('GET', '/api/v1/documents/{id}', `/api/v1/documents/${doc.id}`)).status, 200);
      const uploaded = await call('PUT', path, url, {
        body: { new_status: 'UPLOADED', metadata_changes: { file_reference: 'f.pdf' }, notes_to_add: ['in'] },
      });
      assert.equal(uploaded.status, 200);
      assert.equal((await call('PUT', path, url, { body: { new_status: 'VERIFIED_MANUAL' } })).status, 200);
      // VERIFIED_MANUAL is final.
      assert.equal((await call('PUT', path, url, { body: { new_status: 'REJECTED' } })).status, 409);
      assert.equal(
        (await call('PUT', path, url, { body: { new_status: 'UPLOADED' }, headers: { 'if-match': '"1"' } }))
          .status,
        412,
      );
    }
    const reviewed = await eventually(
      () => call('GET', '/api/v1/cases/{case_id}', `/api/v1/cases/${caseId}`),
      (answer) => answer.body.status === 'PENDING_REVIEW',
      'the case to reach PENDING_REVIEW',
    );
    assert.equal(reviewed.body.status, 'PENDING_REVIEW');
    const events = await call(
      'GET',
      '/api/v1/cases/{case_id}/events',
      `/api/v1/cases/${caseId}/events?limit=2`,
    );
    assert.equal(events.body.length, 2);
    assert.match(events.headers.get('link') ?? '', /[?&]from_revision=2[&>].*rel="next"/);
    const rest = await call(
      'GET',
      '/api/v1/cases/{case_id}/events',
      `/api/v1/cases/${caseId}/events?from_revision=2&limit=1000`,
    );
    assert.equal(Number(events.headers.get('x-total-count')), 2 + rest.body.length);
    assert.equal((await call('GET', '/api/v1/events/raw', '/api/v1/events/raw')).status, 200);
    // The persons read above is recorded a moment later, in the case's access stream.
    const timeline = await eventually(
      () => call('GET', '/api/v1/cases/{case_id}/timeline', `/api/v1/cases/${caseId}/timeline?limit=500`),
      (answer) => answer.body.some((entry) => entry.category === 'access'),
      'the read of the persons to show in the timeline',
    );
    const types = new Set(timeline.body.map((entry) => entry.event_type));
    for (const type of ['CaseOpened', 'DocumentStatusChanged', 'CaseStatusChanged', 'PersonalDataRead']) {
      assert.ok(types.has(type), `the timeline lacks ${type}`);
    }
  });

  it('the review flow, from PENDING_REVIEW to closed and reopened, answers as declared', async () => {
    const opened = await call('POST', '/api/v1/cases', '/api/v1/cases', { body: copyOf(kycIntakeExample) });
    const caseId = opened.body.case_id as string;
    const documents = await call(
      'GET',
      '/api/v1/documents/case/{case_id}',
      `/api/v1/documents/case/${caseId}?min_position=${opened.body.position}`,
    );
    for (const doc of documents.body as unknown as Json[]) {
      for (const status of ['UPLOADED', 'VERIFIED_MANUAL']) {
        await call('PUT', '/api/v1/documents/{id}/status', `/api/v1/documents/${doc.id}/status`, {
          body: { new_status: status },
        });
      }
    }
    assert.equal((await call('GET', '/api/v1/reason-codes', '/api/v1/reason-codes')).status, 200);
    const queue = await eventually(
      () => call('GET', '/api/v1/review-queue', '/api/v1/review-queue?limit=200'),
      (answer) => (answer.body as unknown as Json[]).some((item) => item.id === caseId),
      'the case to join the review queue',
    );
    assert.equal(queue.status, 200);
    const review = (name: string, body: unknown, key?: string) =>
      call('POST', `/api/v1/cases/{case_id}/${name}`, `/api/v1/cases/${caseId}/${name}`, {
        body,
        ...(key === undefined ? {} : { key }),
      });
    assert.equal((await review('assignment', { assignee: 'ops' }, reader)).status, 403);
    assert.equal(
      (
        await call('POST', '/api/v1/cases/{case_id}/assignment', '/api/v1/cases/nope/assignment', {
          body: { assignee: 'ops' },
        })
      ).status,
      404,
    );
    assert.equal((await review('assignment', { assignee: 'ops' })).status, 200);
    assert.equal(
      (await review('decisions', { decision: 'APPROVE', reason_codes: ['NO_SUCH_CODE'] })).status,
      400,
    );
    const approved = await review('decisions', { decision: 'APPROVE', reason_codes: ['DOCUMENTS_VERIFIED'] });
    assert.equal(approved.body.status, 'APPROVED');
    assert.equal(
      (await review('decisions', { decision: 'REJECT', reason_codes: ['IDENTITY_MISMATCH'] })).status,
      409,
    );
    assert.equal((await review('risk-override', { rating: 'HIGH', reason: 'late' })).status, 409);
    assert.equal((await review('close', { reason_code: 'DECISION_COMMUNICATED' })).status, 200);
    assert.equal((await review('reopen', { reason_code: 'PERIODIC_REVIEW' })).status, 200);
    assert.equal((await review('risk-override', { rating: 'HIGH', reason: 'Adverse media' })).status, 200);
    const found = await call(
      'GET',
      '/api/v1/cases/{case_id}',
      `/api/v1/cases/${caseId}?min_position=${approved.body.position}`,
    );
    assert.equal(found.status, 200);
  });

  it('the KYB flow (company, director, owner) answers as declared', async () => {
    const opened = await call('POST', '/api/v1/cases', '/api/v1/cases', {
      body: copyOf(kybIntakeExample),
      headers: { 'idempotency-key': 'contract-kyb-1' },
    });
    const at = `min_position=${opened.body.position}`;
    const kyb = await call('GET', '/api/v1/cases/{case_id}', `/api/v1/cases/${opened.body.case_id}?${at}`);
    const companyId = kyb.body.company_id as string;
    assert.equal(
      (await call('GET', '/api/v1/companies/{company_id}', `/api/v1/companies/${companyId}`)).status,
      200,
    );
    const owners = await call(
      'GET',
      '/api/v1/companies/{company_id}/beneficial-owners',
      `/api/v1/companies/${companyId}/beneficial-owners`,
    );
    assert.equal(owners.body.length, 1);
    const persons = await call(
      'GET',
      '/api/v1/persons/case/{case_id}',
      `/api/v1/persons/case/${opened.body.case_id}`,
    );
    const requirement = await call(
      'POST',
      '/api/v1/documents/determine-requirements',
      '/api/v1/documents/determine-requirements',
      {
        body: {
          case_id: opened.body.case_id,
          entity_id: (persons.body[0] as Json).id,
          entity_type: 'PERSON',
        },
      },
    );
    assert.equal(requirement.status, 202);
    const reused = await call('POST', '/api/v1/cases', '/api/v1/cases', {
      body: copyOf(kycIntakeExample),
      headers: { 'idempotency-key': 'contract-kyb-1' },
    });
    assert.equal(reused.status, 409);
  });

  it('errors answer as declared: unknown ids, invalid input, missing and low keys', async () => {
    const cases: [string, string, string, Parameters<typeof call>[3]?][] = [
      ['GET', '/api/v1/cases/{case_id}', '/api/v1/cases/nope'],
      ['GET', '/api/v1/cases/{case_id}/events', '/api/v1/cases/nope/events'],
      ['GET', '/api/v1/cases/{case_id}/timeline', '/api/v1/cases/nope/timeline'],
      ['GET', '/api/v1/cases/{case_id}/timeline', '/api/v1/cases/nope/timeline?category=gossip'],
      ['GET', '/api/v1/persons/case/{case_id}', '/api/v1/persons/case/nope'],
      ['GET', '/api/v1/documents/case/{case_id}', '/api/v1/documents/case/nope'],
      ['GET', '/api/v1/documents/{id}', '/api/v1/documents/nope'],
      ['GET', '/api/v1/companies/{company_id}', '/api/v1/companies/nope'],
      ['GET', '/api/v1/companies/{company_id}/beneficial-owners', '/api/v1/companies/nope/beneficial-owners'],
      [
        'PUT',
        '/api/v1/documents/{id}/status',
        '/api/v1/documents/nope/status',
        { body: { new_status: 'UPLOADED' } },
      ],
      ['GET', '/api/v1/cases', '/api/v1/cases?status=CLOSED'],
      ['GET', '/api/v1/cases', '/api/v1/cases?limit=0'],
      ['GET', '/api/v1/cases', '/api/v1/cases?min_position=99999-99999'],
      ['GET', '/api/v1/events/raw', '/api/v1/events/raw?unknown=1'],
      ['POST', '/api/v1/cases', '/api/v1/cases', { body: { client_id: '' } }],
      ['POST', '/api/v1/cases', '/api/v1/cases', { body: '{not json' }],
      ['POST', '/api/v1/cases', '/api/v1/cases', { body: 'x', headers: { 'content-type': 'text/plain' } }],
      ['POST', '/api/v1/cases', '/api/v1/cases', { body: copyOf(kycIntakeExample), key: null }],
      ['POST', '/api/v1/cases', '/api/v1/cases', { body: copyOf(kycIntakeExample), key: reader }],
      ['GET', '/api/v1/cases', '/api/v1/cases', { key: 'wrong-secret-0123456789' }],
      [
        'POST',
        '/api/v1/documents/determine-requirements',
        '/api/v1/documents/determine-requirements',
        { body: { case_id: 'nope', entity_id: 'x', entity_type: 'PERSON' } },
      ],
      ['GET', '/api/v1/admin/processors', '/api/v1/admin/processors'],
      ['GET', '/api/v1/admin/processors/{name}', '/api/v1/admin/processors/cases'],
      ['GET', '/api/v1/admin/processors/{name}', '/api/v1/admin/processors/nope'],
      ['POST', '/api/v1/admin/processors/{name}/retry', '/api/v1/admin/processors/cases/retry'],
      [
        'POST',
        '/api/v1/admin/processors/{name}/skip',
        '/api/v1/admin/processors/cases/skip',
        { body: { event_id: 'e-1', reason: 'not stopped there' } },
      ],
      ['POST', '/api/v1/admin/processors/{name}/rebuild', '/api/v1/admin/processors/nope/rebuild'],
      ['GET', '/api/v1/admin/projections', '/api/v1/admin/projections'],
      ['GET', '/api/v1/admin/projections', '/api/v1/admin/projections', { key: reader }],
      ['POST', '/api/v1/admin/projections/retry', '/api/v1/admin/projections/retry'],
      [
        'POST',
        '/api/v1/admin/projections/skip',
        '/api/v1/admin/projections/skip',
        { body: { event_id: 'e-1', reason: 'not stopped there' } },
      ],
      ['POST', '/api/v1/admin/projections/{name}/rebuild', '/api/v1/admin/projections/nope/rebuild'],
      ['GET', '/api/v1/admin/notifications/parked', '/api/v1/admin/notifications/parked'],
      ['GET', '/api/v1/admin/dlq', '/api/v1/admin/dlq'],
      ['POST', '/api/v1/admin/notifications/parked/replay', '/api/v1/admin/notifications/parked/replay'],
      ['GET', '/health', '/health', { key: null }],
      ['GET', '/health/ready', '/health/ready', { key: null }],
      ['GET', '/health/live', '/health/live', { key: null }],
    ];
    for (const [method, path, url, options] of cases) await call(method, path, url, options);
    for (const expected of [
      'GET /api/v1/cases/{case_id} 404',
      'GET /api/v1/persons/case/{case_id} 404',
      'GET /api/v1/documents/case/{case_id} 404',
      'GET /api/v1/cases/{case_id}/events 404',
      'GET /api/v1/cases 400',
      'POST /api/v1/cases 400',
      'POST /api/v1/cases 401',
      'POST /api/v1/cases 403',
      'POST /api/v1/cases 415',
      'PUT /api/v1/documents/{id}/status 404',
      'POST /api/v1/admin/projections/{name}/rebuild 409',
      'GET /api/v1/admin/processors/{name} 200',
      'GET /api/v1/admin/processors/{name} 404',
      'POST /api/v1/admin/processors/{name}/skip 409',
      'POST /api/v1/admin/processors/{name}/rebuild 404',
      'GET /api/v1/admin/dlq 409',
    ]) {
      assert.ok(seen.has(expected), `not reached: ${expected}`);
    }
  });

  it('retention and erasure answer as declared: request deferred, holds, relationship end', async () => {
    const opened = await call('POST', '/api/v1/cases', '/api/v1/cases', {
      body: copyOf(kycIntakeExample),
      headers: { 'idempotency-key': 'contract-erasure-1' },
    });
    const caseId = opened.body.case_id as string;
    await call(
      'GET',
      '/api/v1/cases/{case_id}',
      `/api/v1/cases/${caseId}?min_position=${opened.body.position}`,
    );
    const base = `/api/v1/cases/${caseId}`;
    assert.equal(
      (await call('GET', '/api/v1/cases/{case_id}/erasure', `${base}/erasure`)).body.status,
      'none',
    );
    const requested = await call(
      'POST',
      '/api/v1/cases/{case_id}/erasure-request',
      `${base}/erasure-request`,
    );
    assert.equal(requested.status, 202);
    assert.deepEqual([requested.body.status, requested.body.blocking], ['deferred', ['relationship_active']]);
    const holds = '/api/v1/cases/{case_id}/legal-holds';
    assert.equal(
      (await call('POST', holds, `${base}/legal-holds`, { body: { reason_code: 'litigation' }, key: reader }))
        .status,
      403,
    );
    const hold = await call('POST', holds, `${base}/legal-holds`, { body: { reason_code: 'litigation' } });
    assert.equal(hold.status, 201);
    const release = '/api/v1/cases/{case_id}/legal-holds/{hold_id}/release';
    const releaseUrl = `${base}/legal-holds/${String(hold.body.hold_id)}/release`;
    const settled = { body: { reason_code: 'settled' }, key: secondAdmin };
    const own = await call('POST', release, releaseUrl, { body: { reason_code: 'settled' } });
    assert.deepEqual(
      [own.status, own.body.code],
      [409, 'retention.own_hold'],
      'its placer cannot release it',
    );
    assert.equal((await call('POST', release, releaseUrl, settled)).status, 200);
    // A repeated release is answered as done; a hold never placed is not found.
    assert.equal((await call('POST', release, releaseUrl, settled)).status, 200);
    const unknown = `${base}/legal-holds/no-such-hold/release`;
    assert.equal((await call('POST', release, unknown, settled)).status, 404);
    const end = '/api/v1/cases/{case_id}/relationship-end';
    const ended = await call('POST', end, `${base}/relationship-end`, {
      body: { ended_at: '2026-01-01T00:00:00Z' },
    });
    assert.deepEqual(
      [ended.status, ended.body.blocking, ended.body.due_at],
      [200, ['aml_retention'], '2031-01-01T00:00:00.000Z'],
    );
    assert.equal(
      (await call('POST', end, `${base}/relationship-end`, { body: { ended_at: '2027-01-01T00:00:00Z' } }))
        .status,
      409,
    );
    const listed = await call('GET', '/api/v1/admin/erasures', '/api/v1/admin/erasures?status=deferred');
    assert.ok((listed.body.erasures as unknown as Json[]).some((e) => e.case_id === caseId));
    assert.equal(
      (await call('GET', '/api/v1/admin/erasures', '/api/v1/admin/erasures?status=x')).status,
      400,
    );
    const run = await call('POST', '/api/v1/admin/erasures/run', '/api/v1/admin/erasures/run');
    assert.deepEqual([run.status, run.body.completed], [200, []], 'deferred: nothing runs');
    assert.equal(
      (await call('POST', '/api/v1/admin/erasures/run', '/api/v1/admin/erasures/run', { key: reader }))
        .status,
      403,
    );
    const subjectRequest = '/api/v1/cases/{case_id}/subjects/{subject_id}/erasure-request';
    const nobody = await call('POST', subjectRequest, `${base}/subjects/nobody/erasure-request`, {
      body: { reason_code: 'recorded_in_error' },
    });
    assert.equal(nobody.status, 404);
    const subjectStatus = await call(
      'GET',
      '/api/v1/cases/{case_id}/subjects/{subject_id}/erasure',
      `${base}/subjects/nobody/erasure`,
    );
    assert.deepEqual([subjectStatus.status, subjectStatus.body.status], [200, 'none']);
    // One person's erasure waits for the retention date, and is listed with its subject_id.
    const persons = await call('GET', '/api/v1/persons/case/{case_id}', `/api/v1/persons/case/${caseId}`);
    const personId = String(persons.body[0]?.id);
    const personRequest = await call('POST', subjectRequest, `${base}/subjects/${personId}/erasure-request`, {
      body: { reason_code: 'removed_from_case' },
    });
    assert.deepEqual([personRequest.status, personRequest.body.blocking], [202, ['aml_retention']]);
    const withSubjects = await call(
      'GET',
      '/api/v1/admin/erasures',
      '/api/v1/admin/erasures?status=deferred&limit=1000',
    );
    assert.deepEqual(
      (withSubjects.body.erasures as unknown as Json[])
        .filter((e) => e.case_id === caseId)
        .map((e) => e.subject_id),
      [null, personId],
    );
    const ledger = await call(
      'POST',
      '/api/v1/admin/erasures/ledger/replay',
      '/api/v1/admin/erasures/ledger/replay',
    );
    assert.deepEqual([ledger.status, ledger.body.destroyed_again], [200, []]);
    const extensions = '/api/v1/cases/{case_id}/retention-extensions';
    const extended = await call('POST', extensions, `${base}/retention-extensions`, {
      body: { retain_until: '2033-01-01T00:00:00Z', reason_code: 'regulator_request' },
    });
    assert.deepEqual([extended.status, extended.body.retain_until], [200, '2033-01-01T00:00:00.000Z']);
    const early = await call('POST', extensions, `${base}/retention-extensions`, {
      body: { retain_until: '2030-01-01T00:00:00Z', reason_code: 'regulator_request' },
    });
    assert.equal(early.status, 422);
    assert.equal(
      (await call('GET', '/api/v1/cases/{case_id}/erasure', '/api/v1/cases/no-such-case/erasure')).status,
      404,
    );
    // The export for authorities: decrypted from the encrypted event store, approvers and admins only.
    const exportPath = '/api/v1/cases/{case_id}/export';
    const exported = await call('GET', exportPath, `${base}/export`);
    assert.equal(exported.status, 200);
    const firstname = String(
      (kycIntakeExample as { persons: { firstname: string }[] }).persons[0]?.firstname,
    );
    const events = exported.body.events as unknown as { event_type: string; payload: Json }[];
    assert.equal(events.find((event) => event.event_type === 'PersonAdded')?.payload.firstname, firstname);
    assert.equal((await call('GET', exportPath, `${base}/export`, { key: reader })).status, 403);
    assert.equal((await call('GET', exportPath, '/api/v1/cases/no-such-case/export')).status, 404);
  });

  it('GET / redirects to /docs', async () => {
    const response = await fetch(`${service.url}/`, { redirect: 'manual' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/docs');
  });

  it('every operation of the document was answered at least once with a declared status', () => {
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const reached = new Set([...seen].map((entry) => entry.split(' ').slice(0, 2).join(' ')));
    assert.deepEqual(
      operations.filter((operation) => !reached.has(operation)),
      [],
    );
  });
});

describe('the OpenAPI linter', () => {
  it('finds no error in the document', { timeout: 180_000 }, async () => {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve, reject) => {
      const child = spawn('bash', ['scripts/lint-openapi.sh'], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const chunks: string[] = [];
      child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
      child.once('error', reject);
      child.once('exit', (exitCode) => resolve({ code: exitCode, output: chunks.join('') }));
    });
    assert.equal(code, 0, output.slice(-10_000));
    assert.match(output, /Your API description is valid/);
  });
});
