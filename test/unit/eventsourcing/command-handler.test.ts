import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { commandHandlerSuite } from '../../support/eventsourcing-command-suite.ts';

commandHandlerSuite('in-memory event store', async () => createInMemoryEventStore());
