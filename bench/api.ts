/**
 * HTTP API under load: the embedded service (emulator + in-memory read models) beside fastify's
 * hello-world route, each in its own process, loaded by autocannon from this one.
 *
 *   npx tsx bench/api.ts [seconds=10] [--writers 16] [--events 1000] [--rounds 3] [--get-only]
 *
 * Prints req/s and latency percentiles for: hello world (baseline) and GET /api/v1/cases/{id}
 * (alternating rounds, the median of each), the
 * GET again at a fixed 2,000 req/s (p99 there is the figure the aim is about), and
 * PUT /api/v1/documents/{id}/status: one client on one case; `writers` clients each on cases of
 * their own, fresh (each document changed once before); the same on cases of `events` events;
 * and the fresh run again on a second service with the log's group commit off (every append its
 * own fsync), the PUT's baseline. Non-2xx answers are counted by status and problem code.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { kycIntakeExample } from '../test/support/intake-examples.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    writers: { type: 'string', default: '16' },
    events: { type: 'string', default: '1000' },
    'get-only': { type: 'boolean', default: false },
    rounds: { type: 'string', default: '3' },
  },
});
const seconds = Number(positionals[0] ?? 10);
const writers = Number(values.writers);
const longEvents = Number(values.events);
/** Alternating rounds of hello world and the GET: a busy machine moves either by ±2× from one run to the next. */
const rounds = Number(values.rounds);
/** Fresh cases per writer, taken in turn, so that none grows much during a run. */
const FRESH_CASES_PER_WRITER = 16;
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

type Result = {
  name: string;
  requests: number;
  /** CPU time of the server process per request (µs): steadier than req/s on a busy machine. */
  cpuMicros: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
  /** Non-2xx answers by status and problem code, e.g. `409 case.busy: 3`. */
  refusals: Map<string, number>;
};

/** User + system CPU time of a process in µs, from /proc (Linux); NaN elsewhere. */
async function cpuMicrosOf(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return Number.NaN;
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1_000_000) / CLOCK_TICKS_PER_SECOND;
}
const CLOCK_TICKS_PER_SECOND = 100;

async function load(
  name: string,
  server: ChildProcess,
  options: autocannon.Options,
  refusals = new Map<string, number>(),
): Promise<Result> {
  const cpuBefore = await cpuMicrosOf(server.pid);
  const result = await autocannon({ connections: 10, duration: seconds, ...options });
  const cpu = (await cpuMicrosOf(server.pid)) - cpuBefore;
  return {
    name,
    requests: result.requests.average,
    cpuMicros: cpu / Math.max(1, result.requests.total),
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    refusals,
  };
}

/** Counts a non-2xx answer under its status and the problem code of its body. */
function countRefusal(refusals: Map<string, number>, status: number, body: string): void {
  if (status < 300) return;
  let code = '';
  try {
    code = String((JSON.parse(body) as { code?: unknown }).code ?? '');
  } catch {
    // Not a problem document: the status alone.
  }
  const key = `${status} ${code}`.trim();
  refusals.set(key, (refusals.get(key) ?? 0) + 1);
}

type Service = { url: string; child: ChildProcess; dataDir: string };

async function startService(groupCommit: boolean): Promise<Service> {
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-bench-api-'));
  const started = await startProcess('src/app/main.ts', {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    EVENT_LOG_GROUP_COMMIT: String(groupCommit),
  });
  return { ...started, dataDir };
}

async function stopProcess(child: ChildProcess): Promise<void> {
  child.kill('SIGTERM');
  await once(child, 'exit');
}

async function call<T>(url: string, init: RequestInit = {}): Promise<T> {
  const response = await fetch(url, init);
  if (!response.ok)
    throw new Error(`${init.method ?? 'GET'} ${url}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

const statusPath = (documentId: string) => `/api/v1/documents/${documentId}/status`;
// UPLOADED and REJECTED lead to each other, so the PUT load is an endless valid walk.
const nextStatus = (previous: string) => (previous === 'UPLOADED' ? 'REJECTED' : 'UPLOADED');
const statusBody = (status: string) => JSON.stringify({ new_status: status });
/** The status each document holds (as opened, then as last set), so every PUT asks for a valid change. */
const lastStatus = new Map<string, string>();
const statusAfter = (documentId: string) => nextStatus(lastStatus.get(documentId) ?? 'REJECTED');

/** Opens a case and returns it with the id of its first document requirement. */
async function openCase(service: Service, key: string): Promise<{ caseId: string; documentId: string }> {
  const opened = await call<{ case_id: string; position: string }>(`${service.url}/api/v1/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(kycIntakeExample),
  });
  const documents = await call<{ id: string; status: string }[]>(
    `${service.url}/api/v1/documents/case/${opened.case_id}?min_position=${opened.position}`,
  );
  const document = documents[0]!;
  // The walk starts from the status the service holds: ids derive from the idempotency key, so
  // the second service's cases have the ids of the first one's, and a status remembered from
  // there would ask for a move a fresh document cannot make.
  lastStatus.set(document.id, document.status);
  return { caseId: opened.case_id, documentId: document.id };
}

async function openCases(service: Service, prefix: string, count: number) {
  const opened: { caseId: string; documentId: string }[] = [];
  for (let i = 0; i < count; i += 16) {
    const keys = Array.from({ length: Math.min(16, count - i) }, (_, j) => `${prefix}-${i + j}`);
    opened.push(...(await Promise.all(keys.map((key) => openCase(service, key)))));
  }
  return opened;
}

/** Walks the document until its case stream holds `events` events. */
async function growCase(service: Service, documentId: string, events: number): Promise<void> {
  for (;;) {
    const status = statusAfter(documentId);
    const receipt = await call<{ revision: string }>(`${service.url}${statusPath(documentId)}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: statusBody(status),
    });
    lastStatus.set(documentId, status);
    if (Number(receipt.revision) + 1 >= events) return;
  }
}

/**
 * One status change on each document, 16 at a time, so that the measured PUTs are not a case's
 * first change: that one also creates the data key of the case's notifications (a write to the
 * key store), which a case pays once, not with its history.
 */
async function firstChange(service: Service, documentIds: string[]): Promise<void> {
  for (let i = 0; i < documentIds.length; i += 16) {
    await Promise.all(documentIds.slice(i, i + 16).map((id) => growCase(service, id, 0)));
  }
}

/** The round with the median req/s (its own CPU and latencies with it). */
function medianOf(results: Result[]): Result {
  const sorted = [...results].sort((a, b) => a.requests - b.requests);
  const median = sorted[Math.floor(sorted.length / 2)]!;
  return { ...median, name: `${median.name} (median of ${results.length})` };
}

/**
 * PUT load: one connection per writer, each walking the documents given to it in turn (its own
 * cases, so that writers never conflict on a stream).
 */
function putLoad(name: string, service: Service, documentsPerWriter: string[][]): Promise<Result> {
  let nextWriter = 0;
  const refusals = new Map<string, number>();
  return load(
    name,
    service.child,
    {
      url: service.url,
      connections: documentsPerWriter.length,
      setupClient(client) {
        const documents = documentsPerWriter[nextWriter++ % documentsPerWriter.length]!;
        let turn = 0;
        const request = (documentId: string) => {
          return {
            method: 'PUT' as const,
            path: statusPath(documentId),
            headers: { 'content-type': 'application/json' },
            body: statusBody(statusAfter(documentId)),
            onResponse: (status: number, body: string) => countRefusal(refusals, status, body),
          };
        };
        client.setRequests([request(documents[0]!)]);
        client.on('response', (statusCode: number) => {
          const documentId = documents[turn % documents.length]!;
          // Only a status that was set moves the walk on; a refused one is tried again.
          if (statusCode < 300) lastStatus.set(documentId, statusAfter(documentId));
          turn++;
          client.setRequests([request(documents[turn % documents.length]!)]);
        });
      },
    },
    refusals,
  );
}

const hello = await startProcess('bench/support/hello-server.ts', {});
const results: Result[] = [];
let costs: { fresh: number; long: number } | undefined;
try {
  const service = await startService(true);
  try {
    const [one] = await openCases(service, 'one', 1);
    const helloRounds: Result[] = [];
    const getRounds: Result[] = [];
    for (let round = 0; round < rounds; round++) {
      helloRounds.push(await load('hello world (fastify baseline)', hello.child, { url: `${hello.url}/` }));
      getRounds.push(
        await load('GET /api/v1/cases/{id}', service.child, {
          url: `${service.url}/api/v1/cases/${one!.caseId}`,
        }),
      );
    }
    results.push(medianOf(helloRounds), medianOf(getRounds));
    results.push(
      await load('GET /api/v1/cases/{id} at 2,000 req/s', service.child, {
        url: `${service.url}/api/v1/cases/${one!.caseId}`,
        overallRate: 2_000,
      }),
    );
    if (!values['get-only']) {
      results.push(await putLoad('PUT …/status, 1 writer, one case', service, [[one!.documentId]]));

      const fresh = await openCases(service, 'fresh', writers * FRESH_CASES_PER_WRITER);
      await firstChange(
        service,
        fresh.map((c) => c.documentId),
      );
      const freshPerWriter = Array.from({ length: writers }, (_, w) =>
        fresh.slice(w * FRESH_CASES_PER_WRITER, (w + 1) * FRESH_CASES_PER_WRITER).map((c) => c.documentId),
      );
      const freshRun = await putLoad(
        `PUT …/status, ${writers} writers, fresh cases`,
        service,
        freshPerWriter,
      );
      results.push(freshRun);

      const long = await openCases(service, 'long', writers);
      process.stderr.write(`bench: growing ${writers} cases to ${longEvents} events\n`);
      await Promise.all(long.map((c) => growCase(service, c.documentId, longEvents)));
      const longRun = await putLoad(
        `PUT …/status, ${writers} writers, cases of ${longEvents}+ events`,
        service,
        long.map((c) => [c.documentId]),
      );
      results.push(longRun);
      costs = { fresh: freshRun.requests, long: longRun.requests };
    }
  } finally {
    await stopProcess(service.child);
    await rm(service.dataDir, { recursive: true, force: true });
  }

  if (!values['get-only']) {
    const alone = await startService(false);
    try {
      const fresh = await openCases(alone, 'fresh', writers * FRESH_CASES_PER_WRITER);
      await firstChange(
        alone,
        fresh.map((c) => c.documentId),
      );
      const freshPerWriter = Array.from({ length: writers }, (_, w) =>
        fresh.slice(w * FRESH_CASES_PER_WRITER, (w + 1) * FRESH_CASES_PER_WRITER).map((c) => c.documentId),
      );
      results.push(
        await putLoad(
          `PUT …/status, ${writers} writers, fresh cases, group commit off`,
          alone,
          freshPerWriter,
        ),
      );
    } finally {
      await stopProcess(alone.child);
      await rm(alone.dataDir, { recursive: true, force: true });
    }
  }
} finally {
  await stopProcess(hello.child);
}

const baseline = results[0]!.requests;
console.log(`\nAPI benchmark, ${seconds} s per run, autocannon with 10 connections (PUT: one per writer)\n`);
const baselineCpu = results[0]!.cpuMicros;
console.log(
  '| run | req/s | × hello world | server CPU µs/request | hello world CPU ÷ this | p50 ms | p99 ms | errors | non-2xx |',
);
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.requests.toFixed(0)} | ${(r.requests / baseline).toFixed(2)} | ${r.cpuMicros.toFixed(0)} | ${(baselineCpu / r.cpuMicros).toFixed(2)} | ${r.p50} | ${r.p99} | ${r.errors} | ${r.non2xx} |`,
  );
}
const groupCommitOff = results.find((r) => r.name.includes('group commit off'))?.requests;
const freshPut = results.find((r) => r.name.includes('fresh cases') && !r.name.includes('off'))?.requests;
if (groupCommitOff !== undefined && freshPut !== undefined)
  console.log(
    `\nPUT with group commit / without, ${writers} writers: ${(freshPut / groupCommitOff).toFixed(1)}×`,
  );
if (costs !== undefined) {
  console.log(
    `PUT cost on cases of ${longEvents}+ events / on fresh cases: ${(costs.fresh / costs.long).toFixed(2)}×`,
  );
}
for (const r of results) {
  if (r.refusals.size === 0) continue;
  const counts = [...r.refusals].map(([key, count]) => `${key}: ${count}`).join(', ');
  console.log(`non-2xx of "${r.name}": ${counts}`);
}
