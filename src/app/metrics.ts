import { constants, monitorEventLoopDelay, PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Attributes, Meter } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

/**
 * The service's metrics, built on the OpenTelemetry metrics SDK and served as Prometheus text at
 * `GET /metrics`. Counters that parts already keep in their status (published, parked, lag …)
 * are read at scrape time through `observe`, so those parts need not know about metrics.
 */
export function createMetrics(options: { otlp: boolean } = { otlp: false }) {
  const reader = new PrometheusExporter({ preventServerStart: true });
  // With an OTLP endpoint configured, the same metrics are also pushed every 15 s; the exporter
  // reads the standard OTEL_EXPORTER_OTLP_* variables.
  const pushed = options.otlp
    ? [
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter(),
          exportIntervalMillis: 15_000,
        }),
      ]
    : [];
  const provider = new MeterProvider({ readers: [reader, ...pushed] });
  const meter = provider.getMeter('kyc-case-service');
  // Plain Prometheus names and labels: no scope label on every series, no target_info.
  const serializer = new PrometheusSerializer(undefined, false, undefined, true, true);

  const commands = meter.createCounter('kyc_commands_total', {
    description: 'Commands handled, by type and outcome',
  });
  const commandSeconds = meter.createHistogram('kyc_command_duration_seconds', {
    description: 'Time to handle a command, rule lookups included',
    unit: 's',
    advice: {
      explicitBucketBoundaries: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    },
  });
  const eventsAppended = meter.createCounter('kyc_events_appended_total', {
    description: 'Events appended, by stream category',
  });
  const reviewSeconds = meter.createHistogram('kyc_case_review_duration_seconds', {
    description: 'Time a case spent IN_REVIEW, observed when it leaves (decided, closed)',
    unit: 's',
    advice: {
      explicitBucketBoundaries: [
        60,
        300,
        900,
        3_600,
        4 * 3_600,
        8 * 3_600,
        86_400,
        3 * 86_400,
        7 * 86_400,
        30 * 86_400,
      ],
    },
  });
  // Counted here and reported at each collection: a synchronous counter hashes its attributes on
  // every request, a cost the cheapest reads notice; one entry per series is hashed per scrape.
  const requestCounts = new Map<string, { count: number; attributes: Attributes }>();
  meter
    .createObservableCounter('kyc_http_requests_total', {
      description: 'API requests, by route, method and status',
    })
    .addCallback((result) => {
      for (const { count, attributes } of requestCounts.values()) result.observe(count, attributes);
    });
  const requestSeconds = meter.createHistogram('kyc_http_request_duration_seconds', {
    description: 'API request latency, by route and method',
    unit: 's',
    advice: {
      explicitBucketBoundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    },
  });
  const runtime = observeRuntime(meter);
  const kafkaLag = new Map<string, { topic: string; partition: number; lag: number }>();
  meter
    .createObservableGauge('kyc_kafka_consumer_lag_messages', {
      description: 'Intake consumer lag, by topic and partition',
    })
    .addCallback((result) => {
      for (const { topic, partition, lag } of kafkaLag.values()) result.observe(lag, { topic, partition });
    });

  return {
    command(type: string, outcome: string, seconds: number): void {
      commands.add(1, { type, outcome });
      commandSeconds.record(seconds, { type });
    },
    eventsAppended(category: string, count: number): void {
      if (count > 0) eventsAppended.add(count, { category });
    },
    reviewEnded(seconds: number): void {
      reviewSeconds.record(seconds);
    },
    request(route: string, method: string, status: number, seconds: number): void {
      if (isDocsRoute(route)) return;
      const key = `${status} ${method} ${route}`;
      const series = requestCounts.get(key);
      if (series === undefined) requestCounts.set(key, { count: 1, attributes: { route, method, status } });
      else series.count++;
      requestSeconds.record(seconds, { route, method });
    },
    kafkaConsumerLag(topic: string, partition: number, lag: number): void {
      kafkaLag.set(`${topic}/${partition}`, { topic, partition, lag });
    },
    /**
     * A gauge (or a monotonic count, as `counter`) read at scrape time. The callback may be async;
     * a failing one leaves that metric out of the scrape instead of failing it.
     */
    observe(
      name: string,
      description: string,
      read: () =>
        | Promise<readonly { value: number; attributes?: Attributes }[]>
        | readonly { value: number; attributes?: Attributes }[],
      kind: 'gauge' | 'counter' = 'gauge',
    ): void {
      const instrument =
        kind === 'counter'
          ? meter.createObservableCounter(name, { description })
          : meter.createObservableGauge(name, { description });
      instrument.addCallback(async (result) => {
        try {
          for (const { value, attributes } of await read()) result.observe(value, attributes);
        } catch {
          // Left out of this scrape; the component's health says why.
        }
      });
    },
    /** The current metrics in Prometheus text format. */
    async scrape(): Promise<string> {
      const { resourceMetrics } = await reader.collect();
      return serializer.serialize(resourceMetrics);
    },
    shutdown: async (): Promise<void> => {
      runtime.stop();
      await provider.shutdown();
    },
  };
}

/**
 * The Swagger UI and its assets (`/docs`, `/docs/static/*`, `/docs/*`): pages a browser fetches,
 * not API traffic; counting them would only blur the API's request rates and latencies.
 */
export function isDocsRoute(route: string): boolean {
  return route === '/docs' || route.startsWith('/docs/');
}

const gcKinds: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

/**
 * Node runtime and process metrics as OpenTelemetry instruments (no runtime instrumentation
 * package is installed; these are the few that matter): event-loop delay and utilisation, heap
 * and resident memory, garbage-collection pauses, CPU time. Delay quantiles and utilisation
 * cover the time since the previous collection. `stop` releases the delay monitor and the GC
 * observer.
 */
function observeRuntime(meter: Meter): { stop(): void } {
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  meter
    .createObservableGauge('nodejs_eventloop_delay_seconds', {
      description: 'Event-loop delay since the previous collection, by quantile (max: the largest seen)',
      unit: 's',
    })
    .addCallback((result) => {
      if (delay.count === 0) return;
      for (const [quantile, nanoseconds] of [
        ['0.5', delay.percentile(50)],
        ['0.9', delay.percentile(90)],
        ['0.99', delay.percentile(99)],
        ['max', delay.max],
      ] as const) {
        result.observe(nanoseconds / 1e9, { quantile });
      }
      delay.reset();
    });
  let utilisation = performance.eventLoopUtilization();
  meter
    .createObservableGauge('nodejs_eventloop_utilization_ratio', {
      description: 'Share of the time since the previous collection the event loop was busy (0 to 1)',
    })
    .addCallback((result) => {
      const now = performance.eventLoopUtilization();
      result.observe(performance.eventLoopUtilization(now, utilisation).utilization);
      utilisation = now;
    });

  const heapUsed = meter.createObservableGauge('nodejs_heap_used_bytes', {
    description: 'V8 heap in use',
  });
  const heapTotal = meter.createObservableGauge('nodejs_heap_total_bytes', {
    description: 'V8 heap reserved',
  });
  const external = meter.createObservableGauge('nodejs_external_memory_bytes', {
    description: 'Memory of C++ objects bound to JavaScript ones (buffers included)',
  });
  const resident = meter.createObservableGauge('process_resident_memory_bytes', {
    description: 'Resident set size of the process',
  });
  const heapSpace = meter.createObservableGauge('nodejs_heap_space_used_bytes', {
    description: 'V8 heap in use, by heap space',
  });
  const cpu = meter.createObservableCounter('process_cpu_seconds_total', {
    description: 'CPU time the process used, by mode (user, system)',
    unit: 's',
  });
  // One read of memoryUsage and cpuUsage serves all of these per collection.
  meter.addBatchObservableCallback(
    (result) => {
      const memory = process.memoryUsage();
      result.observe(heapUsed, memory.heapUsed);
      result.observe(heapTotal, memory.heapTotal);
      result.observe(external, memory.external);
      result.observe(resident, memory.rss);
      for (const space of getHeapSpaceStatistics()) {
        result.observe(heapSpace, space.space_used_size, { space: space.space_name });
      }
      const used = process.cpuUsage();
      result.observe(cpu, used.user / 1e6, { mode: 'user' });
      result.observe(cpu, used.system / 1e6, { mode: 'system' });
    },
    [heapUsed, heapTotal, external, resident, heapSpace, cpu],
  );

  const gcSeconds = meter.createHistogram('nodejs_gc_duration_seconds', {
    description: 'Garbage-collection pauses, by kind (minor, major, incremental, weakcb)',
    unit: 's',
    advice: { explicitBucketBoundaries: [0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] },
  });
  const gc = new PerformanceObserver((entries) => {
    for (const entry of entries.getEntries()) {
      // GC entries carry their kind in `detail` (not in the declared PerformanceEntry type).
      const kind = (entry as { detail?: { kind?: number } | null }).detail?.kind;
      gcSeconds.record(entry.duration / 1000, { kind: gcKinds[kind ?? -1] ?? 'other' });
    }
  });
  gc.observe({ entryTypes: ['gc'] });

  return {
    stop() {
      delay.disable();
      gc.disconnect();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
