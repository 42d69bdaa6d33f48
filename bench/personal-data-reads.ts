/**
 * What recording personal-data reads costs: GET /api/v1/persons/case/{id} against two embedded
 * services started the same way, one recording every read (batched appends to the case's
 * `access-` stream), one not (the baseline), each in its own process, loaded in turn by
 * autocannon from this one, twice each, interleaved, so drift on a shared machine hits both.
 *
 *   npx tsx bench/personal-data-reads.ts [seconds=10]
 *
 * Prints req/s and latency percentiles of both, the ratio, and how many reads the recording
 * service stored and dropped (from its /metrics), so a fast figure cannot hide lost records.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { kybIntakeExample } from '../test/support/intake-examples.ts';

const seconds = Number(process.argv[2] ?? 10);
const root = new URL('../', import.meta.url);

async function startService(dataDir: string, record: boolean): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/support/service-reads.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: '0',
      DATA_DIR: dataDir,
      BENCH_RECORD_READS: record ? 'on' : 'off',
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

/** Opens the KYB example and returns the persons URL once the read model has it. */
async function personsUrl(base: string): Promise<string> {
  const opened = (await (
    await fetch(`${base}/api/v1/cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'bench-reads' },
      body: JSON.stringify(kybIntakeExample),
    })
  ).json()) as { case_id: string; position: string };
  const url = `${base}/api/v1/persons/case/${opened.case_id}`;
  const ready = await fetch(`${url}?min_position=${opened.position}`);
  if (ready.status !== 200) throw new Error(`persons of the bench case: HTTP ${ready.status}`);
  return url;
}

type Run = { requests: number; p50: number; p99: number; errors: number; non2xx: number; total: number };

async function load(url: string): Promise<Run> {
  const result = await autocannon({ url, connections: 10, duration: seconds });
  return {
    requests: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
    total: result.requests.total,
  };
}

async function metric(base: string, name: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
}

const dirs = await Promise.all([0, 1].map(() => mkdtemp(join(tmpdir(), 'kyc-bench-reads-'))));
const withoutRecording = await startService(dirs[0]!, false);
const withRecording = await startService(dirs[1]!, true);
try {
  const baselineUrl = await personsUrl(withoutRecording.url);
  const recordedUrl = await personsUrl(withRecording.url);
  // Warm both up (JIT, caches) before anything is measured.
  await autocannon({ url: baselineUrl, connections: 10, duration: 2 });
  // Every read of the recording service counts, the warm-up's and the first one's included.
  let served = 1 + (await autocannon({ url: recordedUrl, connections: 10, duration: 2 })).requests.total;
  const runs: { name: string; run: Run }[] = [];
  for (let round = 1; round <= 2; round++) {
    runs.push({ name: `without recording (baseline), round ${round}`, run: await load(baselineUrl) });
    runs.push({ name: `recording every read, round ${round}`, run: await load(recordedUrl) });
  }
  // Let the last batch go out (one flush interval and then some), then read what was stored.
  served += runs.filter((r) => r.name.startsWith('recording')).reduce((n, r) => n + r.run.total, 0);
  let stored = 0;
  for (let i = 0; i < 50 && stored < served; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    stored = await metric(withRecording.url, 'kyc_personal_data_reads_recorded_total');
  }
  const dropped = await metric(withRecording.url, 'kyc_personal_data_reads_dropped_total');

  const mean = (prefix: string) => {
    const chosen = runs.filter((r) => r.name.startsWith(prefix)).map((r) => r.run.requests);
    return chosen.reduce((a, b) => a + b, 0) / chosen.length;
  };
  const baseline = mean('without');
  console.log(`\nPersonal-data read recording, ${seconds} s per run, autocannon with 10 connections`);
  console.log(
    'GET /api/v1/persons/case/{id} (a KYB case: 1 person), embedded event store, in-memory read models\n',
  );
  console.log('| run | req/s | × baseline | p50 ms | p99 ms | errors | non-2xx |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  for (const { name, run } of runs) {
    console.log(
      `| ${name} | ${run.requests.toFixed(0)} | ${(run.requests / baseline).toFixed(2)} | ${run.p50} | ${run.p99} | ${run.errors} | ${run.non2xx} |`,
    );
  }
  console.log(
    `\nmean: ${baseline.toFixed(0)} req/s without, ${mean('recording').toFixed(0)} req/s recording (× ${(mean('recording') / baseline).toFixed(2)})`,
  );
  console.log(`reads the recording service served: ${served}; recorded: ${stored}; dropped: ${dropped}`);
} finally {
  for (const child of [withoutRecording.child, withRecording.child]) {
    child.kill('SIGTERM');
    await once(child, 'exit');
  }
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
}
