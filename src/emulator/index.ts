import type { LogLogger } from './log/storage.ts';
import { startEmulatorServer } from './server.ts';
import type { EmulatorStore } from './store.ts';

export { createFilter, type EventFilter } from './filter.ts';
export { LogCorruptError } from './log/recovery.ts';
export type { LogLogger } from './log/storage.ts';
export type { AllPosition as EmulatorAllPosition } from './positions.ts';
export {
  EmulatorStore,
  type ExpectedRevision as EmulatorExpectedRevision,
  type ProposedEvent,
  type StoredEvent as EmulatorEvent,
  TOMBSTONE_REVISION,
  type WriteResult,
} from './store.ts';

export type EmulatorOptions = {
  host?: string;
  /** 0 = a free port. */
  port?: number;
  /** Absent = memory only (nothing touches disk). */
  dataDir?: string;
  /** Whether each write is fsynced before it is acknowledged; default 'always'. */
  fsync?: 'always' | 'never';
  /**
   * Default true: appends arriving together share one write and one fsync, each acknowledged once
   * the sync covering it returned. False syncs every append on its own (for comparisons).
   */
  groupCommit?: boolean;
  /** Receives what opening the log found: frames and events recovered, a torn tail cut. */
  logger?: LogLogger;
  /** Largest append in bytes (a node's `MaxAppendSize`); default 1 MiB. */
  maxAppendSize?: number;
};

export type RunningEmulator = {
  host: string;
  port: number;
  /** `esdb://host:port?tls=false` */
  connectionString: string;
  /**
   * The log and index the server serves, for a client in this same process
   * (`createInProcessEventStore`): what it appends, gRPC clients read, and the other way round.
   */
  store: EmulatorStore;
  close(): Promise<void>;
};

/**
 * Starts an EventStoreDB-compatible gRPC server (single insecure node) in this process.
 * Resolves once it accepts connections. With `dataDir`, every acknowledged write is on disk
 * (fsynced unless `fsync: 'never'`) and a restart on the same directory recovers it. A log with a
 * damaged frame followed by intact ones is not opened: this rejects with `LogCorruptError`
 * (code `eventstore.log_corrupt`), whose message names the offset and the repair command.
 * `close()` ends every call as a stopping node does (BatchAppend calls with CANCELLED, the
 * connections of all others dropped) and releases the log; it is idempotent.
 */
export async function startEmulator(options: EmulatorOptions = {}): Promise<RunningEmulator> {
  const host = options.host ?? '127.0.0.1';
  const serverOptions: Parameters<typeof startEmulatorServer>[0] = { host, port: options.port ?? 0 };
  if (options.dataDir !== undefined) serverOptions.dataDir = options.dataDir;
  if (options.fsync !== undefined) serverOptions.fsync = options.fsync;
  if (options.groupCommit !== undefined) serverOptions.groupCommit = options.groupCommit;
  if (options.logger !== undefined) serverOptions.logger = options.logger;
  if (options.maxAppendSize !== undefined) serverOptions.maxAppendSize = options.maxAppendSize;
  const server = await startEmulatorServer(serverOptions);
  return {
    host,
    port: server.port,
    connectionString: `esdb://${host}:${server.port}?tls=false`,
    store: server.store,
    close: () => server.close(),
  };
}
