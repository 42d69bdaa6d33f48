/**
 * Conformance: BatchAppend deadlines (`Streams.BatchAppend.cs`: the requested deadline, capped by
 * the write timeout, is checked on every options chunk before any size is counted; a batch whose
 * last chunk is late fails with a Timeout status) and what calls in flight see when the server
 * stops (BatchAppend: CANCELLED; a classic Append: its connection drops, UNAVAILABLE).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  CancelledError,
  DeadlineExceededError,
  EventStoreDBClient,
  jsonEvent,
  StreamNotFoundError,
  UnavailableError,
} from '@eventstore/db-client';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsGrpc from '@eventstore/db-client/generated/streams_grpc_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import { credentials, status } from '@grpc/grpc-js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import timestampPb from 'google-protobuf/google/protobuf/timestamp_pb.js';
import { decodeBatchAppendRequest } from '../../src/emulator/grpc/wire.ts';
import { type EmulatorServer, startEmulatorServer } from '../../src/emulator/server.ts';
import { type TestEmulator, withEmulator } from '../support/emulator.ts';
import { collect, eventually, streamName, testEvents } from './support.ts';

const BATCH_APPEND = '/event_store.client.streams.Streams/BatchAppend';
const APPEND = '/event_store.client.streams.Streams/Append';

/** A BatchAppend request as client 6.x builds it: options with an absolute deadline, one event. */
function batchRequest(stream: string, deadline: Date, isFinal: boolean) {
  const request = new streamsPb.BatchAppendReq();
  const correlation = new sharedPb.UUID();
  correlation.setString(randomUUID());
  request.setCorrelationId(correlation);
  const options = new streamsPb.BatchAppendReq.Options();
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Buffer.from(stream));
  options.setStreamIdentifier(identifier);
  options.setAny(new emptyPb.Empty());
  options.setDeadline(timestampPb.Timestamp.fromDate(deadline));
  request.setOptions(options);
  const message = new streamsPb.BatchAppendReq.ProposedMessage();
  const id = new sharedPb.UUID();
  id.setString(randomUUID());
  message.setId(id);
  message.getMetadataMap().set('type', 'test').set('content-type', 'application/json');
  message.setData(Buffer.from('{}'));
  request.addProposedMessages(message);
  request.setIsFinal(isFinal);
  return request;
}

describe('BatchAppend deadlines', () => {
  let emulator: TestEmulator;
  before(async () => {
    emulator = await withEmulator();
  });
  after(() => emulator.close());

  test('the absolute deadline client 6.x sends decodes to milliseconds since the epoch', () => {
    const at = new Date('2024-10-01T12:00:00.250Z');
    const decoded = decodeBatchAppendRequest(Buffer.from(batchRequest('s', at, true).serializeBinary()));
    assert.deepEqual(decoded.options?.deadline, { kind: 'at', epochMs: at.getTime() });
  });

  test('ported: an append past its deadline fails with DeadlineExceeded before its size is counted', async () => {
    const stream = streamName('deadline');
    // 30,000 events are over 1 MiB: without the deadline check this would be MaxAppendSizeExceeded.
    const events = testEvents(30_000);
    await assert.rejects(
      emulator.client.appendToStream(stream, events, { deadline: 1 }),
      DeadlineExceededError,
    );
    await assert.rejects(collect(emulator.client.readStream(stream)), StreamNotFoundError);
  });

  test('the call stays usable after a batch timed out', async () => {
    const stream = streamName('deadline-after');
    await assert.rejects(
      emulator.client.appendToStream(stream, testEvents(10), { deadline: 1 }),
      DeadlineExceededError,
    );
    const result = await emulator.client.appendToStream(stream, testEvents(2));
    assert.equal(result.nextExpectedRevision, 1n);
  });

  test('a batch whose last chunk does not come before its deadline fails with a Timeout status', async () => {
    const client = new streamsGrpc.StreamsClient(
      `${emulator.server.host}:${emulator.server.port}`,
      credentials.createInsecure(),
    );
    try {
      const call = client.batchAppend();
      const response = new Promise<InstanceType<typeof streamsPb.BatchAppendResp>>((resolve, reject) => {
        call.once('data', resolve);
        call.once('error', reject);
      });
      const started = Date.now();
      call.write(batchRequest(streamName('late'), new Date(started + 300), false));
      const answer = await response;
      assert.ok(Date.now() - started >= 250, 'the Timeout came before the deadline');
      assert.equal(answer.getError()?.getCode(), status.DEADLINE_EXCEEDED);
      assert.equal(answer.getError()?.getDetails()?.getTypeName(), 'event_store.client.Timeout');
      call.end();
    } finally {
      client.close();
    }
  });

  test('an append within its deadline succeeds', async () => {
    const result = await emulator.client.appendToStream(streamName('in-time'), testEvents(100), {
      deadline: 10_000,
    });
    assert.equal(result.nextExpectedRevision, 99n);
  });
});

describe('stopping the server', () => {
  async function start(
    advertiseBatchAppend: boolean,
  ): Promise<{ server: EmulatorServer; client: EventStoreDBClient }> {
    const server = await startEmulatorServer({
      host: '127.0.0.1',
      port: 0,
      advertiseBatchAppend,
      maxAppendSize: 1024 * 1024 * 1024,
    });
    const client = EventStoreDBClient.connectionString(`esdb://127.0.0.1:${server.port}?tls=false`);
    return { server, client };
  }

  test('ported: a classic Append in flight fails with UnavailableError', async () => {
    const { server, client } = await start(false);
    try {
      // The client streams one event per message: this many keep the call open for seconds.
      const events = Array.from({ length: 300_000 }, (_, index) =>
        jsonEvent({ type: 'test', data: { index } }),
      );
      const pending = client
        .appendToStream(streamName('long'), events, { deadline: Number.POSITIVE_INFINITY })
        .catch((error: unknown) => error);
      await eventually('the Append call to start', () => (server.calls.get(APPEND) ? true : undefined));
      await server.close();
      const error = await pending;
      assert.ok(error instanceof UnavailableError, `expected UnavailableError, got ${String(error)}`);
    } finally {
      await client.dispose();
      await server.close();
    }
  });

  test('ported: appends in flight on BatchAppend fail with CancelledError', async () => {
    const { server, client } = await start(true);
    try {
      const stream = streamName('batches');
      await client.appendToStream(stream, testEvents(1));
      const failed = new Promise<unknown>((resolve) => {
        const loop = (): Promise<void> => client.appendToStream(stream, testEvents(5_000)).then(loop);
        loop().catch(resolve);
      });
      assert.equal(server.calls.get(BATCH_APPEND), 1);
      await server.close();
      const error = await failed;
      assert.ok(error instanceof CancelledError, `expected CancelledError, got ${String(error)}`);
    } finally {
      await client.dispose();
      await server.close();
    }
  });
});
