import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';

/**
 * Starts tracing before the rest of the service: OTLP over HTTP when OTEL_EXPORTER_OTLP_ENDPOINT
 * is set (the exporter reads the standard OTEL_* variables itself), nothing exported otherwise.
 * Context crosses process boundaries as W3C `traceparent`: Kafka headers, HTTP headers and the
 * metadata of every event, so one trace follows a message from the intake topic through the event
 * store and the read model to the notification topic.
 */
export function startTelemetry(options: {
  serviceName: string;
  otlpEndpoint: string | undefined;
  spanProcessors?: SpanProcessor[];
}) {
  const spanProcessors = [
    ...(options.spanProcessors ?? []),
    ...(options.otlpEndpoint === undefined ? [] : [new BatchSpanProcessor(new OTLPTraceExporter())]),
  ];
  const sdk = new NodeSDK({ serviceName: options.serviceName, spanProcessors, instrumentations: [] });
  sdk.start();
  return { shutdown: () => sdk.shutdown() };
}
