import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { commandHandlerSuite } from '../../support/eventsourcing-command-suite.ts';

// The same behaviour with the state cache off, and with a cache so small that it keeps one stream.
commandHandlerSuite('in-memory event store, cache off', async () => createInMemoryEventStore(), {
  cache: false,
});
commandHandlerSuite('in-memory event store, one-entry cache', async () => createInMemoryEventStore(), {
  cache: { maxEntries: 1 },
});
