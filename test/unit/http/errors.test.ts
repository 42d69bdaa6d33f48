import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiKey } from '../../../src/app/config.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import { apiServer } from './api-server.ts';
import { assertDeclared, assertProblem } from './problems.ts';

const keys: ApiKey[] = [
  { name: 'ops', role: 'admin', secret: 'admin-secret-0123456789' },
  { name: 'auditor', role: 'reader', secret: 'reader-secret-0123456789' },
];

const unavailable = (details: Record<string, unknown> = {}) =>
  new DomainError('eventstore.unavailable', 'The event store cannot be reached; retry later', details);

describe('problem answers of the HTTP API', () => {
  it('answers eventstore.unavailable with 503 and the Retry-After the error carries', async () => {
    const { app } = await apiServer({
      commands: {
        caseEvents: async () => {
          throw unavailable({ retry_after_seconds: 7 });
        },
      },
    });
    const response = await app.inject({ method: 'GET', url: '/api/v1/cases/case-1/events' });
    const problem = assertProblem(response, 503, 'eventstore.unavailable');
    assert.equal(response.headers['retry-after'], '7');
    assert.equal(problem.retry_after_seconds, 7);
    await assertDeclared(app, 'GET', '/api/v1/cases/{case_id}/events', 503, 'eventstore.unavailable');
  });

  it('answers eventstore.unavailable without a usable retry time with Retry-After 5', async () => {
    for (const details of [
      {},
      { retry_after_seconds: 'soon' },
      { retry_after_seconds: -1 },
      { retry_after_seconds: 0.5 },
    ]) {
      const { app } = await apiServer({
        commands: {
          openCase: async () => {
            throw unavailable(details);
          },
        },
      });
      const response = await app.inject({ method: 'POST', url: '/api/v1/cases', payload: { any: 'thing' } });
      assertProblem(response, 503, 'eventstore.unavailable');
      assert.equal(response.headers['retry-after'], '5', JSON.stringify(details));
    }
  });

  it('answers eventstore.unavailable on every route that reads or writes the log with 503, each declared', async () => {
    const throwing = async () => {
      throw unavailable();
    };
    const { app } = await apiServer({
      commands: {
        openCase: throwing,
        determineRequirements: throwing,
        changeDocumentStatus: throwing,
        caseEvents: throwing,
      },
      queries: { waitForPosition: throwing },
    });
    const calls = [
      { method: 'POST', url: '/api/v1/cases', path: '/api/v1/cases', payload: {} },
      {
        method: 'POST',
        url: '/api/v1/documents/determine-requirements',
        path: '/api/v1/documents/determine-requirements',
        payload: { case_id: 'c', entity_id: 'e', entity_type: 'PERSON' },
      },
      {
        method: 'PUT',
        url: '/api/v1/documents/doc-1/status',
        path: '/api/v1/documents/{id}/status',
        payload: { new_status: 'UPLOADED' },
      },
      { method: 'GET', url: '/api/v1/cases/case-1/events', path: '/api/v1/cases/{case_id}/events' },
      { method: 'GET', url: '/api/v1/documents/doc-1?min_position=1-1', path: '/api/v1/documents/{id}' },
    ] as const;
    for (const call of calls) {
      const response = await app.inject({
        method: call.method,
        url: call.url,
        ...('payload' in call ? { payload: call.payload } : {}),
      });
      assertProblem(response, 503, 'eventstore.unavailable');
      await assertDeclared(app, call.method, call.path, 503, 'eventstore.unavailable');
    }
  });

  it('answers read.position_beyond_head with 400 naming querystring/min_position', async () => {
    const { app } = await apiServer({
      queries: {
        waitForPosition: async () => {
          throw new DomainError(
            'read.position_beyond_head',
            'min_position is past the end of the event log',
            {
              head: '10-10',
            },
          );
        },
      },
    });
    for (const [url, path] of [
      ['/api/v1/cases?min_position=99-99', '/api/v1/cases'],
      ['/api/v1/cases/case-1?min_position=99-99', '/api/v1/cases/{case_id}'],
      ['/api/v1/events/raw?min_position=99-99', '/api/v1/events/raw'],
      ['/api/v1/companies/company-1?min_position=99-99', '/api/v1/companies/{company_id}'],
    ] as const) {
      const problem = assertProblem(
        await app.inject({ method: 'GET', url }),
        400,
        'read.position_beyond_head',
      );
      assert.deepEqual(
        problem.violations?.map((v) => v.path),
        ['querystring/min_position'],
      );
      assert.equal(problem.head, '10-10');
      await assertDeclared(app, 'GET', path, 400, 'read.position_beyond_head');
    }
  });

  it('answers read models that stay behind with 503 read_model.behind and Retry-After', async () => {
    const { app } = await apiServer({ queries: { waitForPosition: async () => false } });
    const response = await app.inject({ method: 'GET', url: '/api/v1/cases/case-1?min_position=5-5' });
    assertProblem(response, 503, 'read_model.behind');
    assert.equal(response.headers['retry-after'], '1');
    await assertDeclared(app, 'GET', '/api/v1/cases/{case_id}', 503, 'read_model.behind');
  });

  it('refuses a min_position part past 64 bits and accepts the largest one', async () => {
    const { app } = await apiServer();
    const max = '18446744073709551615';
    assert.equal(
      (await app.inject({ method: 'GET', url: `/api/v1/cases?min_position=${max}-${max}` })).statusCode,
      200,
    );
    const past = await app.inject({
      method: 'GET',
      url: `/api/v1/cases?min_position=18446744073709551616-0`,
    });
    assert.deepEqual(
      assertProblem(past, 400, 'request.invalid').violations?.map((v) => v.path),
      ['querystring/min_position'],
    );
  });

  it('serialises domain details it cannot put in JSON as they are (bigints as strings)', async () => {
    const { app } = await apiServer({
      commands: {
        caseEvents: async () => {
          throw new DomainError('revision.mismatch', 'changed', {
            actual_revision: 12n,
            status: 999,
            code: 'spoofed',
          });
        },
      },
    });
    const problem = assertProblem(
      await app.inject({ method: 'GET', url: '/api/v1/cases/case-1/events' }),
      412,
      'revision.mismatch',
    );
    assert.equal(problem.actual_revision, '12');
  });
});

describe('query integers', () => {
  const refused = [
    'Infinity',
    '-Infinity',
    '1e309',
    '1e2',
    '0x10',
    '%205',
    '5.0',
    '',
    'NaN',
    '99999999999999999999',
  ];

  for (const value of refused) {
    it(`refuses limit=${value} before it can reach a query`, async () => {
      const { app, recorded } = await apiServer();
      const response = await app.inject({ method: 'GET', url: `/api/v1/cases?limit=${value}` });
      assert.deepEqual(
        assertProblem(response, 400, 'request.invalid').violations?.map((v) => v.path),
        ['querystring/limit'],
      );
      assert.equal(recorded.pages.length, 0);
    });
  }

  it('refuses skip=-Infinity and skip=-1, and accepts skip at its maximum', async () => {
    const { app, recorded } = await apiServer();
    for (const value of ['-Infinity', '-1', '1000001']) {
      assertProblem(
        await app.inject({ method: 'GET', url: `/api/v1/events/raw?skip=${value}` }),
        400,
        'request.invalid',
      );
    }
    assert.equal(
      (await app.inject({ method: 'GET', url: '/api/v1/events/raw?skip=1000000' })).statusCode,
      200,
    );
    assert.deepEqual(recorded.pages, [{ limit: 10, skip: 1_000_000 }]);
  });

  it('accepts limit at 1 and 500, refuses 0 and 501, and defaults to 10', async () => {
    const { app, recorded } = await apiServer();
    for (const value of ['1', '500', '0500']) {
      assert.equal(
        (await app.inject({ method: 'GET', url: `/api/v1/cases?limit=${value}` })).statusCode,
        200,
        value,
      );
    }
    for (const value of ['0', '501', '-5']) {
      assertProblem(
        await app.inject({ method: 'GET', url: `/api/v1/cases?limit=${value}` }),
        400,
        'request.invalid',
      );
    }
    assert.equal((await app.inject({ method: 'GET', url: '/api/v1/persons/case/case-1' })).statusCode, 200);
    assert.deepEqual(
      recorded.pages.map((page) => page.limit),
      [1, 500, 500, 10],
    );
  });

  it('holds the admin limits to decimal integers too', async () => {
    const { app } = await apiServer();
    for (const url of [
      '/api/v1/admin/dlq?limit=Infinity',
      '/api/v1/admin/notifications/parked?limit=1e309',
      '/api/v1/admin/notifications/parked/replay?stop_at=Infinity',
    ]) {
      const method = url.includes('replay') ? 'POST' : 'GET';
      assertProblem(await app.inject({ method, url }), 400, 'request.invalid');
    }
  });
});

describe('idempotency keys', () => {
  const bad = {
    'with a space': 'a b',
    'non-ASCII': 'clé',
    'over 200 characters': 'k'.repeat(201),
    '5,000 characters': 'k'.repeat(5_000),
  };
  for (const [name, key] of Object.entries(bad)) {
    it(`refuses an Idempotency-Key ${name} with 400 naming the header`, async () => {
      const { app, recorded } = await apiServer();
      const response = await app.inject({
        method: 'POST',
        url: '/api/v1/cases',
        headers: { 'idempotency-key': key },
        payload: { any: 'thing' },
      });
      const problem = assertProblem(response, 400, 'request.invalid');
      assert.deepEqual(
        problem.violations?.map((v) => v.path),
        ['headers/idempotency-key'],
      );
      assert.equal(recorded.opened.length, 0);
    });
  }

  it('accepts a key of exactly 200 printable characters and passes it to the command', async () => {
    const { app, recorded } = await apiServer();
    const key = `${'k'.repeat(199)}~`;
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      headers: { 'idempotency-key': key },
      payload: {
        client_id: 'c-1',
        version: '1.0',
        type: 'INDIVIDUAL_STANDARD',
        traitement_type: 'KYC',
        persons: [{ firstname: 'A', lastname: 'B' }],
      },
    });
    assert.equal(response.statusCode, 202, response.body);
    assert.equal(recorded.opened[0]?.context.idempotencyKey, key);
  });
});

describe('fastify refusals as problems', () => {
  it('answers a path that is not valid percent-encoding with 400 request.bad_url', async () => {
    const { app } = await apiServer();
    for (const url of ['/api/v1/cases/%FF%FE', '/api/v1/cases/%E0%A4%A']) {
      const problem = assertProblem(await app.inject({ method: 'GET', url }), 400, 'request.bad_url');
      assert.deepEqual(
        problem.violations?.map((v) => v.path),
        ['url'],
      );
    }
  });

  it('lets an id of 128 characters reach the route and refuses 129 with 400 naming the params', async () => {
    const { app } = await apiServer();
    assertProblem(
      await app.inject({ method: 'GET', url: `/api/v1/cases/${'a'.repeat(128)}` }),
      404,
      'case.not_found',
    );
    const past = assertProblem(
      await app.inject({ method: 'GET', url: `/api/v1/cases/${'a'.repeat(129)}` }),
      400,
      'request.invalid',
    );
    assert.deepEqual(
      past.violations?.map((v) => v.path),
      ['params'],
    );
    await assertDeclared(app, 'GET', '/api/v1/cases/{case_id}', 400, 'request.invalid');
  });

  it('answers a method the path does not have with 405 and an Allow header listing those it has', async () => {
    const { app } = await apiServer();
    const cases = [
      ['DELETE', '/api/v1/cases', 'GET, HEAD, POST'],
      ['PATCH', '/api/v1/cases/case-1', 'GET, HEAD'],
      ['OPTIONS', '/api/v1/documents/doc-1/status', 'PUT'],
      ['GET', '/api/v1/documents/doc-1/status', 'PUT'],
      ['POST', '/health/live', 'GET, HEAD'],
    ] as const;
    for (const [method, url, allowed] of cases) {
      const response = await app.inject({ method, url });
      assertProblem(response, 405, 'method.not_allowed');
      assert.equal(response.headers.allow, allowed, `${method} ${url}`);
    }
  });

  it('answers 405, not 400, to a QUERY without a content type or with a malformed body', async () => {
    const { app } = await apiServer();
    const bare = await app.inject({ method: 'QUERY' as 'GET', url: '/api/v1/cases' });
    assertProblem(bare, 405, 'method.not_allowed');
    const malformed = await app.inject({
      method: 'QUERY' as 'GET',
      url: '/api/v1/cases',
      headers: { 'content-type': 'application/json' },
      payload: '{',
    });
    assertProblem(malformed, 405, 'method.not_allowed');
  });

  it('answers an unknown path with 404 route.not_found, even with a malformed body', async () => {
    const { app } = await apiServer();
    assertProblem(await app.inject({ method: 'GET', url: '/api/v1/nowhere' }), 404, 'route.not_found');
    const withBody = await app.inject({
      method: 'POST',
      url: '/api/v1/nowhere',
      headers: { 'content-type': 'application/xml' },
      payload: '<x/>',
    });
    assertProblem(withBody, 404, 'route.not_found');
  });
});

describe('authentication answers', () => {
  it('sends WWW-Authenticate with every 401', async () => {
    const { app } = await apiServer({ keys });
    for (const headers of [
      {},
      { authorization: 'Bearer wrong' },
      { 'x-api-key': '' },
      { authorization: 'Bearer ' },
    ]) {
      const response = await app.inject({ method: 'GET', url: '/api/v1/cases', headers });
      assertProblem(response, 401, 'auth.unauthenticated');
      assert.equal(response.headers['www-authenticate'], 'Bearer realm="kyc-case-service"');
    }
    await assertDeclared(app, 'GET', '/api/v1/cases', 401, 'auth.unauthenticated');
  });

  it('takes the Bearer scheme in any case (RFC 7235)', async () => {
    const { app } = await apiServer({ keys });
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      const response = await app.inject({
        method: 'GET',
        url: '/api/v1/cases',
        headers: { authorization: `${scheme}  reader-secret-0123456789` },
      });
      assert.equal(response.statusCode, 200, scheme);
    }
    const basic = await app.inject({
      method: 'GET',
      url: '/api/v1/cases',
      headers: { authorization: 'Basic reader-secret-0123456789' },
    });
    assertProblem(basic, 401, 'auth.unauthenticated');
  });

  it('answers a reader on an admin route with 403, declared there', async () => {
    const { app } = await apiServer({ keys });
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/admin/projections',
      headers: { authorization: 'Bearer reader-secret-0123456789' },
    });
    assertProblem(response, 403, 'auth.forbidden');
    await assertDeclared(app, 'GET', '/api/v1/admin/projections', 403, 'auth.forbidden');
  });
});

describe('the OpenAPI error declarations', () => {
  it('declares 401, 403, 431 and 500 as problem+json on every keyed operation, and 400 wherever there is input', async () => {
    const { app } = await apiServer();
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: unknown[];
            requestBody?: unknown;
            responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }>;
          }
        >
      >;
      components: { schemas: Record<string, unknown> };
    };
    assert.ok(document.components.schemas.Problem, 'Problem is a shared component');
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(operation.responses);
        assert.ok(statuses.includes('500') && statuses.includes('431'), `${where} declares 431 and 500`);
        if (!path.startsWith('/health')) {
          assert.ok(statuses.includes('401') && statuses.includes('403'), `${where} declares 401 and 403`);
        }
        if ((operation.parameters?.length ?? 0) > 0 || operation.requestBody !== undefined) {
          assert.ok(statuses.includes('400'), `${where} declares 400`);
        }
        if (operation.requestBody !== undefined || method === 'post' || method === 'put') {
          assert.ok(statuses.includes('413') && statuses.includes('415'), `${where} declares 413 and 415`);
        }
        for (const status of statuses.filter((s) => Number(s) >= 400)) {
          const content = operation.responses[status]?.content ?? {};
          if (path.startsWith('/health') && status === '503') continue;
          assert.equal(
            content['application/problem+json']?.schema.$ref,
            '#/components/schemas/Problem',
            `${where} ${status}`,
          );
        }
      }
    }
  });

  it('does not call parameters with defaults required', async () => {
    const { app } = await apiServer();
    const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
      paths: Record<string, Record<string, { parameters?: { name: string; required: boolean }[] }>>;
    };
    const limit = document.paths['/api/v1/cases']?.get?.parameters?.find((p) => p.name === 'limit');
    assert.equal(limit?.required, false);
  });
});

describe('violation lists', () => {
  it('names at most 50 violations however many the request breaks', async () => {
    const { app } = await apiServer();
    const response = await app.inject({
      method: 'PUT',
      url: '/api/v1/documents/doc-1/status',
      payload: { new_status: 'UPLOADED', notes_to_add: new Array(1_000).fill('') },
    });
    const problem = assertProblem(response, 400, 'request.invalid');
    assert.equal(problem.violations?.length, 50);
    assert.match(String(problem.detail), /^\d+ violation\(s\) \(the first 50 are listed\)/);
  });
});
