import type { EventStore } from '../../src/eventsourcing/eventstore/port.ts';
import { createInMemoryEventStore } from '../../src/eventsourcing/testing/in-memory-event-store.ts';

/** The in-memory event store, counting the stream reads and appends made through it. */
export function countingEventStore() {
  const inner = createInMemoryEventStore();
  const calls = { reads: 0, appends: 0 };
  const store: EventStore = {
    ...inner,
    readStream: (stream, options) => {
      calls.reads++;
      return inner.readStream(stream, options);
    },
    appendToStream: (stream, events, expected) => {
      calls.appends++;
      return inner.appendToStream(stream, events, expected);
    },
  };
  return { store, calls };
}
