import { createInMemoryReadStore } from '../../../src/eventsourcing/readstore/memory.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { projectorSuite } from '../../support/eventsourcing-projector-suite.ts';

projectorSuite('in-memory event store and read store', {
  eventStore: async () => createInMemoryEventStore(),
  readStore: async () => createInMemoryReadStore(),
});
