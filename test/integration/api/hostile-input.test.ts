import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually } from '../../support/eventually.ts';
import { type RunningService, startService } from '../../support/service-process.ts';

type Json = Record<string, unknown>;

/** One raw HTTP/1.1 exchange, so paths and headers reach the server exactly as written. */
function raw(
  base: string,
  options: { method: string; path: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const isProblemJson = (headers: Record<string, unknown>) =>
  /^application\/problem\+json/.test(String(headers['content-type']));

describe('hostile input against the running service (embedded event store)', () => {
  let dataDir: string;
  let service: RunningService;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kyc-hostile-'));
    service = await startService({ DATA_DIR: dataDir });
  });

  after(async () => {
    await service?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;

  it('survives JSON nested 1,000 levels in an intake, in one of its fields and in metadata_changes', async () => {
    const bodies = [
      { path: '/api/v1/cases', method: 'POST', body: deep(1_000) },
      { path: '/api/v1/cases', method: 'POST', body: `{"client_id":${deep(1_000)}}` },
      {
        path: '/api/v1/documents/doc-1/status',
        method: 'PUT',
        body: `{"new_status":"UPLOADED","metadata_changes":{"a":${deep(1_000)}}}`,
      },
    ];
    for (const { path, method, body } of bodies) {
      const response = await raw(service.baseUrl, {
        method,
        path,
        headers: { 'content-type': 'application/json' },
        body,
      });
      assert.equal(response.status, 400, response.text.slice(0, 300));
      assert.ok(isProblemJson(response.headers));
      assert.equal((JSON.parse(response.text) as Json).code, 'request.invalid');
    }
    assert.equal(service.child.exitCode, null, 'the service is still running');
    assert.equal((await raw(service.baseUrl, { method: 'GET', path: '/health/live' })).status, 200);
  });

  it('records a malformed intake in the raw intake audit', async () => {
    const text = '{"client_id": "audit-me", ';
    const refused = await raw(service.baseUrl, {
      method: 'POST',
      path: '/api/v1/cases',
      headers: { 'content-type': 'application/json' },
      body: text,
    });
    assert.equal(refused.status, 400);
    const record = await eventually('the refusal in the raw intake audit', async () => {
      const response = await fetch(`${service.baseUrl}/api/v1/events/raw?limit=50`);
      const records = (await response.json()) as Json[];
      return records.find((r) => r.raw_text === text);
    });
    assert.equal(record.outcome, 'rejected');
    assert.equal(record.error_code, 'request.invalid_json');
    assert.equal(record.payload, null);
    assert.equal(record.source, 'http');
  });

  it('answers headers over 16 KiB with 431 problem+json', async () => {
    const response = await raw(service.baseUrl, {
      method: 'GET',
      path: '/api/v1/cases',
      headers: { 'x-padding': 'p'.repeat(20_000) },
    });
    assert.equal(response.status, 431);
    assert.ok(isProblemJson(response.headers));
    assert.equal((JSON.parse(response.text) as Json).code, 'request.headers_too_large');
  });

  it('answers a path that is not valid percent-encoding with 400 problem+json', async () => {
    const response = await raw(service.baseUrl, { method: 'GET', path: '/api/v1/cases/%FF%FE' });
    assert.equal(response.status, 400);
    assert.ok(isProblemJson(response.headers));
    assert.equal((JSON.parse(response.text) as Json).code, 'request.bad_url');
  });

  it('answers a body that is not UTF-8 with 400 naming it, and stores nothing', async () => {
    const response = await raw(service.baseUrl, {
      method: 'POST',
      path: '/api/v1/documents/determine-requirements',
      headers: { 'content-type': 'application/json' },
      body: Buffer.concat([Buffer.from('{"case_id":"'), Buffer.from([0xff]), Buffer.from('"}')]),
    });
    assert.equal(response.status, 400);
    assert.equal((JSON.parse(response.text) as Json).code, 'request.invalid_utf8');
  });

  it('answers an undeclared method with 405 and Allow', async () => {
    const response = await raw(service.baseUrl, { method: 'DELETE', path: '/api/v1/cases' });
    assert.equal(response.status, 405);
    assert.equal(response.headers.allow, 'GET, HEAD, POST');
    assert.ok(isProblemJson(response.headers));
  });
});
