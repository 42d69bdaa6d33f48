import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import statusPb from '@eventstore/db-client/generated/status_pb.js';
import type { IStreamsServer } from '@eventstore/db-client/generated/streams_grpc_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type { ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import anyPb from 'google-protobuf/google/protobuf/any_pb.js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import { createFilter, type EventFilter } from '../filter.ts';
import type { AllPosition } from '../positions.ts';
import type { EmulatorStore, ExpectedRevision, ProposedEvent, WriteResult } from '../store.ts';
import { READ_BATCH_SIZE, type ReadResp, subscribeToAll, subscribeToStream } from '../subscriptions.ts';
import { CallWriter } from './call-writer.ts';
import {
  parseRevision,
  parseUuid,
  parseWireUuid,
  streamIdentifier,
  streamName,
  UINT64_MAX,
  wireUuidMessage,
} from './convert.ts';
import { MAX_APPEND_SIZE, RequestError, type RpcError, rpcErrors, WRITE_TIMEOUT_MS } from './errors.ts';
import { readEventResponse, resolve } from './events.ts';
import type { WireBatchAppendRequest, WireProposedMessage, WireUuid } from './wire.ts';

type ReadReq = InstanceType<typeof streamsPb.ReadReq>;
type ReadOptions = InstanceType<typeof streamsPb.ReadReq.Options>;
type ProposedMessage =
  | InstanceType<typeof streamsPb.AppendReq.ProposedMessage>
  | InstanceType<typeof streamsPb.BatchAppendReq.ProposedMessage>;

const Revision = streamsPb.AppendReq.Options.ExpectedStreamRevisionCase;
const ReadOptionsCases = streamsPb.ReadReq.Options;

/** Long form of an expected revision, as delete/tombstone trailers carry it. */
function expectedLong(expected: ExpectedRevision): string {
  if (expected === 'any') return '-2';
  if (expected === 'no_stream') return '-1';
  if (expected === 'stream_exists') return '-4';
  return expected.toString();
}

/** A proposed event from either write call, before validation. */
type Incoming = {
  /** Parsed id, or undefined when it does not parse. */
  id: Buffer | undefined;
  metadata: { get(key: string): string | undefined };
  data: Uint8Array;
  customMetadata: Uint8Array;
};

function fromAppendMessage(message: ProposedMessage): Incoming {
  return {
    id: parseUuid(message.getId()),
    metadata: message.getMetadataMap(),
    data: message.getData_asU8(),
    customMetadata: message.getCustomMetadata_asU8(),
  };
}

function fromWireMessage(message: WireProposedMessage): Incoming {
  return {
    id: parseWireUuid(message.id),
    metadata: message.metadata,
    data: message.data,
    customMetadata: message.customMetadata,
  };
}

/** Checks one proposed event as the server does, in the same order; throws a RequestError. */
function proposedEvent(message: Incoming, badRequest: (details: string) => RpcError): ProposedEvent {
  const type = message.metadata.get('type');
  const contentType = message.metadata.get('content-type');
  if (type === undefined) throw new RequestError(rpcErrors.requiredMetadataMissing('type'));
  if (contentType === undefined) throw new RequestError(rpcErrors.requiredMetadataMissing('content-type'));
  const id = message.id;
  if (id === undefined) throw new RequestError(badRequest('Unrecognized Guid format.'));
  if (id.every((byte) => byte === 0)) throw new RequestError(badRequest('Empty eventId provided.'));
  if (type === '') throw new RequestError(badRequest('Empty eventType provided.'));
  return {
    id,
    type,
    isJson: contentType === 'application/json',
    data: message.data,
    metadata: message.customMetadata,
  };
}

/** Size the server counts against the append limit: data + metadata + 2 bytes per type character. */
function eventSize(message: Incoming): number {
  return (
    message.data.length + message.customMetadata.length + 2 * (message.metadata.get('type')?.length ?? 0)
  );
}

function identifierOf(stream: Buffer): InstanceType<typeof sharedPb.StreamIdentifier> {
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(stream);
  return identifier;
}

function appendSuccess(result: Extract<WriteResult, { outcome: 'ok' }>) {
  const success = new streamsPb.AppendResp.Success();
  if (result.revision < 0) success.setNoStream(new sharedPb.Empty());
  else success.setCurrentRevision(String(result.revision));
  const position = new streamsPb.AppendResp.Position();
  position.setCommitPosition(String(result.position));
  position.setPreparePosition(String(result.position));
  success.setPosition(position);
  const response = new streamsPb.AppendResp();
  response.setSuccess(success);
  return response;
}

/** Append's wrong-expected-version answer: an OK status carrying the versions in the body. */
function appendWrongExpectedVersion(expected: ExpectedRevision, current: number) {
  const wrong = new streamsPb.AppendResp.WrongExpectedVersion();
  const empty = () => new sharedPb.Empty();
  if (expected === 'any') {
    wrong.setExpectedAny(empty());
    wrong.setAny2060(empty());
  } else if (expected === 'stream_exists') {
    wrong.setExpectedStreamExists(empty());
    wrong.setStreamExists2060(empty());
  } else if (expected === 'no_stream') {
    wrong.setExpectedNoStream(empty());
  } else {
    wrong.setExpectedRevision(expected.toString());
    wrong.setExpectedRevision2060(Number(expected));
  }
  if (current < 0) {
    wrong.setCurrentNoStream(empty());
    wrong.setNoStream2060(empty());
  } else {
    wrong.setCurrentRevision(String(current));
    wrong.setCurrentRevision2060(current);
  }
  const response = new streamsPb.AppendResp();
  response.setWrongExpectedVersion(wrong);
  return response;
}

function packedStatus(
  code: number,
  message: string,
  detail: { serializeBinary(): Uint8Array },
  typeName: string,
) {
  const any = new anyPb.Any();
  any.pack(detail.serializeBinary(), typeName);
  const result = new statusPb.Status();
  result.setCode(code);
  result.setMessage(message);
  result.setDetails(any);
  return result;
}

/** BatchAppend errors are `google.rpc.Status` values in the response, never call errors. */
const batchStatus = {
  wrongExpectedVersion(expected: ExpectedRevision, current: number) {
    const detail = new sharedPb.WrongExpectedVersion();
    const empty = () => new emptyPb.Empty();
    if (current < 0) detail.setCurrentNoStream(empty());
    else detail.setCurrentStreamRevision(String(current));
    if (expected === 'any') detail.setExpectedAny(empty());
    else if (expected === 'no_stream') detail.setExpectedNoStream(empty());
    else if (expected === 'stream_exists') detail.setExpectedStreamExists(empty());
    else detail.setExpectedStreamPosition(expected.toString());
    return packedStatus(
      status.ALREADY_EXISTS,
      'WrongExpectedVersion',
      detail,
      'event_store.client.WrongExpectedVersion',
    );
  },
  streamDeleted(stream: string) {
    const detail = new sharedPb.StreamDeleted();
    detail.setStreamIdentifier(streamIdentifier(stream));
    return packedStatus(status.NOT_FOUND, 'StreamDeleted', detail, 'event_store.client.StreamDeleted');
  },
  maximumAppendSizeExceeded(maxAppendSize: number) {
    const detail = new sharedPb.MaximumAppendSizeExceeded();
    detail.setMaxappendsize(maxAppendSize);
    return packedStatus(
      status.INVALID_ARGUMENT,
      'MaximumAppendSizeExceeded',
      detail,
      'event_store.client.MaximumAppendSizeExceeded',
    );
  },
  timeout() {
    return packedStatus(
      status.DEADLINE_EXCEEDED,
      'Timeout',
      new sharedPb.Timeout(),
      'event_store.client.Timeout',
    );
  },
  badRequest(message: string) {
    const detail = new sharedPb.BadRequest();
    detail.setMessage(message);
    return packedStatus(status.INVALID_ARGUMENT, 'BadRequest', detail, 'event_store.client.BadRequest');
  },
};

function appendExpected(options: InstanceType<typeof streamsPb.AppendReq.Options>): ExpectedRevision {
  switch (options.getExpectedStreamRevisionCase()) {
    case Revision.REVISION:
      return parseRevision(options.getRevision());
    case Revision.NO_STREAM:
      return 'no_stream';
    case Revision.ANY:
      return 'any';
    case Revision.STREAM_EXISTS:
      return 'stream_exists';
    default:
      throw new RequestError(
        rpcErrors.invalidArgument("'None' is not a valid ExpectedStreamRevisionOneofCase"),
      );
  }
}

type DeleteOptions =
  | InstanceType<typeof streamsPb.DeleteReq.Options>
  | InstanceType<typeof streamsPb.TombstoneReq.Options>;

function deleteExpected(options: DeleteOptions): ExpectedRevision {
  switch (options.getExpectedStreamRevisionCase()) {
    case Revision.REVISION:
      return parseRevision(options.getRevision());
    case Revision.NO_STREAM:
      return 'no_stream';
    case Revision.ANY:
      return 'any';
    case Revision.STREAM_EXISTS:
      return 'stream_exists';
    default:
      throw new RequestError(
        rpcErrors.invalidArgument("'None' is not a valid ExpectedStreamRevisionOneofCase"),
      );
  }
}

function asRpcError(error: unknown): RpcError {
  if (error instanceof RequestError) return error.rpc;
  return rpcErrors.unknown(error instanceof Error ? error.message : String(error));
}

/** Milliseconds a batch may take to arrive in full: the requested deadline, capped by the write timeout. */
function batchTimeout(deadline: BatchDeadline, now: number): number {
  const requested =
    deadline === undefined
      ? Number.POSITIVE_INFINITY
      : deadline.kind === 'within'
        ? deadline.ms
        : deadline.epochMs - now;
  return Math.min(requested, WRITE_TIMEOUT_MS);
}

type BatchDeadline = NonNullable<WireBatchAppendRequest['options']>['deadline'];

export type StreamsServiceOptions = {
  store: EmulatorStore;
  /** Largest append in bytes (a node's `MaxAppendSize`); default 1 MiB. */
  maxAppendSize?: number;
};

export type StreamsService = IStreamsServer & {
  /**
   * Ends every open BatchAppend call with CANCELLED, as a stopping node does; other calls are left
   * to the connection drop that follows.
   */
  cancelBatchAppends(): void;
};

/** The `event_store.client.streams.Streams` service. */
export function createStreamsService({
  store,
  maxAppendSize = MAX_APPEND_SIZE,
}: StreamsServiceOptions): StreamsService {
  const batchCalls = new Set<CallWriter<InstanceType<typeof streamsPb.BatchAppendResp>>>();
  async function deleteOrTombstone(
    options: DeleteOptions | undefined,
    hard: boolean,
  ): Promise<{ position: number } | RpcError> {
    if (options === undefined) return rpcErrors.invalidArgument('options are required');
    const stream = streamName(options.getStreamIdentifier());
    const expected = deleteExpected(options);
    const result = hard
      ? await store.tombstoneStream(stream, expected)
      : await store.deleteStream(stream, expected);
    if (result.outcome === 'stream_deleted') return rpcErrors.streamDeleted(stream);
    if (result.outcome === 'wrong_expected_version') {
      return rpcErrors.wrongExpectedVersion('Delete', stream, expectedLong(expected), String(result.current));
    }
    return { position: result.position };
  }

  return {
    cancelBatchAppends() {
      for (const writer of batchCalls)
        writer.fail({ ...rpcErrors.unknown('Server is shutting down.'), code: status.CANCELLED });
    },

    append(call, callback) {
      let options: InstanceType<typeof streamsPb.AppendReq.Options> | undefined;
      const events: ProposedEvent[] = [];
      let size = 0;
      let failed = false;
      const fail = (error: unknown) => {
        if (failed) return;
        failed = true;
        callback(asRpcError(error));
      };
      call.on('data', (request: InstanceType<typeof streamsPb.AppendReq>) => {
        if (failed) return;
        try {
          if (options === undefined) {
            if (!request.hasOptions()) throw new RequestError(rpcErrors.unknown());
            options = request.getOptions()!;
            appendExpected(options);
            return;
          }
          const proposed = request.getProposedMessage();
          if (proposed === undefined) throw new RequestError(rpcErrors.unknown());
          const message = fromAppendMessage(proposed);
          // Size is checked as events arrive, before the id is parsed, as the server does.
          const metadata = message.metadata;
          if (metadata.get('type') === undefined)
            throw new RequestError(rpcErrors.requiredMetadataMissing('type'));
          if (metadata.get('content-type') === undefined) {
            throw new RequestError(rpcErrors.requiredMetadataMissing('content-type'));
          }
          size += eventSize(message);
          if (size > maxAppendSize) throw new RequestError(rpcErrors.maxAppendSizeExceeded(maxAppendSize));
          // An unparsable or empty id is an unhandled exception on the server: status UNKNOWN.
          events.push(proposedEvent(message, (details) => rpcErrors.unknown(details)));
        } catch (error) {
          fail(error);
        }
      });
      call.on('error', () => {
        failed = true;
      });
      call.on('end', () => {
        if (failed) return;
        if (options === undefined) return fail(new RequestError(rpcErrors.unknown()));
        const chosen = options;
        (async () => {
          const stream = streamName(chosen.getStreamIdentifier());
          const expected = appendExpected(chosen);
          const result = await store.append(stream, expected, events);
          if (result.outcome === 'stream_deleted')
            return fail(new RequestError(rpcErrors.streamDeleted(stream)));
          if (result.outcome === 'wrong_expected_version') {
            return callback(null, appendWrongExpectedVersion(expected, result.current));
          }
          callback(null, appendSuccess(result));
        })().catch(fail);
      });
    },

    batchAppend(call) {
      type Pending = {
        stream: string;
        identifier: InstanceType<typeof sharedPb.StreamIdentifier>;
        expected: ExpectedRevision;
        events: ProposedEvent[];
        size: number;
        /** Fails the batch with a Timeout if its last chunk has not come by then. */
        timer: NodeJS.Timeout;
      };
      const pending = new Map<string, Pending>();
      const forget = (key: string) => {
        const entry = pending.get(key);
        if (entry === undefined) return;
        clearTimeout(entry.timer);
        pending.delete(key);
      };
      let inFlight = 0;
      let ended = false;
      const writer = new CallWriter(
        call as unknown as ServerWritableStream<unknown, InstanceType<typeof streamsPb.BatchAppendResp>>,
      );
      batchCalls.add(writer);
      writer.onClose(() => {
        batchCalls.delete(writer);
        for (const key of [...pending.keys()]) forget(key);
      });
      const reply = (
        correlation: WireUuid | undefined,
        identifier: InstanceType<typeof sharedPb.StreamIdentifier> | undefined,
        fill: (response: InstanceType<typeof streamsPb.BatchAppendResp>) => void,
      ) => {
        const response = new streamsPb.BatchAppendResp();
        if (correlation !== undefined) response.setCorrelationId(wireUuidMessage(correlation));
        if (identifier !== undefined) response.setStreamIdentifier(identifier);
        fill(response);
        void writer.send(response);
      };
      const maybeEnd = () => {
        if (ended && inFlight === 0) writer.end();
      };
      // Requests arrive decoded by hand (see wire.ts and the service definition in server.ts).
      call.on('data', (request: WireBatchAppendRequest) => {
        const correlation = request.correlationId;
        const correlationKey =
          parseWireUuid(correlation)?.toString('hex') ?? JSON.stringify(correlation ?? null);
        let entry = pending.get(correlationKey);
        const requestIdentifier =
          request.options?.stream === undefined ? undefined : identifierOf(request.options.stream);
        try {
          if (request.options !== undefined) {
            const options = request.options;
            if (options.stream === undefined || requestIdentifier === undefined) {
              reply(correlation, undefined, (r) =>
                r.setError(batchStatus.badRequest('Required field StreamIdentifier not set.')),
              );
              return;
            }
            if (parseWireUuid(correlation) === undefined) throw new Error('Unrecognized Guid format.');
            // As the server: the deadline is checked on every options chunk, before the expected
            // revision is read and before any size is counted.
            const timeout = batchTimeout(options.deadline, Date.now());
            if (timeout <= 0) {
              reply(correlation, requestIdentifier, (r) => r.setError(batchStatus.timeout()));
              return;
            }
            const wanted = options.expected;
            if (wanted === undefined)
              throw new Error("'None' is not a valid ExpectedStreamPositionOneofCase");
            const expected: ExpectedRevision =
              wanted.kind === 'revision' ? parseRevision(wanted.value.toString()) : wanted.kind;
            if (entry === undefined) {
              const identifier = requestIdentifier;
              const timer = setTimeout(() => {
                forget(correlationKey);
                reply(correlation, identifier, (r) => r.setError(batchStatus.timeout()));
              }, timeout);
              timer.unref();
              entry = {
                stream: options.stream.toString('utf8'),
                identifier,
                expected,
                events: [],
                size: 0,
                timer,
              };
              pending.set(correlationKey, entry);
            }
          }
          if (entry === undefined) return;
          const current = entry;
          for (const wire of request.messages) {
            const message = fromWireMessage(wire);
            current.events.push(proposedEvent(message, (details) => rpcErrors.invalidArgument(details)));
            current.size += eventSize(message);
          }
          if (current.size > maxAppendSize) {
            forget(correlationKey);
            reply(correlation, current.identifier, (r) =>
              r.setError(batchStatus.maximumAppendSizeExceeded(maxAppendSize)),
            );
            return;
          }
          if (!request.isFinal) return;
          forget(correlationKey);
          inFlight++;
          store.append(current.stream, current.expected, current.events).then(
            (result) => {
              inFlight--;
              reply(correlation, current.identifier, (response) => {
                if (result.outcome === 'stream_deleted')
                  response.setError(batchStatus.streamDeleted(current.stream));
                else if (result.outcome === 'wrong_expected_version') {
                  response.setError(batchStatus.wrongExpectedVersion(current.expected, result.current));
                } else {
                  const success = new streamsPb.BatchAppendResp.Success();
                  if (result.revision < 0) success.setNoStream(new emptyPb.Empty());
                  else success.setCurrentRevision(String(result.revision));
                  const position = new sharedPb.AllStreamPosition();
                  position.setCommitPosition(String(result.position));
                  position.setPreparePosition(String(result.position));
                  success.setPosition(position);
                  response.setSuccess(success);
                }
              });
              maybeEnd();
            },
            (error: unknown) => {
              inFlight--;
              writer.fail(asRpcError(error));
            },
          );
        } catch (error) {
          // The server answers any failure to take the request apart with a BadRequest status.
          forget(correlationKey);
          const details =
            error instanceof RequestError
              ? error.rpc.details
              : error instanceof Error
                ? error.message
                : String(error);
          reply(correlation, requestIdentifier ?? entry?.identifier, (r) =>
            r.setError(batchStatus.badRequest(details)),
          );
        }
      });
      call.on('end', () => {
        ended = true;
        // Batches still missing their last chunk can never complete.
        for (const key of [...pending.keys()]) forget(key);
        maybeEnd();
      });
    },

    read(call) {
      const writer = new CallWriter<ReadResp>(call as unknown as ServerWritableStream<unknown, ReadResp>);
      handleRead(store, call.request, writer).catch((error: unknown) => writer.fail(asRpcError(error)));
    },

    delete(call, callback: sendUnaryData<InstanceType<typeof streamsPb.DeleteResp>>) {
      deleteOrTombstone(call.request.getOptions(), false).then(
        (result) => {
          if ('code' in result) return callback(result);
          const response = new streamsPb.DeleteResp();
          const position = new streamsPb.DeleteResp.Position();
          position.setCommitPosition(String(result.position));
          position.setPreparePosition(String(result.position));
          response.setPosition(position);
          callback(null, response);
        },
        (error: unknown) => callback(asRpcError(error)),
      );
    },

    tombstone(call, callback: sendUnaryData<InstanceType<typeof streamsPb.TombstoneResp>>) {
      deleteOrTombstone(call.request.getOptions(), true).then(
        (result) => {
          if ('code' in result) return callback(result);
          const response = new streamsPb.TombstoneResp();
          const position = new streamsPb.TombstoneResp.Position();
          position.setCommitPosition(String(result.position));
          position.setPreparePosition(String(result.position));
          response.setPosition(position);
          callback(null, response);
        },
        (error: unknown) => callback(asRpcError(error)),
      );
    },
  };
}

function readFilter(
  options: ReadOptions,
): { filter: EventFilter; window: number | undefined; multiplier: number } | undefined {
  if (options.getFilterOptionCase() !== ReadOptionsCases.FilterOptionCase.FILTER) return undefined;
  const filter = options.getFilter()!;
  const Cases = streamsPb.ReadReq.Options.FilterOptions;
  const on =
    filter.getFilterCase() === Cases.FilterCase.EVENT_TYPE
      ? 'type'
      : filter.getFilterCase() === Cases.FilterCase.STREAM_IDENTIFIER
        ? 'stream'
        : undefined;
  if (on === undefined) throw new RequestError(rpcErrors.invalidArgument('filter is not valid'));
  const expression = on === 'type' ? filter.getEventType()! : filter.getStreamIdentifier()!;
  let built: EventFilter;
  try {
    built = createFilter({
      on,
      prefixes: expression.getPrefixList(),
      regex: expression.getRegex() || undefined,
    });
  } catch (error) {
    throw new RequestError(rpcErrors.unknown(error instanceof Error ? error.message : String(error)));
  }
  const window = filter.getWindowCase() === Cases.WindowCase.MAX ? filter.getMax() : undefined;
  return { filter: built, window, multiplier: filter.getCheckpointintervalmultiplier() };
}

function readAllPosition(
  options: InstanceType<typeof streamsPb.ReadReq.Options.AllOptions>,
): 'start' | 'end' | AllPosition {
  const Case = streamsPb.ReadReq.Options.AllOptions.AllOptionCase;
  switch (options.getAllOptionCase()) {
    case Case.START:
      return 'start';
    case Case.END:
      return 'end';
    case Case.POSITION: {
      const position = options.getPosition()!;
      const commit = position.getCommitPosition();
      const prepare = position.getPreparePosition();
      if (commit === UINT64_MAX && prepare === UINT64_MAX) return 'end';
      const c = BigInt(commit);
      const p = BigInt(prepare);
      // The server's Position rejects commit < prepare and values above long.MaxValue (unhandled: UNKNOWN).
      if (c < p || c > 2n ** 63n - 1n || p > 2n ** 63n - 1n) throw new RequestError(rpcErrors.unknown());
      const cap = (value: bigint) =>
        value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
      return { commit: cap(c), prepare: cap(p) };
    }
    default:
      throw new RequestError(rpcErrors.invalidArgument("'None' is not a valid AllOptionOneofCase"));
  }
}

function readStreamRevision(
  options: InstanceType<typeof streamsPb.ReadReq.Options.StreamOptions>,
): 'start' | 'end' | bigint {
  const Case = streamsPb.ReadReq.Options.StreamOptions.RevisionOptionCase;
  switch (options.getRevisionOptionCase()) {
    case Case.START:
      return 'start';
    case Case.END:
      return 'end';
    case Case.REVISION: {
      const text = options.getRevision();
      if (text === UINT64_MAX) return 'end';
      return parseRevision(text);
    }
    default:
      throw new RequestError(rpcErrors.invalidArgument("'None' is not a valid RevisionOptionOneofCase"));
  }
}

/** Dispatches a Read request the way the server's enumerator table does. */
async function handleRead(
  store: EmulatorStore,
  request: ReadReq,
  writer: CallWriter<ReadResp>,
): Promise<void> {
  const options = request.getOptions();
  if (options === undefined) throw new RequestError(rpcErrors.invalidArgument('options are required'));
  if (!options.hasUuidOption()) {
    throw new RequestError(
      rpcErrors.invalidArgument(' `uuidOption` is a required argument of type UUIDOption'),
    );
  }
  const structuredIds = options.getUuidOption()!.hasStructured();
  const resolveLinks = options.getResolveLinks();
  const backwards = options.getReadDirection() === ReadOptionsCases.ReadDirection.BACKWARDS;
  const subscription = options.getCountOptionCase() === ReadOptionsCases.CountOptionCase.SUBSCRIPTION;
  const filter = readFilter(options);
  const invalidCombination = () =>
    new RequestError(rpcErrors.invalidArgument('The combination of read options is invalid.'));
  const context = { store, writer, resolveLinks, structuredIds };

  if (options.hasStream()) {
    const streamOptions = options.getStream()!;
    const stream = streamName(streamOptions.getStreamIdentifier());
    const from = readStreamRevision(streamOptions);
    if (filter !== undefined) throw invalidCombination();
    if (subscription) {
      if (backwards) throw invalidCombination();
      return subscribeToStream(context, stream, from);
    }
    const count = Number(options.getCount());
    // The server checks maxCount is positive when it builds the read (an unhandled exception).
    if (count <= 0) throw new RequestError(rpcErrors.unknown());
    if (!backwards && from === 'end') {
      // Reading a stream forwards from its end fails on the server (a known server bug).
      throw new RequestError(rpcErrors.unknown('Unexpected ReadStreamResult: Error'));
    }
    const read = store.readStream(stream, backwards ? 'backwards' : 'forwards', from, count);
    if (read.kind === 'deleted') throw new RequestError(rpcErrors.streamDeleted(stream));
    if (read.kind === 'not_found') {
      const response = new streamsPb.ReadResp();
      const notFound = new streamsPb.ReadResp.StreamNotFound();
      notFound.setStreamIdentifier(streamIdentifier(stream));
      response.setStreamNotFound(notFound);
      await writer.send(response);
      writer.end();
      return;
    }
    for (const index of read.indexes) {
      if (writer.closed) return;
      const pending = writer.send(
        readEventResponse(store, resolve(store, index, resolveLinks), structuredIds),
      );
      if (pending !== undefined) await pending;
    }
    writer.end();
    return;
  }
  if (!options.hasAll())
    throw new RequestError(rpcErrors.invalidArgument("'None' is not a valid StreamOptionOneofCase"));
  const from = readAllPosition(options.getAll()!);
  if (subscription) {
    if (backwards) throw invalidCombination();
    return subscribeToAll(
      context,
      from,
      filter === undefined
        ? undefined
        : {
            filter: filter.filter,
            searchWindow: filter.window ?? READ_BATCH_SIZE,
            multiplier: Math.max(1, filter.multiplier),
          },
    );
  }
  let remaining = Number(options.getCount());
  if (remaining <= 0) throw new RequestError(rpcErrors.unknown());
  let index: number;
  if (backwards) {
    index = from === 'end' ? store.visible - 1 : from === 'start' ? -1 : store.indexFrom(from) - 1;
  } else {
    index = from === 'start' ? 0 : from === 'end' ? store.visible : store.indexFrom(from);
  }
  const end = store.visible;
  while (remaining > 0 && index >= 0 && index < end) {
    if (writer.closed) return;
    const current = index;
    index += backwards ? -1 : 1;
    if (filter !== undefined && !filter.filter.allows(store.streamName(current), store.eventType(current)))
      continue;
    remaining--;
    const pending = writer.send(
      readEventResponse(store, resolve(store, current, resolveLinks), structuredIds),
    );
    if (pending !== undefined) await pending;
  }
  writer.end();
}
