import { EventStoreDBClient } from '@eventstore/db-client';
import { type EmulatorOptions, startEmulator } from '../../src/emulator/index.ts';
import { startEmulatorServer } from '../../src/emulator/server.ts';

export type TestEmulator = {
  client: EventStoreDBClient;
  connectionString: string;
  /** Disposes the client, then stops the emulator. */
  close(): Promise<void>;
};

/**
 * Starts an in-memory emulator on a free loopback port and connects a real client to it.
 * `writePath: 'append'` starts a variant that does not advertise BatchAppend, so the client
 * uses the older Append call (the default is BatchAppend, as against a real node).
 */
export async function withEmulator(
  options: EmulatorOptions & { writePath?: 'batch' | 'append' } = {},
): Promise<TestEmulator> {
  const { writePath = 'batch', ...emulatorOptions } = options;
  let connectionString: string;
  let stop: () => Promise<void>;
  if (writePath === 'append') {
    const serverOptions: Parameters<typeof startEmulatorServer>[0] = {
      host: emulatorOptions.host ?? '127.0.0.1',
      port: emulatorOptions.port ?? 0,
      advertiseBatchAppend: false,
    };
    if (emulatorOptions.dataDir !== undefined) serverOptions.dataDir = emulatorOptions.dataDir;
    if (emulatorOptions.fsync !== undefined) serverOptions.fsync = emulatorOptions.fsync;
    const server = await startEmulatorServer(serverOptions);
    connectionString = `esdb://${server.host}:${server.port}?tls=false`;
    stop = () => server.close();
  } else {
    const emulator = await startEmulator(emulatorOptions);
    connectionString = emulator.connectionString;
    stop = () => emulator.close();
  }
  const client = EventStoreDBClient.connectionString(connectionString);
  return {
    client,
    connectionString,
    async close() {
      await client.dispose();
      await stop();
    },
  };
}
