import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canTransition, type DocumentStatus } from '../../../src/cases/documents.ts';
import { apiServer, fixtures } from './api-server.ts';
import { assertProblem } from './problems.ts';

type Json = Record<string, unknown>;
type OpenApi = { paths: Record<string, Record<string, Json>>; components: { schemas: Record<string, Json> } };

const openapi = async (app: Awaited<ReturnType<typeof apiServer>>['app']) =>
  (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as OpenApi;

describe('paging headers', () => {
  it('a list answers its array with X-Total-Count and a Link to the next page that keeps the filters', async () => {
    const cases = Array.from({ length: 3 }, (_, i) => ({ ...fixtures.case, id: `case-${i}` }));
    const { app } = await apiServer({
      queries: {
        listCases: async (_filter, page) => ({
          items: cases.slice(page.skip, page.skip + page.limit),
          total: 3,
        }),
      },
    });
    const first = await app.inject({ method: 'GET', url: '/api/v1/cases?status=OPEN&limit=2' });
    assert.equal(first.statusCode, 200);
    assert.deepEqual(
      first.json().map((c: Json) => c.id),
      ['case-0', 'case-1'],
    );
    assert.equal(first.headers['x-total-count'], '3');
    assert.equal(first.headers.link, '</api/v1/cases?status=OPEN&limit=2&skip=2>; rel="next"');
    const last = await app.inject({ method: 'GET', url: '/api/v1/cases?status=OPEN&limit=2&skip=2' });
    assert.equal(last.headers.link, '</api/v1/cases?status=OPEN&limit=2&skip=0>; rel="prev"');
  });

  it('a list that fits in one page has X-Total-Count and no Link', async () => {
    const { app } = await apiServer();
    const response = await app.inject({ method: 'GET', url: '/api/v1/events/raw' });
    assert.equal(response.headers['x-total-count'], '1');
    assert.equal(response.headers.link, undefined);
  });

  it('the events of a case are paged by revision, reading from from_revision on', async () => {
    const events = Array.from({ length: 5 }, (_, i) => ({ ...fixtures.event, revision: String(i) }));
    const asked: { fromRevision: number; limit: number }[] = [];
    const { app } = await apiServer({
      commands: {
        caseEvents: async (_caseId, range) => {
          asked.push(range);
          return { items: events.slice(range.fromRevision, range.fromRevision + range.limit), total: 5 };
        },
      },
    });
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/cases/case-1/events?from_revision=1&limit=2',
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(
      response.json().map((e: Json) => e.revision),
      ['1', '2'],
    );
    assert.deepEqual(asked, [{ fromRevision: 1, limit: 2 }]);
    assert.equal(response.headers['x-total-count'], '5');
    assert.match(
      response.headers.link as string,
      /<\/api\/v1\/cases\/case-1\/events\?from_revision=3&limit=2>; rel="next"/,
    );
  });

  it('every list route declares X-Total-Count and Link on its 200', async () => {
    const { app } = await apiServer();
    const { paths } = await openapi(app);
    for (const path of [
      '/api/v1/cases',
      '/api/v1/cases/{case_id}/events',
      '/api/v1/persons/case/{case_id}',
      '/api/v1/documents/case/{case_id}',
      '/api/v1/companies/{company_id}/beneficial-owners',
      '/api/v1/events/raw',
    ]) {
      const ok = (paths[path]!.get!.responses as Record<string, Json>)['200'] as { headers?: Json };
      assert.deepEqual(Object.keys(ok.headers ?? {}), ['X-Total-Count', 'Link'], path);
    }
  });
});

describe('errors that guide', () => {
  it('a value outside an enumeration is refused naming the allowed values', async () => {
    const { app } = await apiServer();
    const problem = assertProblem(
      await app.inject({ method: 'GET', url: '/api/v1/cases?status=DONE' }),
      400,
      'request.invalid',
    );
    assert.deepEqual(problem.violations, [
      {
        path: 'querystring/status',
        message:
          'must be one of: OPEN, PENDING_REVIEW, IN_REVIEW, MORE_INFORMATION_REQUESTED, APPROVED, REJECTED, CLOSED',
      },
    ]);
    const status = assertProblem(
      await app.inject({
        method: 'PUT',
        url: '/api/v1/documents/doc-1/status',
        payload: { new_status: 'DONE' },
      }),
      400,
      'request.invalid',
    );
    assert.match(status.violations?.[0]?.message ?? '', /^must be one of: AWAITING_UPLOAD, UPLOADED, /);
  });

  it('an unknown query parameter is refused by name instead of being ignored', async () => {
    const { app, recorded } = await apiServer();
    const problem = assertProblem(
      await app.inject({ method: 'GET', url: '/api/v1/cases?stauts=OPEN' }),
      400,
      'request.invalid',
    );
    assert.deepEqual(problem.violations, [
      { path: 'querystring/stauts', message: 'is not a parameter of this route' },
    ]);
    assert.equal(recorded.pages.length, 0);
  });

  it('an invalid filter value is refused naming the filter', async () => {
    const { app } = await apiServer();
    const problem = assertProblem(
      await app.inject({ method: 'GET', url: '/api/v1/documents/case/case-1?entity_type=ROBOT' }),
      400,
      'request.invalid',
    );
    assert.equal(problem.violations?.[0]?.path, 'querystring/entity_type');
    assert.equal(problem.violations?.[0]?.message, 'must be one of: PERSON, COMPANY, BENEFICIAL_OWNER');
  });

  for (const url of [
    '/api/v1/persons/case/no-such-case',
    '/api/v1/documents/case/no-such-case',
    '/api/v1/cases/no-such-case/events',
    '/api/v1/cases/no-such-case',
  ]) {
    it(`an unknown case is 404 case.not_found on ${url.replace('no-such-case', '{case_id}')}`, async () => {
      const { app } = await apiServer();
      assertProblem(await app.inject({ method: 'GET', url }), 404, 'case.not_found');
    });
  }
});

describe('the OpenAPI document', () => {
  it('GET / redirects to the documentation and is not itself documented', async () => {
    const { app } = await apiServer({
      keys: [{ name: 'ops', role: 'admin', secret: 'admin-secret-0123456789' }],
    });
    const response = await app.inject({ method: 'GET', url: '/' });
    assert.equal(response.statusCode, 302);
    assert.equal(response.headers.location, '/docs');
    assert.equal((await openapi(app)).paths['/'], undefined);
  });

  it('declares every field of each read-model document, so the serialiser drops none', async () => {
    const { app } = await apiServer();
    const { schemas } = (await openapi(app)).components;
    const declared = (name: string) => Object.keys((schemas[name]?.properties ?? {}) as Json).sort();
    assert.deepEqual(declared('CaseDocument'), Object.keys(fixtures.case).sort());
    assert.deepEqual(declared('PersonDocument'), Object.keys(fixtures.person).sort());
    assert.deepEqual(declared('CompanyDocument'), Object.keys(fixtures.company).sort());
    assert.deepEqual(declared('BeneficialOwnerDocument'), Object.keys(fixtures.owner).sort());
    assert.deepEqual(declared('DocumentRequirementDocument'), Object.keys(fixtures.document).sort());
    assert.deepEqual(declared('RawIntakeDocument'), Object.keys(fixtures.rawIntake).sort());
    assert.deepEqual(declared('CaseEvent'), Object.keys(fixtures.event).sort());
  });

  it('serves each document whole, every field as the read model holds it', async () => {
    const { app } = await apiServer();
    const get = async (url: string) => (await app.inject({ method: 'GET', url })).json();
    assert.deepEqual(await get('/api/v1/cases/case-1'), fixtures.case);
    assert.deepEqual(await get('/api/v1/documents/doc-1'), fixtures.document);
    assert.deepEqual(await get('/api/v1/companies/company-1'), fixtures.company);
    assert.deepEqual(await get('/api/v1/companies/company-1/beneficial-owners'), [fixtures.owner]);
    assert.deepEqual(await get('/api/v1/persons/case/case-1'), [fixtures.person]);
    assert.deepEqual(await get('/api/v1/events/raw'), [fixtures.rawIntake]);
    assert.deepEqual(await get('/api/v1/cases/case-1/events'), [fixtures.event]);
  });

  it('names a request example for the KYC and KYB intake and for each document transition', async () => {
    const { app } = await apiServer();
    const { paths } = await openapi(app);
    const examples = (path: string, method: string) =>
      Object.keys(
        ((paths[path]![method]!.requestBody as Json).content as Record<string, Json>)['application/json']
          ?.examples as Json,
      );
    assert.deepEqual(examples('/api/v1/cases', 'post'), ['kyc', 'kyb']);
    assert.deepEqual(examples('/api/v1/documents/{id}/status', 'put'), [
      'upload',
      'verify_manual',
      'verify_system',
      'reject',
      'waive',
      'reopen',
    ]);
  });

  it('each status-change example is a move the transition table allows, from every status its summary names', async () => {
    const { app } = await apiServer();
    const { paths } = await openapi(app);
    const examples = (
      (paths['/api/v1/documents/{id}/status']!.put!.requestBody as Json).content as Record<string, Json>
    )['application/json']?.examples as Record<
      string,
      { summary: string; value: { new_status: DocumentStatus } }
    >;
    for (const [name, { summary, value }] of Object.entries(examples)) {
      const [before = '', after = ''] = summary.split('→');
      const from = before.match(/[A-Z_]{4,}/g) ?? [];
      assert.ok(from.length > 0 && after.includes(value.new_status), name);
      for (const status of from)
        assert.ok(canTransition(status as DocumentStatus, value.new_status), `${name}: ${status}`);
    }
  });

  it('marks no query parameter required and shows the paging defaults', async () => {
    const { app } = await apiServer();
    const { paths } = await openapi(app);
    for (const [path, methods] of Object.entries(paths)) {
      for (const operation of Object.values(methods)) {
        for (const parameter of (operation.parameters ?? []) as Json[]) {
          if (parameter.in === 'query')
            assert.notEqual(parameter.required, true, `${path} ${parameter.name}`);
        }
      }
    }
    const events = (paths['/api/v1/cases/{case_id}/events']?.get?.parameters ?? []) as Json[];
    assert.deepEqual(
      events.filter((p) => p.in === 'query').map((p) => [p.name, (p.schema as Json).default]),
      [
        ['from_revision', 0],
        ['limit', 100],
      ],
    );
  });
});
