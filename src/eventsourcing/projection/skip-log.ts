import { deterministicEventId } from '../eventstore/event-ids.ts';
import type { EventStore } from '../eventstore/port.ts';
import type { ReadStore, SkippedEvent } from '../readstore/port.ts';

/**
 * Where operators' decisions to skip an event are kept. The projector consults it whenever it
 * (re)starts a projection, rebuilds included, so a skip must outlive the process.
 */
export type SkipLog = {
  record(projection: string, skipped: SkippedEvent): Promise<void>;
  list(projection: string): Promise<SkippedEvent[]>;
};

/** Skips kept beside the read models: durable only when the read store is. */
export const readStoreSkipLog = (readStore: ReadStore): SkipLog => ({
  record: (projection, skipped) => readStore.recordSkip(projection, skipped),
  list: (projection) => readStore.skips(projection),
});

type SkipData = {
  projection: string;
  event_id: string;
  commit: string;
  prepare: string;
  stream_id: string;
  type: string;
  reason: string;
  operator: string;
  at: string;
};

/**
 * Skips as events in one stream of the event store: durable in every mode (in-memory read
 * models included, which are rebuilt at every start), and an audit trail of who skipped what
 * and why. Recording the same skip twice writes one event (its id derives from the decision).
 */
export function eventStoreSkipLog(eventStore: EventStore, stream = 'projection-skips'): SkipLog {
  return {
    async record(projection, skipped) {
      const data: SkipData = {
        projection,
        event_id: skipped.eventId,
        commit: skipped.position.commit.toString(),
        prepare: skipped.position.prepare.toString(),
        stream_id: skipped.streamId,
        type: skipped.type,
        reason: skipped.reason,
        operator: skipped.operator,
        at: skipped.at.toISOString(),
      };
      await eventStore.appendToStream(
        stream,
        [
          {
            id: deterministicEventId(stream, `${projection}:${skipped.eventId}`, 0),
            type: 'ProjectionEventSkipped',
            data,
            metadata: {},
          },
        ],
        'any',
      );
    },
    async list(projection) {
      const events = (await eventStore.readStream(stream)) ?? [];
      return events
        .filter((event) => event.type === 'ProjectionEventSkipped')
        .map((event) => event.data as SkipData)
        .filter((data) => data.projection === projection)
        .map((data) => ({
          eventId: data.event_id,
          position: { commit: BigInt(data.commit), prepare: BigInt(data.prepare) },
          streamId: data.stream_id,
          type: data.type,
          reason: data.reason,
          operator: data.operator,
          at: new Date(data.at),
        }));
    },
  };
}
