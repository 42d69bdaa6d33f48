import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { createConfigServiceClient } from '../../../src/notification-rules/config-service.ts';

type Handler = (request: IncomingMessage, body: string, response: ServerResponse) => void;

async function serve(handler: Handler): Promise<{ url: string; server: Server; calls: string[] }> {
  const calls: string[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      calls.push(`${request.method} ${request.url} ${body}`);
      handler(request, body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/api/v1/notification-rules`, server, calls };
}

const context = { case_id: 'c1', client_id: 'cl1', traitement_type: 'KYC', case_type: 'INDIVIDUAL_STANDARD' };
const servers: Server[] = [];
after(() => {
  for (const server of servers) server.close();
});

describe('configuration-service client', () => {
  it('posts the trigger and context to {url}/rules/match and returns the answer', async () => {
    const rules = [{ rule_id: 'welcome', is_active: true, notification_type: 'EMAIL_WELCOME_KYC' }];
    const stub = await serve((_request, _body, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(rules));
    });
    servers.push(stub.server);
    const client = createConfigServiceClient({ baseUrl: stub.url, timeoutMs: 1_000 });
    const lookup = await client.match('CASE_CREATED_KYC_INDIVIDUAL_STANDARD', context);
    assert.deepEqual(lookup, { outcome: 'answered', rules });
    assert.deepEqual(stub.calls, [
      `POST /api/v1/notification-rules/rules/match ${JSON.stringify({ event_trigger: 'CASE_CREATED_KYC_INDIVIDUAL_STANDARD', context })}`,
    ]);
  });

  it('reuses an answer for the same trigger within the cache period', async () => {
    const stub = await serve((_request, _body, response) => response.end('[]'));
    servers.push(stub.server);
    const client = createConfigServiceClient({ baseUrl: stub.url, timeoutMs: 1_000 });
    await client.match('T', context);
    await client.match('T', { ...context, case_id: 'c2' });
    assert.equal(stub.calls.length, 1);
  });

  it('retries a server error and then reports the failure without throwing', async () => {
    const stub = await serve((_request, _body, response) => {
      response.statusCode = 503;
      response.end('down');
    });
    servers.push(stub.server);
    const client = createConfigServiceClient({ baseUrl: stub.url, timeoutMs: 1_000, retries: 1 });
    const lookup = await client.match('T', context);
    assert.equal(lookup.outcome, 'failed');
    assert.match(lookup.outcome === 'failed' ? lookup.reason : '', /503/);
    assert.equal(stub.calls.length, 2);
  });

  it('reports a timeout as a failure', async () => {
    const stub = await serve(() => {});
    servers.push(stub.server);
    const client = createConfigServiceClient({ baseUrl: stub.url, timeoutMs: 100, retries: 0 });
    const lookup = await client.match('T', context);
    assert.equal(lookup.outcome, 'failed');
    assert.match(lookup.outcome === 'failed' ? lookup.reason : '', /Timeout/i);
    stub.server.closeAllConnections();
  });

  it('reports invalid JSON as a failure', async () => {
    const stub = await serve((_request, _body, response) => response.end('{not json'));
    servers.push(stub.server);
    const client = createConfigServiceClient({ baseUrl: stub.url, timeoutMs: 1_000, retries: 0 });
    assert.equal((await client.match('T', context)).outcome, 'failed');
  });
});
