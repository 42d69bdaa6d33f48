import { randomBytes, randomUUID } from 'node:crypto';
import type { Http2Session, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import persistentGrpc from '@eventstore/db-client/generated/persistent_grpc_pb.js';
import featuresGrpc from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import { Server, ServerCredentials, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { type AdvertisedMethod, createServerFeaturesService } from './grpc/features.ts';
import { createStreamsService } from './grpc/streams.ts';
import { decodeBatchAppendRequest } from './grpc/wire.ts';
import type { FsyncPolicy, LogFileSystem, LogLogger } from './log/storage.ts';
import { createPersistentSubscriptionsService } from './persistent/service.ts';
import { PersistentSubscriptions } from './persistent/subscriptions.ts';
import { EmulatorStore, type StoreOptions } from './store.ts';

export type EmulatorServerOptions = {
  host: string;
  port: number;
  dataDir?: string;
  fsync?: FsyncPolicy;
  /** Receives what opening the log found (frames recovered, a torn tail cut). */
  logger?: LogLogger;
  /** The log's write, sync and directory-sync operations (tests watch their order). */
  fileSystem?: LogFileSystem;
  /** Appends arriving together share one write and one sync (default true); false for comparisons. */
  groupCommit?: boolean;
  /**
   * Advertise BatchAppend in ServerFeatures (default true). Off, the client falls back to the
   * Append call, which lets tests cover both write paths.
   */
  advertiseBatchAppend?: boolean;
  /** Largest append in bytes (a node's `MaxAppendSize`); default 1 MiB. */
  maxAppendSize?: number;
};

export type EmulatorServer = {
  host: string;
  port: number;
  store: EmulatorStore;
  /** How many calls each gRPC method received, by path (lets tests see which write path the client took). */
  calls: ReadonlyMap<string, number>;
  close(): Promise<void>;
};

type MethodDefinition = { path: string; responseSerialize: (value: never) => Buffer };

/**
 * The generated service definition, except that `read` also takes responses already encoded to
 * wire bytes (the hot path: see grpc/wire.ts); generated messages still serialize as before.
 */
function acceptingEncodedReads<T extends Record<string, MethodDefinition>>(definition: T): T {
  const read = definition.read!;
  const serialize = read.responseSerialize as (value: unknown) => Buffer;
  return {
    ...definition,
    read: {
      ...read,
      responseSerialize: (value: unknown) => (Buffer.isBuffer(value) ? value : serialize(value)),
    },
  };
}

/** The Streams definition, with BatchAppend requests decoded by hand (the write hot path). */
function streamsDefinition(): typeof streamsGrpc.StreamsService {
  const definition = acceptingEncodedReads(streamsGrpc.StreamsService);
  return {
    ...definition,
    batchAppend: { ...definition.batchAppend, requestDeserialize: decodeBatchAppendRequest as never },
  };
}

/** HTTP/2 receive windows a real node (Kestrel defaults) advertises: 1 MiB per connection, 768 KiB per call. */
const CONNECTION_WINDOW = 1024 * 1024;
const STREAM_WINDOW = 768 * 1024;

type Http2Internals = {
  commonServerOptions?: { settings?: Record<string, unknown> };
  http2Servers?: Map<
    {
      on(event: 'session', listener: (session: Http2Session) => void): void;
      on(event: 'connection', listener: (socket: unknown) => void): void;
      on(event: 'stream', listener: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => void): void;
    },
    unknown
  >;
};

/**
 * grpc-js leaves Node's 64 KiB HTTP/2 windows in place, which throttles large appends to one
 * window per round trip. The windows are not among its options, so this reaches into two of its
 * fields (pinned grpc-js version); if they are missing, the server still works, only slower.
 */
function widenWindowsBeforeBind(server: Server): void {
  const internals = server as unknown as Http2Internals;
  if (internals.commonServerOptions === undefined) return;
  internals.commonServerOptions.settings = {
    ...internals.commonServerOptions.settings,
    initialWindowSize: STREAM_WINDOW,
  };
}

/** What shutdown needs to see: the accepted sockets, and the HTTP/2 streams of BatchAppend calls. */
type Connections = { sockets: Set<Socket>; batchStreams: Set<ServerHttp2Stream> };

const BATCH_APPEND_PATH = streamsGrpc.StreamsService.batchAppend.path;

function widenWindowsAfterBind(server: Server, { sockets, batchStreams }: Connections): void {
  const internals = server as unknown as Http2Internals;
  for (const http2Server of internals.http2Servers?.keys() ?? []) {
    http2Server.on('stream', (stream, headers) => {
      if (headers[':path'] !== BATCH_APPEND_PATH) return;
      batchStreams.add(stream);
      stream.once('close', () => batchStreams.delete(stream));
    });
    http2Server.on('session', (session) => session.setLocalWindowSize(CONNECTION_WINDOW));
    http2Server.on('connection', (accepted) => {
      const socket = accepted as Socket;
      // Small replies must not wait for Nagle's algorithm (tens of ms against delayed ACKs).
      socket.setNoDelay(true);
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
  }
}

/** Largest message the server accepts (16 MiB less a margin, as a default node). */
const MAX_RECEIVE_MESSAGE = 16 * 1024 * 1024 - 10_000;

function methodPaths(
  service: Record<string, { path: string }>,
  features: readonly string[],
): AdvertisedMethod[] {
  return Object.values(service).map((method) => ({ path: method.path, features }));
}

/**
 * System events a real node writes on its own, so that unfiltered `$all` readers meet them here
 * too: an epoch record on every start, default settings on a new database.
 */
async function writeStartupEvents(store: EmulatorStore): Promise<void> {
  const json = (type: string, body: unknown) => ({
    id: randomBytes(16),
    type,
    isJson: true,
    data: Buffer.from(JSON.stringify(body)),
    metadata: new Uint8Array(0),
  });
  const epochNumber = store.lastRevision('$epoch-information') + 1;
  await store.append('$epoch-information', 'any', [
    json('$epoch-information', {
      epochNumber,
      epochId: randomUUID(),
      epochPosition: store.headPosition,
      leaderInstanceId: randomUUID(),
      time: new Date().toISOString(),
    }),
  ]);
  if (store.lastRevision('$settings') < 0) {
    const everyone = { $r: '$all', $w: '$all', $d: '$all', $mr: '$all', $mw: '$all' };
    const admins = { $r: '$admins', $w: '$admins', $d: '$admins', $mr: '$admins', $mw: '$admins' };
    await store.append('$settings', 'no_stream', [
      json('$settings', { $userStreamAcl: everyone, $systemStreamAcl: admins }),
    ]);
  }
}

/** How long a stopping server waits for a client to close its end before resetting the connection. */
const CLOSE_GRACE_MS = 2000;

/** Resolves when `closable` closes, or gives up on it after `CLOSE_GRACE_MS` and destroys it. */
function closed(closable: {
  destroyed: boolean;
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}) {
  return new Promise<void>((resolve) => {
    if (closable.destroyed) return resolve();
    const timer = setTimeout(() => closable.destroy(), CLOSE_GRACE_MS);
    closable.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/**
 * Stops as a node does: BatchAppend calls end with CANCELLED, then every connection is ended from
 * this side, so whatever else is in flight (a classic Append, reads, subscriptions) sees its
 * connection drop (UNAVAILABLE). Each step waits for the client: a BatchAppend stream closes once
 * the client has its status, a socket once the client has closed its end (a reset while requests
 * are still unread would make the client's kernel discard the statuses sent before it).
 */
async function stopCalls(
  { sockets, batchStreams }: Connections,
  cancelBatchAppends: () => void,
): Promise<void> {
  const streams = [...batchStreams];
  cancelBatchAppends();
  await Promise.all(streams.map(closed));
  await Promise.all(
    [...sockets].map((socket) => {
      const done = closed(socket);
      socket.end();
      return done;
    }),
  );
}

/** Opens the log, builds the services, and listens. */
export async function startEmulatorServer(options: EmulatorServerOptions): Promise<EmulatorServer> {
  const storeOptions: StoreOptions = {};
  if (options.dataDir !== undefined) storeOptions.dataDir = options.dataDir;
  if (options.fsync !== undefined) storeOptions.fsync = options.fsync;
  if (options.logger !== undefined) storeOptions.logger = options.logger;
  if (options.fileSystem !== undefined) storeOptions.fileSystem = options.fileSystem;
  if (options.groupCommit !== undefined) storeOptions.groupCommit = options.groupCommit;
  const store = new EmulatorStore(storeOptions);
  await writeStartupEvents(store);
  const persistent = new PersistentSubscriptions(store);
  await persistent.load();

  const server = new Server({ 'grpc.max_receive_message_length': MAX_RECEIVE_MESSAGE });
  const calls = new Map<string, number>();
  const counted = <T extends object>(definition: Record<string, { path: string }>, implementation: T): T => {
    const wrapped: Record<string, unknown> = {};
    for (const [name, handler] of Object.entries(implementation)) {
      const path = definition[name]?.path ?? name;
      wrapped[name] = (...args: unknown[]) => {
        calls.set(path, (calls.get(path) ?? 0) + 1);
        return (handler as (...rest: unknown[]) => unknown)(...args);
      };
    }
    return wrapped as T;
  };
  const { cancelBatchAppends, ...streams } = createStreamsService(
    options.maxAppendSize === undefined ? { store } : { store, maxAppendSize: options.maxAppendSize },
  );
  server.addService(streamsDefinition(), counted(streamsGrpc.StreamsService, streams));
  const persistentService = createPersistentSubscriptionsService(persistent);
  server.addService(
    acceptingEncodedReads(persistentGrpc.PersistentSubscriptionsService),
    counted(persistentGrpc.PersistentSubscriptionsService, persistentService) as UntypedServiceImplementation,
  );

  const streamMethods = methodPaths(streamsGrpc.StreamsService, []).filter(
    (method) => options.advertiseBatchAppend !== false || !method.path.endsWith('/BatchAppend'),
  );
  for (const method of streamMethods) {
    if (method.path.endsWith('/Read')) method.features = ['position', 'events'];
    if (method.path.endsWith('/BatchAppend')) method.features = ['deadline_duration'];
  }
  const advertised = [
    ...streamMethods,
    ...Object.entries(persistentGrpc.PersistentSubscriptionsService)
      .filter(([name]) => name in persistentService)
      .map(([, method]) => ({ path: method.path, features: ['stream', 'all'] })),
    ...methodPaths(featuresGrpc.ServerFeaturesService, []),
  ];
  server.addService(featuresGrpc.ServerFeaturesService, createServerFeaturesService(advertised));

  widenWindowsBeforeBind(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    );
  });
  const connections: Connections = { sockets: new Set(), batchStreams: new Set() };
  widenWindowsAfterBind(server, connections);

  let closing: Promise<void> | undefined;
  return {
    host: options.host,
    port,
    store,
    calls,
    close() {
      closing ??= (async () => {
        persistent.stop();
        await stopCalls(connections, cancelBatchAppends);
        server.forceShutdown();
        await store.close();
      })();
      return closing;
    },
  };
}
