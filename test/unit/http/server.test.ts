import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import Type from 'typebox';
import type { ApiKey } from '../../../src/app/config.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import { createAuthenticator } from '../../../src/http/auth.ts';
import type { ComponentHealth } from '../../../src/http/health.ts';
import { buildServer } from '../../../src/http/server.ts';

const keys: ApiKey[] = [
  { name: 'auditor', role: 'reader', secret: 'reader-secret-0123456789' },
  { name: 'ops', role: 'operator', secret: 'operator-secret-0123456789' },
];

async function sampleResource(app: FastifyInstance): Promise<void> {
  app.get('/api/v1/sample', async (request) => ({ caller: request.caller.name }));
  app.post(
    '/api/v1/sample',
    {
      schema: {
        body: Type.Object({ name: Type.String({ minLength: 2 }), age: Type.Integer({ minimum: 0 }) }),
      },
    },
    async () => {
      throw new DomainError('document.invalid_transition', 'cannot go there', { allowed: ['UPLOADED'] });
    },
  );
}

async function server(options: { keys?: ApiKey[]; components?: Record<string, ComponentHealth> } = {}) {
  return buildServer({
    logger: pino({ level: 'silent' }),
    auth: createAuthenticator(options.keys ?? []),
    health: async () => options.components ?? { eventStore: { status: 'up' } },
    resources: [sampleResource],
  });
}

describe('HTTP server', () => {
  it('answers GET /health with 200 when every component is up', async () => {
    const app = await server();
    const response = await app.inject({ method: 'GET', url: '/health' });
    assert.equal(response.statusCode, 200);
    assert.equal(response.json().status, 'ok');
    assert.deepEqual(response.json().components, { eventStore: { status: 'up' } });
  });

  it('answers /health/ready with 503 naming the component that is down', async () => {
    const app = await server({
      components: { projector: { status: 'down', detail: 'stopped at event 42' } },
    });
    const response = await app.inject({ method: 'GET', url: '/health/ready' });
    assert.equal(response.statusCode, 503);
    assert.equal(response.json().components.projector.detail, 'stopped at event 42');
    const live = await app.inject({ method: 'GET', url: '/health/live' });
    assert.equal(live.statusCode, 200);
  });

  it('reports every violation of an invalid body as problem+json', async () => {
    const app = await server();
    const response = await app.inject({ method: 'POST', url: '/api/v1/sample', payload: { name: 'x' } });
    assert.equal(response.statusCode, 400);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
    const problem = response.json();
    assert.equal(problem.code, 'request.invalid');
    assert.deepEqual(problem.violations.map((v: { path: string }) => v.path).sort(), [
      'body/age',
      'body/name',
    ]);
  });

  it('maps a domain error to its status with its stable code and details', async () => {
    const app = await server();
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/sample',
      payload: { name: 'xy', age: 3 },
    });
    assert.equal(response.statusCode, 409);
    assert.equal(response.json().code, 'document.invalid_transition');
    assert.deepEqual(response.json().allowed, ['UPLOADED']);
  });

  it('answers 401 without a key, 403 with a key of too low a role, and passes the caller on', async () => {
    const app = await server({ keys });
    const anonymous = await app.inject({ method: 'GET', url: '/api/v1/sample' });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().code, 'auth.unauthenticated');
    const wrongKey = await app.inject({
      method: 'GET',
      url: '/api/v1/sample',
      headers: { 'x-api-key': 'nope' },
    });
    assert.equal(wrongKey.statusCode, 401);
    const reader = await app.inject({
      method: 'POST',
      url: '/api/v1/sample',
      headers: { authorization: 'Bearer reader-secret-0123456789' },
      payload: { name: 'xy', age: 3 },
    });
    assert.equal(reader.statusCode, 403);
    assert.equal(reader.json().code, 'auth.forbidden');
    const ok = await app.inject({
      method: 'GET',
      url: '/api/v1/sample',
      headers: { 'x-api-key': 'operator-secret-0123456789' },
    });
    assert.deepEqual(ok.json(), { caller: 'ops' });
  });

  it('keeps health and the OpenAPI document public when keys are configured', async () => {
    const app = await server({ keys });
    assert.equal((await app.inject({ method: 'GET', url: '/health/live' })).statusCode, 200);
    const openapi = await app.inject({ method: 'GET', url: '/openapi.json' });
    assert.equal(openapi.statusCode, 200);
    assert.ok(openapi.json().paths['/api/v1/sample']);
  });

  it('answers an unknown route with a problem', async () => {
    const app = await server();
    const response = await app.inject({ method: 'GET', url: '/nowhere?x=1' });
    assert.equal(response.statusCode, 404);
    assert.equal(response.json().code, 'route.not_found');
  });
});
