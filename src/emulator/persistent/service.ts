import type { IPersistentSubscriptionsServer } from '@eventstore/db-client/generated/persistent_grpc_pb.js';
import persistentPb from '@eventstore/db-client/generated/persistent_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import type { ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import type { FilterSpec } from '../filter.ts';
import { CallWriter } from '../grpc/call-writer.ts';
import { parseUuid, streamName } from '../grpc/convert.ts';
import { RequestError, type RpcError, rpcErrors } from '../grpc/errors.ts';
import {
  type ConsumerStrategy,
  type GroupSettings,
  type GroupSource,
  type StartFrom,
  sourceName,
  startFromText,
} from './definition.ts';
import type { Group, GroupClient, NackAction, PsReadResp } from './group.ts';
import { RequestStatistics } from './latency.ts';
import type { Outcome, PersistentSubscriptions } from './subscriptions.ts';

type CreateSettings =
  | InstanceType<typeof persistentPb.CreateReq.Settings>
  | InstanceType<typeof persistentPb.UpdateReq.Settings>;

const NAMED_STRATEGIES: Record<number, ConsumerStrategy> = {
  0: 'DispatchToSingle',
  1: 'RoundRobin',
  2: 'Pinned',
};
const TICKS_PER_MS = 10_000;

/** Settings as the server reads them: `consumer_strategy` wins when set, else the enum's name. */
function readSettings(
  settings: CreateSettings,
  startFrom: StartFrom,
  consumerStrategy: string,
): GroupSettings {
  const Settings = persistentPb.CreateReq.Settings;
  const messageTimeoutMs =
    settings.getMessageTimeoutCase() === Settings.MessageTimeoutCase.MESSAGE_TIMEOUT_MS
      ? settings.getMessageTimeoutMs()
      : settings.getMessageTimeoutCase() === Settings.MessageTimeoutCase.MESSAGE_TIMEOUT_TICKS
        ? Math.floor(Number(settings.getMessageTimeoutTicks()) / TICKS_PER_MS)
        : 0;
  const checkpointAfterMs =
    settings.getCheckpointAfterCase() === Settings.CheckpointAfterCase.CHECKPOINT_AFTER_MS
      ? settings.getCheckpointAfterMs()
      : settings.getCheckpointAfterCase() === Settings.CheckpointAfterCase.CHECKPOINT_AFTER_TICKS
        ? Math.floor(Number(settings.getCheckpointAfterTicks()) / TICKS_PER_MS)
        : 0;
  const strategy = (
    consumerStrategy !== ''
      ? consumerStrategy
      : (NAMED_STRATEGIES[settings.getNamedConsumerStrategy()] ?? String(settings.getNamedConsumerStrategy()))
  ) as ConsumerStrategy;
  return {
    resolveLinks: settings.getResolveLinks(),
    startFrom,
    extraStatistics: settings.getExtraStatistics(),
    messageTimeoutMs,
    maxRetryCount: settings.getMaxRetryCount(),
    liveBufferSize: settings.getLiveBufferSize(),
    historyBufferSize: settings.getHistoryBufferSize(),
    readBatchSize: settings.getReadBatchSize(),
    checkpointAfterMs,
    minCheckpointCount: settings.getMinCheckpointCount(),
    maxCheckpointCount: settings.getMaxCheckpointCount(),
    maxSubscriberCount: settings.getMaxSubscriberCount(),
    strategy,
  };
}

const MAX_LONG = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** A stream revision start; uint64 max (the client's END) means live. */
function revisionStart(text: string): StartFrom {
  const value = BigInt(text);
  if (value === UINT64_MAX) return { kind: 'end' };
  if (value > MAX_LONG) throw new RequestError(rpcErrors.unknown());
  return { kind: 'revision', revision: Number(value) };
}

type AllStart = {
  hasPosition(): boolean;
  getPosition(): { getCommitPosition(): string; getPreparePosition(): string } | undefined;
  hasStart(): boolean;
  hasEnd(): boolean;
};

function allStart(options: AllStart): StartFrom {
  if (options.hasStart()) return { kind: 'start' };
  if (options.hasEnd()) return { kind: 'end' };
  const position = options.getPosition();
  if (position === undefined)
    throw new RequestError(rpcErrors.invalidArgument("'None' is not a valid AllOptionOneofCase"));
  const commit = BigInt(position.getCommitPosition());
  const prepare = BigInt(position.getPreparePosition());
  if (commit === UINT64_MAX && prepare === UINT64_MAX) return { kind: 'end' };
  // The server's Position refuses these before anything else (an unhandled exception).
  if (commit < prepare || commit > MAX_LONG || prepare > MAX_LONG)
    throw new RequestError(rpcErrors.unknown());
  if (commit === 0n && prepare === 0n) return { kind: 'start' };
  return { kind: 'position', position: { commit: Number(commit), prepare: Number(prepare) } };
}

type StreamStart = {
  getStreamIdentifier(): InstanceType<typeof sharedPb.StreamIdentifier> | undefined;
  hasRevision(): boolean;
  getRevision(): string;
  hasStart(): boolean;
  hasEnd(): boolean;
};

function streamStart(options: StreamStart): StartFrom {
  if (options.hasStart()) return { kind: 'start' };
  if (options.hasEnd()) return { kind: 'end' };
  if (options.hasRevision()) return revisionStart(options.getRevision());
  throw new RequestError(rpcErrors.invalidArgument("'None' is not a valid RevisionOptionOneofCase"));
}

function filterOf(options: InstanceType<typeof persistentPb.CreateReq.AllOptions>): FilterSpec | undefined {
  if (!options.hasFilter()) return undefined;
  const filter = options.getFilter()!;
  if (filter.hasEventType()) {
    const expression = filter.getEventType()!;
    return { on: 'type', prefixes: expression.getPrefixList(), regex: expression.getRegex() || undefined };
  }
  if (filter.hasStreamIdentifier()) {
    const expression = filter.getStreamIdentifier()!;
    return { on: 'stream', prefixes: expression.getPrefixList(), regex: expression.getRegex() || undefined };
  }
  throw new RequestError(rpcErrors.invalidArgument('filter is not valid'));
}

type DefinitionRequest = {
  source: GroupSource;
  group: string;
  settings: GroupSettings;
};

function createDefinition(request: InstanceType<typeof persistentPb.CreateReq>): DefinitionRequest {
  const options = request.getOptions();
  if (options === undefined) throw new RequestError(rpcErrors.invalidArgument('options are required'));
  const settings = options.getSettings() ?? new persistentPb.CreateReq.Settings();
  const group = options.getGroupName();
  if (options.hasAll()) {
    const all = options.getAll()!;
    const filter = filterOf(all);
    if (filter?.regex !== undefined) {
      try {
        new RegExp(filter.regex);
      } catch (error) {
        throw new RequestError(rpcErrors.unknown(error instanceof Error ? error.message : String(error)));
      }
    }
    return {
      source: { kind: 'all', filter },
      group,
      settings: readSettings(settings, allStart(all), settings.getConsumerStrategy()),
    };
  }
  if (options.hasStream()) {
    const stream = options.getStream()!;
    return {
      source: { kind: 'stream', stream: streamName(stream.getStreamIdentifier()) },
      group,
      settings: readSettings(settings, streamStart(stream), settings.getConsumerStrategy()),
    };
  }
  // The form 6.x clients send: stream identifier beside the options, start in settings.revision.
  return {
    source: { kind: 'stream', stream: streamName(options.getStreamIdentifier()) },
    group,
    settings: readSettings(settings, revisionStart(settings.getRevision()), settings.getConsumerStrategy()),
  };
}

function updateDefinition(request: InstanceType<typeof persistentPb.UpdateReq>): DefinitionRequest {
  const options = request.getOptions();
  if (options === undefined) throw new RequestError(rpcErrors.invalidArgument('options are required'));
  const settings = options.getSettings() ?? new persistentPb.UpdateReq.Settings();
  const group = options.getGroupName();
  if (options.hasAll()) {
    return {
      source: { kind: 'all', filter: undefined },
      group,
      settings: readSettings(settings, allStart(options.getAll()!), ''),
    };
  }
  if (options.hasStream()) {
    const stream = options.getStream()!;
    return {
      source: { kind: 'stream', stream: streamName(stream.getStreamIdentifier()) },
      group,
      settings: readSettings(settings, streamStart(stream), ''),
    };
  }
  return {
    source: { kind: 'stream', stream: streamName(options.getStreamIdentifier()) },
    group,
    settings: readSettings(settings, revisionStart(settings.getRevision()), ''),
  };
}

type SourceOptions = {
  hasAll(): boolean;
  getStreamIdentifier(): InstanceType<typeof sharedPb.StreamIdentifier> | undefined;
};

function sourceOf(options: SourceOptions): GroupSource {
  return options.hasAll()
    ? { kind: 'all', filter: undefined }
    : { kind: 'stream', stream: streamName(options.getStreamIdentifier()) };
}

function asRpcError(error: unknown): RpcError {
  if (error instanceof RequestError) return error.rpc;
  return rpcErrors.unknown(error instanceof Error ? error.message : String(error));
}

function outcomeError(outcome: Outcome, stream: string, group: string): RpcError | undefined {
  switch (outcome.outcome) {
    case 'ok':
      return undefined;
    case 'exists':
      return rpcErrors.persistentSubscriptionExists(stream, group);
    case 'not_found':
      return rpcErrors.persistentSubscriptionDoesNotExist(stream, group);
    case 'failed':
      return rpcErrors.persistentSubscriptionFailed(stream, group, outcome.reason);
  }
}

/** Runs a unary handler; a thrown RequestError becomes its status, anything else UNKNOWN. */
function unary<Req, Res>(handler: (request: Req) => Promise<Res | RpcError>) {
  return (call: { request: Req }, callback: sendUnaryData<Res>) => {
    handler(call.request).then(
      (result) => {
        if (result !== null && typeof result === 'object' && 'code' in result && 'details' in result) {
          callback(result as RpcError);
        } else {
          callback(null, result as Res);
        }
      },
      (error: unknown) => callback(asRpcError(error)),
    );
  };
}

function subscriptionInfo(group: Group): InstanceType<typeof persistentPb.SubscriptionInfo> {
  const { source, settings } = group.definition;
  const stats = group.statistics();
  const position = (value: number | undefined) =>
    value === undefined ? '' : source.kind === 'all' ? `C:${value}/P:${value}` : String(value);
  const info = new persistentPb.SubscriptionInfo();
  info.setEventSource(sourceName(source));
  info.setGroupName(group.definition.group);
  info.setStatus(stats.status);
  info.setAveragePerSecond(0);
  info.setTotalItems(String(stats.totalItems));
  info.setCountSinceLastMeasurement('0');
  info.setLastCheckpointedEventPosition(position(stats.lastCheckpoint));
  info.setLastKnownEventPosition(position(stats.lastKnown));
  info.setResolveLinkTos(settings.resolveLinks);
  info.setStartFrom(startFromText(source, settings.startFrom));
  info.setMessageTimeoutMilliseconds(settings.messageTimeoutMs);
  info.setExtraStatistics(settings.extraStatistics);
  info.setMaxRetryCount(settings.maxRetryCount);
  info.setLiveBufferSize(settings.liveBufferSize);
  info.setBufferSize(settings.historyBufferSize);
  info.setReadBatchSize(settings.readBatchSize);
  info.setCheckPointAfterMilliseconds(settings.checkpointAfterMs);
  info.setMinCheckPointCount(settings.minCheckpointCount);
  info.setMaxCheckPointCount(settings.maxCheckpointCount);
  info.setReadBufferCount(stats.bufferCount);
  info.setLiveBufferCount('0');
  info.setRetryBufferCount(stats.retryCount);
  info.setTotalInFlightMessages(stats.outstanding);
  info.setOutstandingMessagesCount(stats.outstanding);
  info.setNamedConsumerStrategy(settings.strategy);
  info.setMaxSubscriberCount(settings.maxSubscriberCount);
  info.setParkedMessageCount(String(stats.parkedCount));
  info.setConnectionsList(
    group.clients.map((client) => {
      const connection = new persistentPb.SubscriptionInfo.ConnectionInfo();
      connection.setFrom(client.from);
      // An insecure node authenticates every call as its system account, whatever credentials
      // the client sends (PassthroughAuthenticationProvider).
      connection.setUsername(INSECURE_USER);
      connection.setAverageItemsPerSecond(0);
      connection.setTotalItems(String(client.totalItems));
      connection.setCountSinceLastMeasurement('0');
      connection.setAvailableSlots(client.maxInFlight - client.inFlight.size);
      connection.setInFlightMessages(client.inFlight.size);
      connection.setConnectionName(client.connectionName);
      for (const [key, value] of client.latency?.report() ?? []) {
        const measurement = new persistentPb.SubscriptionInfo.Measurement();
        measurement.setKey(key);
        measurement.setValue(String(value));
        connection.addObservedMeasurements(measurement);
      }
      return connection;
    }),
  );
  return info;
}

/** The user name a connection reports: an insecure node's system account. */
const INSECURE_USER = 'system';

/** Acks and nacks end the round trips of the connection they arrive on (the server's RemoveFromProcessing). */
function measureRoundTrips(client: GroupClient | undefined, messageIds: readonly string[]): void {
  const latency = client?.latency;
  if (latency === undefined) return;
  const now = performance.now();
  for (const id of messageIds) latency.end(id, now);
}

let nextClientId = 1;

/** The `PersistentSubscriptions` service. */
export function createPersistentSubscriptionsService(
  subscriptions: PersistentSubscriptions,
): IPersistentSubscriptionsServer {
  return {
    create: unary(async (request: InstanceType<typeof persistentPb.CreateReq>) => {
      const { source, group, settings } = createDefinition(request);
      const outcome = await subscriptions.create({ source, group, settings });
      return outcomeError(outcome, sourceName(source), group) ?? new persistentPb.CreateResp();
    }),

    update: unary(async (request: InstanceType<typeof persistentPb.UpdateReq>) => {
      const { source, group, settings } = updateDefinition(request);
      const outcome = await subscriptions.update({ source, group, settings });
      return outcomeError(outcome, sourceName(source), group) ?? new persistentPb.UpdateResp();
    }),

    delete: unary(async (request: InstanceType<typeof persistentPb.DeleteReq>) => {
      const options = request.getOptions();
      if (options === undefined) throw new RequestError(rpcErrors.invalidArgument('options are required'));
      const source = sourceOf(options);
      const outcome = await subscriptions.delete(source, options.getGroupName());
      return (
        outcomeError(outcome, sourceName(source), options.getGroupName()) ?? new persistentPb.DeleteResp()
      );
    }),

    getInfo: unary(async (request: InstanceType<typeof persistentPb.GetInfoReq>) => {
      const options = request.getOptions();
      if (options === undefined) throw new RequestError(rpcErrors.invalidArgument('options are required'));
      const source = sourceOf(options);
      const group = subscriptions.get(source, options.getGroupName());
      if (group === undefined)
        return rpcErrors.persistentSubscriptionDoesNotExist(sourceName(source), options.getGroupName());
      const response = new persistentPb.GetInfoResp();
      response.setSubscriptionInfo(subscriptionInfo(group));
      return response;
    }),

    list: unary(async (request: InstanceType<typeof persistentPb.ListReq>) => {
      const options = request.getOptions();
      let source: GroupSource | undefined;
      if (options?.hasListForStream()) {
        const forStream = options.getListForStream()!;
        source = forStream.hasAll()
          ? { kind: 'all', filter: undefined }
          : { kind: 'stream', stream: streamName(forStream.getStream()) };
      }
      const groups = subscriptions.list(source);
      // Listing a source with no group is "does not exist" on the server (with an empty group name).
      if (source !== undefined && groups.length === 0)
        return rpcErrors.persistentSubscriptionDoesNotExist(sourceName(source), '');
      const response = new persistentPb.ListResp();
      response.setSubscriptionsList(groups.map(subscriptionInfo));
      return response;
    }),

    replayParked: unary(async (request: InstanceType<typeof persistentPb.ReplayParkedReq>) => {
      const options = request.getOptions();
      if (options === undefined) throw new RequestError(rpcErrors.invalidArgument('options are required'));
      const source = sourceOf(options);
      const group = subscriptions.get(source, options.getGroupName());
      if (group === undefined)
        return rpcErrors.persistentSubscriptionDoesNotExist(sourceName(source), options.getGroupName());
      group.replayParked(options.hasStopAt() ? Number(options.getStopAt()) : undefined);
      return new persistentPb.ReplayParkedResp();
    }),

    restartSubsystem: unary(async () => {
      await subscriptions.restart();
      return new sharedPb.Empty();
    }),

    read(call) {
      const writer = new CallWriter<PsReadResp>(call as unknown as ServerWritableStream<unknown, PsReadResp>);
      let client: GroupClient | undefined;
      let group: Group | undefined;
      call.on('data', (request: InstanceType<typeof persistentPb.ReadReq>) => {
        try {
          if (client === undefined) {
            if (group !== undefined || writer.closed) return;
            const options = request.getOptions();
            if (options === undefined) throw new RequestError(rpcErrors.unknown());
            const source = sourceOf(options);
            const name = options.getGroupName();
            const found = subscriptions.get(source, name);
            if (found === undefined) {
              writer.fail(rpcErrors.persistentSubscriptionDoesNotExist(sourceName(source), name));
              return;
            }
            if (found.full) {
              writer.fail(rpcErrors.maximumSubscribersReached(sourceName(source), name));
              return;
            }
            group = found;
            const confirmation = new persistentPb.ReadResp();
            const confirmed = new persistentPb.ReadResp.SubscriptionConfirmation();
            confirmed.setSubscriptionId(found.key);
            confirmation.setSubscriptionConfirmation(confirmed);
            void writer.send(confirmation);
            client = {
              id: nextClientId++,
              writer,
              maxInFlight: options.getBufferSize(),
              inFlight: new Map(),
              connectionName: call.metadata.get('connection-name')[0]?.toString() ?? '<unknown>',
              from: call.getPeer(),
              totalItems: 0,
              structuredIds: options.getUuidOption()?.hasStructured() ?? false,
              latency: found.definition.settings.extraStatistics ? new RequestStatistics() : undefined,
            };
            const joined = client;
            const joinedGroup = found;
            writer.onClose(() => joinedGroup.removeClient(joined));
            found.addClient(client);
            return;
          }
          if (group === undefined) return;
          if (request.hasAck()) {
            const acked = ids(request.getAck()!.getIdsList());
            measureRoundTrips(client, acked);
            group.ack(acked);
          } else if (request.hasNack()) {
            const nack = request.getNack()!;
            const nacked = ids(nack.getIdsList());
            measureRoundTrips(client, nacked);
            group.nack(nacked, nackAction(nack.getAction()), nack.getReason());
          }
        } catch (error) {
          writer.fail(asRpcError(error));
        }
      });
      call.on('end', () => writer.end());
    },
  };
}

function ids(list: InstanceType<typeof sharedPb.UUID>[]): string[] {
  const result: string[] = [];
  for (const uuid of list) {
    const bytes = parseUuid(uuid);
    // The server parses every id; one it cannot parse is an unhandled exception there.
    if (bytes === undefined) throw new RequestError(rpcErrors.unknown());
    result.push(bytes.toString('hex'));
  }
  return result;
}

function nackAction(action: number): NackAction {
  const Action = persistentPb.ReadReq.Nack.Action;
  switch (action) {
    case Action.PARK:
      return 'park';
    case Action.RETRY:
      return 'retry';
    case Action.SKIP:
      return 'skip';
    case Action.STOP:
      return 'stop';
    default:
      return 'unknown';
  }
}
