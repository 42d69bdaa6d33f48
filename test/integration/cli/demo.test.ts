import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningService, startService } from '../../support/service-process.ts';
import { runCli } from './run-cli.ts';

describe('demo command against the service as a process', () => {
  let dataDir: string;
  let service: RunningService;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kyc-cli-demo-'));
    service = await startService({ DATA_DIR: dataDir });
  });

  after(async () => {
    await service?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('opens 20 cases through the HTTP intake, says so in its summary and exits 0', async () => {
    const run = await runCli(['demo', '--cases', '20', '--url', service.baseUrl]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^sending 20 intakes \(\d+ KYC, \d+ KYB; seed 1\)/m);
    assert.match(run.stdout, /100% 20 cases/);
    assert.match(run.stdout, /^sent 20, accepted 20 \(202\), refused 0 in \d+\.\d s \(\d+\.\d cases\/s\)$/m);
    assert.match(run.stdout, /^first cases: \S+, \S+, \S+, \S+, \S+, …$/m);

    // The read models follow the event store shortly after the 202s.
    const deadline = Date.now() + 10_000;
    let listed: { id: string; traitement_type?: string }[] = [];
    while (Date.now() < deadline) {
      const response = await fetch(`${service.baseUrl}/api/v1/cases?limit=100`);
      assert.equal(response.status, 200);
      listed = (await response.json()) as typeof listed;
      if (listed.length >= 20) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(listed.length, 20, 'GET /api/v1/cases lists every case the demo opened');
    const firstIds = /^first cases: (.*), …$/m.exec(run.stdout)![1]!.split(', ');
    for (const id of firstIds)
      assert.ok(
        listed.some((found) => found.id === id),
        `case ${id} is listed`,
      );
  });
});

describe('demo command against a refusing or absent service', () => {
  it('counts refusals by status with their problem titles, sends a key and the API key, and exits 1', async () => {
    const seen: IncomingHttpHeaders[] = [];
    const server = createServer((request, response) => {
      seen.push(request.headers);
      request.resume();
      request.on('end', () => {
        if (seen.length % 3 === 0) {
          response.writeHead(400, { 'content-type': 'application/problem+json' });
          response.end(
            JSON.stringify({ title: 'The request is invalid', code: 'request.invalid', status: 400 }),
          );
        } else {
          response.writeHead(202, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ case_id: `case-${seen.length}`, position: '1-1', revision: '0' }));
        }
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const run = await runCli(['demo', '--cases', '9', '--concurrency', '1'], {
        KYC_SERVICE_URL: url,
        KYC_API_KEY: 'operator-secret-0123456789',
      });
      assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
      assert.match(run.stdout, /^sent 9, accepted 6 \(202\), refused 3 in /m);
      assert.match(run.stdout, /^ {2}refused with 400 × 3: The request is invalid \[request\.invalid\]$/m);
      assert.match(run.stdout, /^first cases: case-1, case-2, case-4, case-5, case-7, …$/m);
      assert.equal(new Set(seen.map((headers) => headers['idempotency-key'])).size, 9);
      assert.ok(seen.every((headers) => headers.authorization === 'Bearer operator-secret-0123456789'));
    } finally {
      server.close();
    }
  });

  it('stops with a clear error and exit 1 when the service cannot be reached', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as AddressInfo).port;
    server.close();
    await once(server, 'close');
    const run = await runCli(['demo', '--cases', '3', '--url', `http://127.0.0.1:${port}`]);
    assert.equal(run.code, 1);
    assert.match(
      run.stderr,
      /error: cannot reach the service at http:\/\/127\.0\.0\.1:\d+: .* \(stopped after 0 of 3\)/,
    );
  });

  it('explains a usage error and exits 2', async () => {
    const run = await runCli(['demo', '--cases', 'many']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /--cases must be a whole number from 1 to 100000, got "many"/);
    assert.match(run.stderr, /usage: npm run --silent cli -- demo --cases <n>/);
  });
});
