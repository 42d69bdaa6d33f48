import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { createMetrics, isDocsRoute } from '../../../src/app/metrics.ts';
import { startService } from '../../../src/app/service.ts';
import { eventually } from '../../support/eventually.ts';
import { kycIntakeExample } from '../../support/intake-examples.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** The value of one series in Prometheus text, or undefined when it is absent. */
function seriesValue(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('runtime metrics', () => {
  it('reports event-loop delay and utilisation, heap, resident memory and CPU time', async () => {
    const metrics = createMetrics();
    cleanups.push(() => metrics.shutdown());
    // The delay monitor samples every 10 ms: wait for samples rather than for a fixed time.
    const text = await eventually(
      'event-loop delay samples',
      async () => {
        const scraped = await metrics.scrape();
        return scraped.includes('nodejs_eventloop_delay_seconds{quantile="0.99"}') ? scraped : undefined;
      },
      5_000,
    );
    for (const quantile of ['0.5', '0.9', '0.99', 'max']) {
      const value = seriesValue(text, `nodejs_eventloop_delay_seconds{quantile="${quantile}"}`);
      assert.ok(value !== undefined && value > 0 && value < 10, `delay ${quantile}: ${value}`);
    }
    const utilisation = seriesValue(text, 'nodejs_eventloop_utilization_ratio');
    assert.ok(utilisation !== undefined && utilisation >= 0 && utilisation <= 1);
    assert.ok((seriesValue(text, 'nodejs_heap_used_bytes') ?? 0) > 1_000_000);
    assert.ok(
      (seriesValue(text, 'nodejs_heap_total_bytes') ?? 0) >=
        (seriesValue(text, 'nodejs_heap_used_bytes') ?? 0),
    );
    assert.ok((seriesValue(text, 'process_resident_memory_bytes') ?? 0) > 1_000_000);
    assert.ok((seriesValue(text, 'nodejs_heap_space_used_bytes{space="old_space"}') ?? 0) > 0);
    assert.ok((seriesValue(text, 'process_cpu_seconds_total{mode="user"}') ?? 0) > 0);
    assert.ok(seriesValue(text, 'process_cpu_seconds_total{mode="system"}') !== undefined);
  });

  it('records garbage-collection pauses by kind', async () => {
    const metrics = createMetrics();
    cleanups.push(() => metrics.shutdown());
    let garbage: object[] = [];
    const text = await eventually(
      'a garbage collection',
      async () => {
        // Short-lived objects fill the young generation: a minor collection follows.
        for (let i = 0; i < 200_000; i++) garbage.push({ i });
        garbage = [];
        const scraped = await metrics.scrape();
        return /^nodejs_gc_duration_seconds_count\{kind="\w+"\} [1-9]/m.test(scraped) ? scraped : undefined;
      },
      10_000,
    );
    assert.match(text, /^nodejs_gc_duration_seconds_sum\{kind="(minor|major|incremental|weakcb)"\} /m);
  });
});

describe('HTTP metrics', () => {
  it('leave out the Swagger UI and its static assets', () => {
    for (const route of ['/docs', '/docs/', '/docs/static/*', '/docs/*', '/docs/json']) {
      assert.ok(isDocsRoute(route), route);
    }
    for (const route of ['/api/v1/documents/:id', '/documentation', '/health', '/openapi.json']) {
      assert.ok(!isDocsRoute(route), route);
    }
    const metrics = createMetrics();
    cleanups.push(() => metrics.shutdown());
    metrics.request('/docs/static/*', 'GET', 200, 0.001);
    metrics.request('/api/v1/cases', 'GET', 200, 0.001);
    return metrics.scrape().then((text) => {
      assert.doesNotMatch(text, /route="\/docs/);
      assert.equal(
        seriesValue(text, 'kyc_http_requests_total{route="/api/v1/cases",method="GET",status="200"}'),
        1,
      );
    });
  });
});

describe('read-model metrics of the service', () => {
  it('count cases and documents by status, and leave the Swagger UI out of the request metrics', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'kyc-metrics-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const service = await startService(
      loadConfig({ DATA_DIR: dataDir, PORT: '0' }),
      pino({ level: 'silent' }),
    );
    cleanups.push(() => service.stop());

    const opened = await fetch(`${service.url}/api/v1/cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'metrics-by-status' },
      body: JSON.stringify(kycIntakeExample),
    });
    assert.equal(opened.status, 202);
    const { case_id: caseId, position } = (await opened.json()) as { case_id: string; position: string };
    // Once the read models hold the case, its documents are there too (same position).
    const documents = await fetch(`${service.url}/api/v1/documents/case/${caseId}?min_position=${position}`);
    assert.equal(documents.status, 200);
    const required = ((await documents.json()) as unknown[]).length;
    assert.ok(required > 0);

    assert.equal((await fetch(`${service.url}/docs/static/index.html`)).status < 500, true);
    const text = await (await fetch(`${service.url}/metrics`)).text();
    assert.equal(seriesValue(text, 'kyc_cases{status="OPEN"}'), 1);
    assert.equal(seriesValue(text, 'kyc_cases{status="PENDING_REVIEW"}'), 0);
    assert.equal(seriesValue(text, 'kyc_documents{status="AWAITING_UPLOAD"}'), required);
    assert.equal(seriesValue(text, 'kyc_documents{status="VERIFIED_MANUAL"}'), 0);
    assert.doesNotMatch(text, /route="\/docs/);
    assert.match(text, /^nodejs_heap_used_bytes \d+/m);
  });
});
