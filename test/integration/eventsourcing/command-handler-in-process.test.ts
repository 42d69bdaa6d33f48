import { after, before } from 'node:test';
import { startEmulator } from '../../../src/emulator/index.ts';
import { createInProcessEventStore } from '../../../src/eventsourcing/eventstore/in-process.ts';
import type { EventStore } from '../../../src/eventsourcing/eventstore/port.ts';
import { commandHandlerSuite } from '../../support/eventsourcing-command-suite.ts';

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

commandHandlerSuite('in-process adapter on the embedded emulator', async () => store);
