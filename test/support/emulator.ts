import { EventStoreDBClient } from '@eventstore/db-client';
import type { EmulatorOptions } from '../../src/emulator/index.ts';
import { type EmulatorServer, startEmulatorServer } from '../../src/emulator/server.ts';

export type TestEmulator = {
  client: EventStoreDBClient;
  connectionString: string;
  /** The running server, for tests that look at what it received. */
  server: EmulatorServer;
  /** Disposes the client, then stops the emulator. */
  close(): Promise<void>;
};

/**
 * Starts an in-memory emulator on a free loopback port and connects a real client to it.
 * `writePath: 'append'` starts a variant that does not advertise BatchAppend, so the client
 * falls back to the older Append call (the default, 'batch', is what a real node gets).
 */
export async function withEmulator(
  options: EmulatorOptions & { writePath?: 'batch' | 'append' } = {},
): Promise<TestEmulator> {
  const { writePath = 'batch', ...emulatorOptions } = options;
  const serverOptions: Parameters<typeof startEmulatorServer>[0] = {
    host: emulatorOptions.host ?? '127.0.0.1',
    port: emulatorOptions.port ?? 0,
    advertiseBatchAppend: writePath === 'batch',
  };
  if (emulatorOptions.dataDir !== undefined) serverOptions.dataDir = emulatorOptions.dataDir;
  if (emulatorOptions.fsync !== undefined) serverOptions.fsync = emulatorOptions.fsync;
  const server = await startEmulatorServer(serverOptions);
  const connectionString = `esdb://${server.host}:${server.port}?tls=false`;
  const client = EventStoreDBClient.connectionString(connectionString);
  return {
    client,
    connectionString,
    server,
    async close() {
      await client.dispose();
      await server.close();
    },
  };
}
