import { after, before } from 'node:test';
import { startEmulator } from '../../../src/emulator/index.ts';
import { createInProcessEventStore } from '../../../src/eventsourcing/eventstore/in-process.ts';
import type { EventStore } from '../../../src/eventsourcing/eventstore/port.ts';
import { createInMemoryReadStore } from '../../../src/eventsourcing/readstore/memory.ts';
import { projectorSuite } from '../../support/eventsourcing-projector-suite.ts';
import { mongoReadStore } from '../../support/readstore-mongo.ts';

let emulator: Awaited<ReturnType<typeof startEmulator>>;
let store: EventStore;
before(async () => {
  emulator = await startEmulator({ port: 0 });
  store = createInProcessEventStore(emulator);
});
after(async () => {
  await store.close();
  await emulator.close();
});

projectorSuite('in-process adapter on the embedded emulator → in-memory read store', {
  eventStore: async () => store,
  readStore: async () => createInMemoryReadStore(),
});

projectorSuite('in-process adapter on the embedded emulator → MongoDB read store (FerretDB)', {
  eventStore: async () => store,
  readStore: (t) => mongoReadStore(t),
});
