/**
 * What sealing the read models' personal fields costs. Two parts, each beside its baseline from
 * the same run:
 *
 * 1. In process: `get` and `write` of a `persons` document on the in-memory read store, plain
 *    and behind `protectReadModels` (one AES-256-GCM seal or open per document, keys cached).
 * 2. Over HTTP: two embedded services started the same way, one sealing (as shipped), one not,
 *    each in its own process, loaded in turn by autocannon, twice each, interleaved: the persons
 *    and the owners of a KYB case (sealed documents), and the case itself (no personal field:
 *    the decorator passes it through). Server CPU per request is read from /proc.
 *
 *   npx tsx bench/read-model-sealing.ts [seconds=10]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { readModelPersonalData } from '../projections/index.ts';
import { createKeyStore, createMemoryKeyRecords } from '../src/eventsourcing/protection/key-store.ts';
import { protectReadModels } from '../src/eventsourcing/protection/protected-read-store.ts';
import { createInMemoryReadStore } from '../src/eventsourcing/readstore/memory.ts';
import type { ReadStore } from '../src/eventsourcing/readstore/port.ts';
import { kybIntakeExample } from '../test/support/intake-examples.ts';

const seconds = Number(process.argv[2] ?? 10);
const root = new URL('../', import.meta.url);

// Part 1: in process.

async function perOperation(store: ReadStore, operations: number): Promise<{ get: number; write: number }> {
  const { target } = await store.createSlot('persons', 'persons', 1);
  const documents = Array.from({ length: 100 }, (_, i) => ({
    id: `person-${i}`,
    case_id: `case-${i % 10}`,
    company_id: null,
    firstname: 'Firstname',
    lastname: 'Lastname',
    birthdate: '1985-03-20',
    role_in_company: null,
    created_at: '2026-03-01T10:00:00.000Z',
    updated_at: '2026-03-01T10:00:00.000Z',
  }));
  let commit = 1n;
  const writeStart = process.hrtime.bigint();
  for (let i = 0; i < operations; i++) {
    const document = documents[i % documents.length]!;
    commit++;
    await store.write(target, [{ op: 'upsert', document, position: { commit, prepare: commit } }]);
  }
  const write = Number(process.hrtime.bigint() - writeStart) / 1_000 / operations;
  const getStart = process.hrtime.bigint();
  for (let i = 0; i < operations; i++) await store.get('persons', `person-${i % documents.length}`);
  const get = Number(process.hrtime.bigint() - getStart) / 1_000 / operations;
  return { get, write };
}

const keyStore = () =>
  createKeyStore({ records: createMemoryKeyRecords(), kek: { id: 'k', key: randomBytes(32) } });
const OPERATIONS = 50_000;
// Warm-up of both paths, then two interleaved rounds.
await perOperation(createInMemoryReadStore(), 5_000);
await perOperation(
  protectReadModels(createInMemoryReadStore(), { keyStore: keyStore(), declarations: readModelPersonalData }),
  5_000,
);
const inProcess: { name: string; get: number; write: number }[] = [];
for (let round = 1; round <= 2; round++) {
  inProcess.push({
    name: `plain (baseline), round ${round}`,
    ...(await perOperation(createInMemoryReadStore(), OPERATIONS)),
  });
  inProcess.push({
    name: `sealed, round ${round}`,
    ...(await perOperation(
      protectReadModels(createInMemoryReadStore(), {
        keyStore: keyStore(),
        declarations: readModelPersonalData,
      }),
      OPERATIONS,
    )),
  });
}
console.log(
  `\nRead-model sealing in process: ${OPERATIONS} operations on a persons document, in-memory store\n`,
);
console.log('| run | get µs | write µs |');
console.log('|---|---:|---:|');
for (const run of inProcess) console.log(`| ${run.name} | ${run.get.toFixed(2)} | ${run.write.toFixed(2)} |`);

// Part 2: over HTTP.

async function startService(
  dataDir: string,
  protect: boolean,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/support/service-reads.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      DATA_DIR: dataDir,
      BENCH_PROTECT_READ_MODELS: protect ? 'on' : 'off',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  for await (const line of lines) {
    const entry = JSON.parse(line) as { msg?: string; url?: string };
    if (entry.msg === 'service listening' && entry.url) return { url: entry.url, child };
  }
  throw new Error('the service exited before listening');
}

/** Opens the KYB example; returns the URLs of its persons, owners and case once projected. */
async function urlsOf(base: string): Promise<Record<string, string>> {
  const opened = (await (
    await fetch(`${base}/api/v1/cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'bench-sealing' },
      body: JSON.stringify(kybIntakeExample),
    })
  ).json()) as { case_id: string; position: string };
  const found = await fetch(`${base}/api/v1/cases/${opened.case_id}?min_position=${opened.position}`);
  const kyb = (await found.json()) as { company_id: string };
  return {
    'GET /api/v1/persons/case/{id}': `${base}/api/v1/persons/case/${opened.case_id}`,
    'GET /api/v1/companies/{id}/beneficial-owners': `${base}/api/v1/companies/${kyb.company_id}/beneficial-owners`,
    'GET /api/v1/cases/{id} (nothing sealed)': `${base}/api/v1/cases/${opened.case_id}`,
  };
}

/** User + system CPU time of a process in µs, from /proc (Linux); NaN elsewhere. */
async function cpuMicrosOf(pid: number | undefined): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return Number.NaN;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1_000_000) / 100;
}

type Run = { requests: number; cpuMicros: number; p50: number; p99: number; non2xx: number };

async function load(url: string, server: ChildProcess): Promise<Run> {
  const cpuBefore = await cpuMicrosOf(server.pid);
  const result = await autocannon({ url, connections: 10, duration: seconds });
  const cpu = (await cpuMicrosOf(server.pid)) - cpuBefore;
  return {
    requests: result.requests.average,
    cpuMicros: cpu / Math.max(1, result.requests.total),
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx + result.errors,
  };
}

const dirs = await Promise.all([0, 1].map(() => mkdtemp(join(tmpdir(), 'kyc-bench-sealing-'))));
const plain = await startService(dirs[0]!, false);
const sealed = await startService(dirs[1]!, true);
try {
  const plainUrls = await urlsOf(plain.url);
  const sealedUrls = await urlsOf(sealed.url);
  console.log(
    `\nRead-model sealing over HTTP: ${seconds} s per run, autocannon with 10 connections, embedded service\n`,
  );
  console.log('| route | run | req/s | server CPU µs/req | p50 ms | p99 ms | non-2xx |');
  console.log('|---|---|---:|---:|---:|---:|---:|');
  for (const route of Object.keys(plainUrls)) {
    await autocannon({ url: plainUrls[route]!, connections: 10, duration: 2 });
    await autocannon({ url: sealedUrls[route]!, connections: 10, duration: 2 });
    for (let round = 1; round <= 2; round++) {
      for (const [name, service, urls] of [
        ['plain (baseline)', plain, plainUrls],
        ['sealed', sealed, sealedUrls],
      ] as const) {
        const run = await load(urls[route]!, service.child);
        console.log(
          `| ${route} | ${name}, round ${round} | ${run.requests.toFixed(0)} | ${run.cpuMicros.toFixed(0)} | ${run.p50} | ${run.p99} | ${run.non2xx} |`,
        );
      }
    }
  }
} finally {
  for (const child of [plain.child, sealed.child]) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}
