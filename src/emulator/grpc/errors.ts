import { Metadata, status } from '@grpc/grpc-js';

/**
 * gRPC errors as the server sends them: a status code, a message, and trailers whose `exception`
 * key tells the client which typed error to raise (the client reads the trailers first, the code
 * second).
 */
export type RpcError = { code: status; details: string; metadata: Metadata };

function rpcError(code: status, details: string, trailers: Record<string, string> = {}): RpcError {
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value);
  return { code, details, metadata };
}

/** Maximum append size of a default server (1 MiB; `MaxAppendSize` on a node). */
export const MAX_APPEND_SIZE = 1024 * 1024;

/**
 * A node's `WriteTimeoutMs` (default 2 s): BatchAppend gives a batch at most this long, or the
 * requested deadline if sooner, to arrive in full.
 */
export const WRITE_TIMEOUT_MS = 2000;

export const rpcErrors = {
  streamDeleted: (stream: string) =>
    rpcError(status.FAILED_PRECONDITION, `Event stream '${stream}' is deleted.`, {
      exception: 'stream-deleted',
      'stream-name': stream,
    }),
  /** Delete and tombstone report the expected version in its long form (-1, -2, -4 or N). */
  wrongExpectedVersion: (operation: string, stream: string, expected: string, actual: string) =>
    rpcError(
      status.FAILED_PRECONDITION,
      `${operation} failed due to WrongExpectedVersion. Stream: ${stream}, Expected version: ${expected}, Actual version: ${actual}`,
      {
        exception: 'wrong-expected-version',
        'stream-name': stream,
        'expected-version': expected,
        'actual-version': actual,
      },
    ),
  maxAppendSizeExceeded: (maxAppendSize = MAX_APPEND_SIZE) =>
    rpcError(status.INVALID_ARGUMENT, `Maximum Append Size of ${maxAppendSize} Exceeded.`, {
      exception: 'maximum-append-size-exceeded',
      'maximum-append-size': String(maxAppendSize),
    }),
  requiredMetadataMissing: (property: string) =>
    rpcError(status.INVALID_ARGUMENT, `Required Metadata Property '${property}' is missing`, {
      exception: 'missing-required-metadata-property',
      'required-metadata-properties': 'type,content-type',
    }),
  /** What an unhandled exception in a server handler turns into. */
  unknown: (details = 'Exception was thrown by handler.') => rpcError(status.UNKNOWN, details),
  invalidArgument: (details: string) => rpcError(status.INVALID_ARGUMENT, details),
  persistentSubscriptionExists: (stream: string, group: string) =>
    rpcError(status.ALREADY_EXISTS, `Subscription group ${group} on stream ${stream} exists.`, {
      exception: 'persistent-subscription-exists',
      'stream-name': stream,
      'group-name': group,
    }),
  persistentSubscriptionDoesNotExist: (stream: string, group: string) =>
    rpcError(status.NOT_FOUND, `Subscription group ${group} on stream ${stream} does not exist.`, {
      exception: 'persistent-subscription-does-not-exist',
      'stream-name': stream,
      'group-name': group,
    }),
  persistentSubscriptionFailed: (stream: string, group: string, reason: string) =>
    rpcError(status.INTERNAL, `Subscription group ${group} on stream ${stream} failed: '${reason}'`, {
      exception: 'persistent-subscription-failed',
      'stream-name': stream,
      'group-name': group,
      reason,
    }),
  persistentSubscriptionDropped: (stream: string, group: string) =>
    rpcError(status.CANCELLED, `Subscription group ${group} on stream ${stream} was dropped.`, {
      exception: 'persistent-subscription-dropped',
      'stream-name': stream,
      'group-name': group,
    }),
  maximumSubscribersReached: (stream: string, group: string) =>
    rpcError(
      status.FAILED_PRECONDITION,
      `Maximum subscriptions reached for subscription group ${group} on stream ${stream}.`,
      { exception: 'maximum-subscribers-reached', 'stream-name': stream, 'group-name': group },
    ),
};

/** A request the server rejects before doing anything (bad UUID, bad option combination, ...). */
export class RequestError extends Error {
  readonly rpc: RpcError;
  constructor(rpc: RpcError) {
    super(rpc.details);
    this.rpc = rpc;
  }
}
