import { after, before } from 'node:test';
import { startEmulator } from '../../../src/emulator/index.ts';
import { createEsdbEventStore } from '../../../src/eventsourcing/eventstore/esdb.ts';
import type { EventStore } from '../../../src/eventsourcing/eventstore/port.ts';
import { commandHandlerSuite } from '../../support/eventsourcing-command-suite.ts';

let emulator: Awaited<ReturnType<typeof startEmulator>>;
let store: EventStore;
before(async () => {
  emulator = await startEmulator({ port: 0 });
  store = createEsdbEventStore({ connectionString: emulator.connectionString });
});
after(async () => {
  await store.close();
  await emulator.close();
});

commandHandlerSuite('EventStoreDB adapter on the emulator', async () => store);
