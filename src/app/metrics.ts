import type { Attributes } from '@opentelemetry/api';
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
  const requests = meter.createCounter('kyc_http_requests_total', {
    description: 'API requests, by route, method and status',
  });
  const requestSeconds = meter.createHistogram('kyc_http_request_duration_seconds', {
    description: 'API request latency, by route and method',
    unit: 's',
    advice: {
      explicitBucketBoundaries: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    },
  });
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
    request(route: string, method: string, status: number, seconds: number): void {
      requests.add(1, { route, method, status });
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
    shutdown: () => provider.shutdown(),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
