/**
 * Conformance: appends, expected revisions, idempotency and append errors, through the real
 * client on both write paths. Tests marked "ported" follow the official Node client's test suite
 * (EventStore-Client-NodeJS, packages/test, Apache-2.0), rewritten for node:test.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  ANY,
  binaryEvent,
  EventStoreDBClient,
  jsonEvent,
  MaxAppendSizeExceededError,
  NO_STREAM,
  STREAM_EXISTS,
  StreamDeletedError,
  UnknownError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { type TestEmulator, withEmulator } from '../support/emulator.ts';
import { collect, pathName, readTypes, streamName, testEvents, WRITE_PATHS } from './support.ts';

const isWrongExpectedVersion =
  (expected: unknown, actual: unknown) =>
  (error: unknown): boolean => {
    assert.ok(
      error instanceof WrongExpectedVersionError,
      `expected WrongExpectedVersionError, got ${String(error)}`,
    );
    assert.equal(error.expectedVersion, expected);
    assert.equal(error.actualVersion, actual);
    return true;
  };

for (const writePath of WRITE_PATHS) {
  describe(`appends over ${pathName(writePath)}`, () => {
    let emulator: TestEmulator;
    before(async () => {
      emulator = await withEmulator({ writePath });
    });
    after(() => emulator.close());

    test(`the client uses ${pathName(writePath)} for appends`, async () => {
      await emulator.client.appendToStream(streamName(), testEvents(1));
      const path = writePath === 'batch' ? 'BatchAppend' : 'Append';
      const other = writePath === 'batch' ? 'Append' : 'BatchAppend';
      assert.ok((emulator.server.calls.get(`/event_store.client.streams.Streams/${path}`) ?? 0) > 0);
      assert.equal(emulator.server.calls.get(`/event_store.client.streams.Streams/${other}`), undefined);
    });

    // ported: appendToStream "populates log position"
    test('the append result carries the position of the last event written', async () => {
      const stream = streamName();
      const result = await emulator.client.appendToStream(stream, testEvents(3));
      const events = await collect(emulator.client.readStream(stream));
      assert.equal(result.nextExpectedRevision, 2n);
      assert.deepEqual(result.position, events[2]!.event!.position);
      assert.ok(result.position!.commit > events[1]!.event!.position!.commit);
    });

    test('positions have commit equal to prepare and increase within an append', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(3));
      const events = await collect(emulator.client.readStream(stream));
      let last = -1n;
      for (const { event } of events) {
        assert.equal(event!.position!.commit, event!.position!.prepare);
        assert.ok(event!.position!.commit > last);
        last = event!.position!.commit;
      }
    });

    test('an exact expected revision that is behind is a wrong expected version in the response body', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      await assert.rejects(
        emulator.client.appendToStream(stream, testEvents(1), { expectedRevision: 5n }),
        isWrongExpectedVersion(5n, 1n),
      );
    });

    test('NO_STREAM on an existing stream reports expected no_stream and the actual revision', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      await assert.rejects(
        emulator.client.appendToStream(stream, jsonEvent({ type: 'x', data: {} }), {
          expectedRevision: NO_STREAM,
        }),
        isWrongExpectedVersion('no_stream', 1n),
      );
    });

    test('STREAM_EXISTS on a missing stream reports actual no_stream', async () => {
      await assert.rejects(
        emulator.client.appendToStream(streamName(), testEvents(1), { expectedRevision: STREAM_EXISTS }),
        isWrongExpectedVersion('stream_exists', 'no_stream'),
      );
    });

    test('an exact revision on a missing stream reports actual no_stream', async () => {
      await assert.rejects(
        emulator.client.appendToStream(streamName(), testEvents(1), { expectedRevision: 0n }),
        isWrongExpectedVersion(0n, 'no_stream'),
      );
    });

    test('with throwOnAppendFailure off, a conflict is a result, not an error', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      const lenient = EventStoreDBClient.connectionString(
        `${emulator.connectionString}&throwOnAppendFailure=false`,
      );
      try {
        const result = await lenient.appendToStream(stream, testEvents(1), { expectedRevision: 7n });
        assert.equal(result.success, false);
      } finally {
        await lenient.dispose();
      }
    });

    test('STREAM_EXISTS succeeds on a stream that only has metadata', async () => {
      const stream = streamName();
      await emulator.client.setStreamMetadata(stream, { maxCount: 10 });
      const result = await emulator.client.appendToStream(stream, testEvents(1), {
        expectedRevision: STREAM_EXISTS,
      });
      assert.equal(result.nextExpectedRevision, 0n);
    });

    test('STREAM_EXISTS on a soft-deleted stream raises StreamDeletedError', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      await emulator.client.deleteStream(stream);
      await assert.rejects(
        emulator.client.appendToStream(stream, testEvents(1), { expectedRevision: STREAM_EXISTS }),
        StreamDeletedError,
      );
    });

    test('NO_STREAM on a soft-deleted stream succeeds and revisions continue from the old last', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(3));
      await emulator.client.deleteStream(stream);
      const result = await emulator.client.appendToStream(stream, testEvents(1, 'again'), {
        expectedRevision: NO_STREAM,
      });
      assert.equal(result.nextExpectedRevision, 3n);
      const events = await collect(emulator.client.readStream(stream));
      assert.deepEqual(
        events.map((e) => [e.event!.type, e.event!.revision]),
        [['again', 3n]],
      );
    });

    test('appending to a tombstoned stream raises StreamDeletedError whatever the expected revision', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      await emulator.client.tombstoneStream(stream);
      for (const expectedRevision of [ANY, NO_STREAM, STREAM_EXISTS, 0n] as const) {
        await assert.rejects(
          emulator.client.appendToStream(stream, testEvents(1), { expectedRevision }),
          StreamDeletedError,
        );
      }
    });

    test('re-appending the same events with ANY is idempotent: original revision and position, nothing written', async () => {
      const stream = streamName();
      const events = testEvents(3);
      const first = await emulator.client.appendToStream(stream, events);
      const again = await emulator.client.appendToStream(stream, events);
      assert.equal(again.nextExpectedRevision, first.nextExpectedRevision);
      assert.deepEqual(again.position, first.position);
      assert.equal((await readTypes(emulator.client, stream)).length, 3);
    });

    test('re-appending the same events with NO_STREAM is idempotent', async () => {
      const stream = streamName();
      const events = testEvents(2);
      const first = await emulator.client.appendToStream(stream, events, { expectedRevision: NO_STREAM });
      const again = await emulator.client.appendToStream(stream, events, { expectedRevision: NO_STREAM });
      assert.equal(again.nextExpectedRevision, 1n);
      assert.deepEqual(again.position, first.position);
      assert.equal((await readTypes(emulator.client, stream)).length, 2);
    });

    test('re-appending with an old exact revision is idempotent', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      const events = testEvents(2);
      await emulator.client.appendToStream(stream, events, { expectedRevision: 0n });
      const again = await emulator.client.appendToStream(stream, events, { expectedRevision: 0n });
      assert.equal(again.nextExpectedRevision, 2n);
      assert.equal((await readTypes(emulator.client, stream)).length, 3);
    });

    test('a partial overlap with written events is a wrong expected version', async () => {
      const stream = streamName();
      const events = testEvents(2);
      await emulator.client.appendToStream(stream, events, { expectedRevision: NO_STREAM });
      await assert.rejects(
        emulator.client.appendToStream(stream, [events[0]!, jsonEvent({ type: 'new', data: {} })], {
          expectedRevision: NO_STREAM,
        }),
        WrongExpectedVersionError,
      );
    });

    test('an unparsable event id is rejected, and the server keeps working', async () => {
      const stream = streamName();
      await assert.rejects(
        emulator.client.appendToStream(stream, jsonEvent({ id: 'not-a-uuid', type: 'x', data: {} })),
        UnknownError,
      );
      await emulator.client.appendToStream(stream, testEvents(1));
    });

    test('the all-zero event id is rejected', async () => {
      await assert.rejects(
        emulator.client.appendToStream(
          streamName(),
          jsonEvent({ id: '00000000-0000-0000-0000-000000000000', type: 'x', data: {} }),
        ),
        UnknownError,
      );
    });

    test('an append over 1 MiB raises MaxAppendSizeExceededError', async () => {
      const big = Buffer.alloc(600 * 1024, 1);
      await assert.rejects(
        emulator.client.appendToStream(streamName(), [
          binaryEvent({ type: 'big', data: big }),
          binaryEvent({ type: 'big', data: big }),
        ]),
        (error: unknown) =>
          error instanceof MaxAppendSizeExceededError && error.maxAppendSize === 1024 * 1024,
      );
    });

    test('an append just under 1 MiB succeeds', async () => {
      const type = 't';
      const data = Buffer.alloc(1024 * 1024 - 2 * type.length, 1);
      const stream = streamName();
      await emulator.client.appendToStream(stream, binaryEvent({ type, data }));
      const [stored] = await collect(emulator.client.readStream(stream));
      assert.deepEqual(Buffer.from(stored!.event!.data as Uint8Array), data);
    });

    test('event ids come back lower-case and dashed', async () => {
      const stream = streamName();
      const id = randomUUID().toUpperCase();
      await emulator.client.appendToStream(stream, jsonEvent({ id, type: 'x', data: {} }));
      const [event] = await collect(emulator.client.readStream(stream));
      assert.equal(event!.event!.id, id.toLowerCase());
    });

    // ported: appendToStream "unicode string in json event"
    test('unicode JSON data round-trips', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, jsonEvent({ type: 'TestEncode', data: 'CC ‐ 1830' }));
      const [event] = await collect(emulator.client.readStream(stream));
      assert.equal(event!.event!.data, 'CC ‐ 1830');
    });

    test('a content type other than application/json comes back as application/octet-stream', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, [
        binaryEvent({ type: 'bin', data: Buffer.from('raw') }),
        jsonEvent({ type: 'json', data: { a: 1 } }),
      ]);
      const events = await collect(emulator.client.readStream(stream));
      assert.equal(events[0]!.event!.isJson, false);
      assert.deepEqual(Buffer.from(events[0]!.event!.data as Uint8Array).toString(), 'raw');
      assert.equal(events[1]!.event!.isJson, true);
      assert.deepEqual(events[1]!.event!.data, { a: 1 });
    });

    test('custom metadata round-trips as JSON, bytes, or nothing', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, [
        jsonEvent({ type: 'a', data: {}, metadata: { m: 1 } }),
        jsonEvent({ type: 'b', data: {}, metadata: Buffer.from([0xff, 0x00]) }),
        jsonEvent({ type: 'c', data: {} }),
      ]);
      const [a, b, c] = await collect(emulator.client.readStream(stream));
      assert.deepEqual(a!.event!.metadata, { m: 1 });
      assert.deepEqual([...(b!.event!.metadata as Uint8Array)], [0xff, 0x00]);
      assert.equal(c!.event!.metadata, undefined);
    });

    test('created is a timestamp from the server clock (.NET ticks on the wire)', async () => {
      const before = Date.now();
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      const [event] = await collect(emulator.client.readStream(stream));
      const created = event!.event!.created.getTime();
      assert.ok(created >= before - 5 && created <= Date.now() + 5, `created ${created} not near ${before}`);
    });

    test('an empty append to a new stream succeeds and writes nothing', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, []);
      await assert.rejects(collect(emulator.client.readStream(stream)));
    });

    test('concurrent appends to one stream with ANY all land, with dense revisions', async () => {
      const stream = streamName();
      await Promise.all(
        Array.from({ length: 20 }, () => emulator.client.appendToStream(stream, testEvents(5))),
      );
      const events = await collect(emulator.client.readStream(stream));
      assert.equal(events.length, 100);
      assert.deepEqual(
        events.map((e) => e.event!.revision),
        Array.from({ length: 100 }, (_, i) => BigInt(i)),
      );
    });
  });
}
