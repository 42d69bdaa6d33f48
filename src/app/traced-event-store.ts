import type { EventStore } from '../eventsourcing/eventstore/port.ts';
import { inSpan, SpanKind } from '../observability/tracing.ts';

/**
 * The same event store, with a client span around each append and read, so a trace shows where a
 * command's time went and which stream, revision and how many events each round trip carried.
 * Subscriptions are long-lived and get no span (the events they deliver carry their writer's
 * traceparent instead), nor do the `$all` reads of health and metrics, which would only add noise.
 */
export function tracedEventStore(store: EventStore, system: 'eventstoredb' | 'embedded'): EventStore {
  const common = { 'db.system': system };
  return {
    ...store,
    readStream: (stream, options) =>
      inSpan(
        `eventstore.read ${stream}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            ...common,
            'db.operation': 'read',
            'eventstore.stream': stream,
            ...(options?.fromRevision === undefined
              ? {}
              : { 'eventstore.from_revision': Number(options.fromRevision) }),
          },
        },
        async (span) => {
          const events = await store.readStream(stream, options);
          span.setAttribute('eventstore.event_count', events?.length ?? 0);
          const last = events?.at(-1);
          span.setAttribute('eventstore.revision', last === undefined ? -1 : Number(last.revision));
          return events;
        },
      ),
    appendToStream: (stream, events, expected) =>
      inSpan(
        `eventstore.append ${stream}`,
        {
          kind: SpanKind.CLIENT,
          attributes: {
            ...common,
            'db.operation': 'append',
            'eventstore.stream': stream,
            'eventstore.event_count': events.length,
            'eventstore.expected_revision': String(expected),
          },
        },
        async (span) => {
          const outcome = await store.appendToStream(stream, events, expected);
          span.setAttribute('eventstore.outcome', outcome.outcome);
          if (outcome.outcome === 'appended') {
            span.setAttribute('eventstore.revision', Number(outcome.nextRevision));
            span.setAttribute('eventstore.position', String(outcome.position.commit));
          } else {
            span.setAttribute('eventstore.actual_revision', String(outcome.actual));
          }
          return outcome;
        },
      ),
  };
}
