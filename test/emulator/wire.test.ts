/**
 * The hand-written codec (src/emulator/grpc/wire.ts) against the client's generated classes:
 * what it encodes decodes to the same message, and what the client encodes it decodes the same.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import persistentPb from '@eventstore/db-client/generated/persistent_pb.js';
import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import emptyPb from 'google-protobuf/google/protobuf/empty_pb.js';
import { fillRecordedEvent } from '../../src/emulator/grpc/events.ts';
import { decodeBatchAppendRequest, encodeReadEventResponse } from '../../src/emulator/grpc/wire.ts';
import { EmulatorStore } from '../../src/emulator/store.ts';

async function sampleStore(): Promise<EmulatorStore> {
  const store = new EmulatorStore();
  await store.append('stream-é', 'any', [
    {
      id: randomBytes(16),
      type: 'Typé',
      isJson: true,
      data: Buffer.from('{"a":1}'),
      metadata: Buffer.from('{"m":2}'),
    },
    {
      id: Buffer.from('ffffffffffffffff0000000000000001', 'hex'),
      type: 'b',
      isJson: false,
      data: new Uint8Array(0),
      metadata: new Uint8Array(0),
    },
    {
      id: randomBytes(16),
      type: 'big',
      isJson: false,
      data: randomBytes(300_000),
      metadata: new Uint8Array(0),
    },
  ]);
  await store.tombstoneStream('stream-é', 'any');
  return store;
}

describe('hand-written wire codec', () => {
  test('event responses decode to what the generated classes build', async () => {
    const store = await sampleStore();
    for (let index = 0; index < store.visible; index++) {
      const event = store.event(index);
      for (const structured of [false, true]) {
        const expected = new streamsPb.ReadResp.ReadEvent();
        expected.setEvent(
          fillRecordedEvent(new streamsPb.ReadResp.ReadEvent.RecordedEvent(), event, structured),
        );
        expected.setCommitPosition(String(event.position));
        const response = new streamsPb.ReadResp();
        response.setEvent(expected);
        const mine = encodeReadEventResponse({
          event,
          link: undefined,
          commitPosition: event.position,
          structuredIds: structured,
        });
        assert.deepEqual(streamsPb.ReadResp.deserializeBinary(mine).toObject(), response.toObject());
      }
    }
  });

  test('persistent responses carry link, original position and retry count', async () => {
    const store = await sampleStore();
    const event = store.event(0);
    const expected = new persistentPb.ReadResp.ReadEvent();
    const Recorded = persistentPb.ReadResp.ReadEvent.RecordedEvent;
    expected.setEvent(fillRecordedEvent(new Recorded(), event, false, 999));
    expected.setLink(fillRecordedEvent(new Recorded(), event, false, 999));
    expected.setCommitPosition('999');
    expected.setRetryCount(3);
    const response = new persistentPb.ReadResp();
    response.setEvent(expected);
    const mine = encodeReadEventResponse({
      event,
      link: event,
      recordedPosition: 999,
      commitPosition: 999,
      retryCount: 3,
      structuredIds: false,
    });
    assert.deepEqual(persistentPb.ReadResp.deserializeBinary(mine).toObject(), response.toObject());
  });

  test('a missing position is sent as no_position', async () => {
    const store = await sampleStore();
    const mine = encodeReadEventResponse({
      event: undefined,
      link: store.event(0),
      commitPosition: undefined,
      structuredIds: false,
    });
    assert.ok(streamsPb.ReadResp.deserializeBinary(mine).getEvent()!.hasNoPosition());
  });

  test('BatchAppend requests decode as the generated classes encode them', () => {
    const request = new streamsPb.BatchAppendReq();
    const correlation = new sharedPb.UUID();
    correlation.setString('0f8fad5b-d9cb-469f-a165-70867728950e');
    request.setCorrelationId(correlation);
    const options = new streamsPb.BatchAppendReq.Options();
    const identifier = new sharedPb.StreamIdentifier();
    identifier.setStreamName(Buffer.from('stream-é'));
    options.setStreamIdentifier(identifier);
    options.setStreamPosition('18446744073709551610');
    request.setOptions(options);
    const message = new streamsPb.BatchAppendReq.ProposedMessage();
    const id = new sharedPb.UUID();
    const structured = new sharedPb.UUID.Structured();
    structured.setMostSignificantBits('-1');
    structured.setLeastSignificantBits('42');
    id.setStructured(structured);
    message.setId(id);
    message.getMetadataMap().set('type', 'Typé').set('content-type', 'application/json');
    message.setData(Buffer.from('{"x":1}'));
    message.setCustomMetadata(Buffer.from('meta'));
    request.addProposedMessages(message);
    request.setIsFinal(true);
    const decoded = decodeBatchAppendRequest(Buffer.from(request.serializeBinary()));
    assert.deepEqual(decoded.correlationId, { string: '0f8fad5b-d9cb-469f-a165-70867728950e' });
    assert.equal(decoded.options?.stream?.toString(), 'stream-é');
    assert.deepEqual(decoded.options?.expected, { kind: 'revision', value: 18446744073709551610n });
    assert.equal(decoded.isFinal, true);
    const [proposed] = decoded.messages;
    assert.deepEqual(proposed?.id, { msb: -1n, lsb: 42n });
    assert.equal(proposed?.metadata.get('type'), 'Typé');
    assert.equal(proposed?.data.toString(), '{"x":1}');
    assert.equal(proposed?.customMetadata.toString(), 'meta');

    const any = new streamsPb.BatchAppendReq.Options();
    any.setAny(new emptyPb.Empty());
    const second = new streamsPb.BatchAppendReq();
    second.setOptions(any);
    assert.deepEqual(decodeBatchAppendRequest(Buffer.from(second.serializeBinary())).options?.expected, {
      kind: 'any',
    });
  });

  test('a malformed BatchAppend request throws rather than decoding garbage', () => {
    assert.throws(() => decodeBatchAppendRequest(Buffer.from([0x0a, 0x50, 0x01])));
  });
});
