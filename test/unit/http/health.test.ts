import assert from 'node:assert/strict';
import { it } from 'node:test';
import { pino } from 'pino';
import { buildServer } from '../../../src/http/server.ts';

it('GET /health answers 200', async () => {
  const server = buildServer({ logger: pino({ level: 'silent' }) });
  const response = await server.inject({ method: 'GET', url: '/health' });
  assert.equal(response.statusCode, 200);
  assert.deepEqual(response.json(), { status: 'ok' });
  await server.close();
});
