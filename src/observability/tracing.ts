import {
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';

// Tracing helpers over the OpenTelemetry API only: without a started SDK they are no-ops, so
// adapters can use them freely. Context crosses boundaries as W3C `traceparent`.

/**
 * The tracer of the registered provider, asked for once per provider rather than per span (the
 * API hands out a new proxy on every call). A tracer asked for before an SDK registers resolves
 * to the SDK's once it does; a provider registered after `trace.disable()` is a new provider.
 */
let cached: { provider: TracerProvider; tracer: Tracer } | undefined;
function tracer(): Tracer {
  const provider = trace.getTracerProvider();
  if (cached?.provider !== provider) cached = { provider, tracer: provider.getTracer('kyc-case-service') };
  return cached.tracer;
}

/** The context a W3C `traceparent` names, or the root context when there is none. */
export function contextFrom(traceparent: string | undefined) {
  return traceparent === undefined ? ROOT_CONTEXT : propagation.extract(ROOT_CONTEXT, { traceparent });
}

/** The `traceparent` of the active span, to store in event metadata or send in headers. */
export function currentTraceparent(): string | undefined {
  const carrier: Record<string, string> = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

/**
 * Runs `work` inside a new span (child of `parent`, else of the active context), ending it when
 * `work` settles and marking it as an error when it throws.
 */
export async function inSpan<T>(
  name: string,
  options: {
    kind?: SpanKind;
    attributes?: Record<string, string | number | boolean>;
    parent?: string | undefined;
  },
  work: (span: Span) => Promise<T>,
): Promise<T> {
  const parent = 'parent' in options ? contextFrom(options.parent) : context.active();
  return tracer().startActiveSpan(
    name,
    { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes ?? {} },
    parent,
    async (span) => {
      try {
        return await work(span);
      } catch (error) {
        span.recordException(error instanceof Error ? error : String(error));
        span.setStatus({
          code: SpanStatusCode.ERROR,
          message: error instanceof Error ? error.message : String(error),
        });
        throw error;
      } finally {
        span.end();
      }
    },
  );
}

/** A span around synchronous work, e.g. a projection applying one event. */
export function inSpanSync<T>(
  name: string,
  parent: string | undefined,
  attributes: Record<string, string>,
  work: () => T,
): T {
  const span = tracer().startSpan(name, { attributes }, contextFrom(parent));
  try {
    return work();
  } finally {
    span.end();
  }
}

export { type Span, SpanKind };

/**
 * Starts a span and calls `next` with it inside its context, for frameworks whose lifecycle
 * continues from a callback (fastify's onRequest `done`). The caller ends the span.
 */
export function enterSpan(
  name: string,
  options: { kind: SpanKind; parent: string | undefined; attributes?: Record<string, string | number> },
  next: (span: Span) => void,
): Span {
  const parent = contextFrom(options.parent);
  const span = tracer().startSpan(name, { kind: options.kind, attributes: options.attributes ?? {} }, parent);
  context.with(trace.setSpan(parent, span), next, undefined, span);
  return span;
}

/** `trace_id` and `span_id` of the active span, for log lines (pino's mixin). */
export function traceFields(): Record<string, string> {
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
