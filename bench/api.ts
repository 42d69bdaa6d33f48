/**
 * HTTP API under load: the embedded service (emulator + in-memory read models) beside fastify's
 * hello-world route, each in its own process, loaded by autocannon from this one.
 *
 *   npx tsx bench/api.ts [seconds=10]
 *
 * Prints req/s and latency percentiles for: hello world (baseline), GET /api/v1/cases/{id},
 * PUT /api/v1/documents/{id}/status, and the GET again at a fixed 2,000 req/s (p99 there is
 * the figure the aim is about).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { kycIntakeExample } from '../test/support/intake-examples.ts';

const seconds = Number(process.argv[2] ?? 10);
const root = new URL('../', import.meta.url);

async function startProcess(
  script: string,
  env: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === 'service listening' && entry.url) return { url: entry.url, child };
  }
  throw new Error(`${script} exited before listening`);
}

type Result = { name: string; requests: number; p50: number; p99: number; errors: number; non2xx: number };

async function load(name: string, options: autocannon.Options): Promise<Result> {
  const result = await autocannon({ connections: 10, duration: seconds, ...options });
  return {
    name,
    requests: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

const dataDir = await mkdtemp(join(tmpdir(), 'kyc-bench-api-'));
const hello = await startProcess('bench/support/hello-server.ts', {});
const service = await startProcess('src/app/main.ts', { DATA_DIR: dataDir, LOG_LEVEL: 'info' });
try {
  const opened = (await (
    await fetch(`${service.url}/api/v1/cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'bench' },
      body: JSON.stringify(kycIntakeExample),
    })
  ).json()) as { case_id: string; position: string };
  const documents = (await (
    await fetch(`${service.url}/api/v1/documents/case/${opened.case_id}?min_position=${opened.position}`)
  ).json()) as { id: string }[];
  const documentId = documents[0]!.id;
  // UPLOADED and REJECTED lead to each other, so the PUT load is an endless valid walk.
  let upload = true;

  const results: Result[] = [];
  results.push(await load('hello world (fastify baseline)', { url: `${hello.url}/` }));
  results.push(
    await load('GET /api/v1/cases/{id}', { url: `${service.url}/api/v1/cases/${opened.case_id}` }),
  );
  results.push(
    await load('GET /api/v1/cases/{id} at 2,000 req/s', {
      url: `${service.url}/api/v1/cases/${opened.case_id}`,
      overallRate: 2_000,
    }),
  );
  results.push(
    await load('PUT /api/v1/documents/{id}/status', {
      url: `${service.url}/api/v1/documents/${documentId}/status`,
      method: 'PUT',
      // One connection: every PUT goes to the same case stream, so they would only conflict.
      connections: 1,
      headers: { 'content-type': 'application/json' },
      setupClient(client) {
        client.setBody(JSON.stringify({ new_status: 'UPLOADED' }));
        client.on('response', () => {
          upload = !upload;
          client.setBody(JSON.stringify({ new_status: upload ? 'UPLOADED' : 'REJECTED' }));
        });
      },
    }),
  );

  const baseline = results[0]!.requests;
  console.log(`\nAPI benchmark, ${seconds} s per run, autocannon with 10 connections (1 for the PUT)\n`);
  console.log('| run | req/s | × baseline | p50 ms | p99 ms | errors | non-2xx |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const r of results) {
    console.log(
      `| ${r.name} | ${r.requests.toFixed(0)} | ${(r.requests / baseline).toFixed(2)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`,
    );
  }
} finally {
  for (const child of [hello.child, service.child]) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await rm(dataDir, { recursive: true, force: true });
}
