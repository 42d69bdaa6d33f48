/**
 * Conformance: soft delete and tombstone, and the trailer form of their errors. Tests marked
 * "ported" follow the official Node client's test suite (EventStore-Client-NodeJS, packages/test,
 * Apache-2.0), rewritten for node:test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ANY,
  NO_STREAM,
  StreamDeletedError,
  StreamNotFoundError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { type TestEmulator, withEmulator } from '../support/emulator.ts';
import { collect, pathName, readTypes, streamName, testEvents, WRITE_PATHS } from './support.ts';

const wrongExpected =
  (stream: string, expected: unknown, actual: unknown) =>
  (error: unknown): boolean => {
    assert.ok(
      error instanceof WrongExpectedVersionError,
      `expected WrongExpectedVersionError, got ${String(error)}`,
    );
    assert.equal(error.streamName, stream);
    assert.equal(error.expectedVersion, expected);
    assert.equal(error.actualVersion, actual);
    return true;
  };

for (const writePath of WRITE_PATHS) {
  describe(`deletes over ${pathName(writePath)}`, () => {
    let emulator: TestEmulator;
    before(async () => {
      emulator = await withEmulator({ writePath });
    });
    after(() => emulator.close());

    // ported: deleteStream "any revision succeeds"
    test('a soft delete with ANY succeeds and the stream then reads as not found', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(4));
      const result = await emulator.client.deleteStream(stream);
      assert.ok(result.position !== undefined);
      await assert.rejects(
        collect(emulator.client.readStream(stream, { maxCount: 10 })),
        StreamNotFoundError,
      );
    });

    // ported: deleteStream "expected revision exact fails"
    test('a delete with a wrong exact revision is WrongExpectedVersion from the trailers (long forms)', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(4));
      await assert.rejects(
        emulator.client.deleteStream(stream, { expectedRevision: 2n }),
        wrongExpected(stream, 2n, 3n),
      );
    });

    // ported: deleteStream "fails if stream doesn't exist"
    test('deleting a stream that never existed fails even with ANY: expected -2n, actual -1n', async () => {
      const stream = streamName();
      await assert.rejects(
        emulator.client.deleteStream(stream, { expectedRevision: ANY }),
        wrongExpected(stream, -2n, -1n),
      );
    });

    test('deleting with NO_STREAM an existing stream reports expected -1n', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      await assert.rejects(
        emulator.client.deleteStream(stream, { expectedRevision: NO_STREAM }),
        wrongExpected(stream, -1n, 1n),
      );
    });

    test('tombstoning with an exact revision a missing stream reports expected N and actual -1n', async () => {
      const stream = streamName();
      await assert.rejects(
        emulator.client.tombstoneStream(stream, { expectedRevision: 0n }),
        wrongExpected(stream, 0n, -1n),
      );
    });

    test('a delete with the exact last revision succeeds', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(3));
      await emulator.client.deleteStream(stream, { expectedRevision: 2n });
      await assert.rejects(collect(emulator.client.readStream(stream)), StreamNotFoundError);
    });

    test('a soft delete writes {"$tb": 2^63-1} to the metastream', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      await emulator.client.deleteStream(stream);
      const { metadata } = await emulator.client.getStreamMetadata(stream);
      // The client parses 2^63-1 as a JS number, so it comes back rounded.
      assert.equal(metadata?.truncateBefore, Number(2n ** 63n - 1n));
    });

    test('after a soft delete the stream can be written again, keeping numbering, old events hidden', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2, 'old'));
      await emulator.client.deleteStream(stream);
      const result = await emulator.client.appendToStream(stream, testEvents(1, 'new'));
      assert.equal(result.nextExpectedRevision, 2n);
      assert.deepEqual(await readTypes(emulator.client, stream), ['new']);
      const { metadata } = await emulator.client.getStreamMetadata(stream);
      assert.equal(metadata?.truncateBefore, 2);
    });

    test('a tombstone is final: reads, appends, deletes and tombstones raise StreamDeletedError', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      await emulator.client.tombstoneStream(stream);
      await assert.rejects(collect(emulator.client.readStream(stream)), StreamDeletedError);
      await assert.rejects(emulator.client.appendToStream(stream, testEvents(1)), StreamDeletedError);
      await assert.rejects(emulator.client.deleteStream(stream), StreamDeletedError);
      await assert.rejects(emulator.client.tombstoneStream(stream), StreamDeletedError);
      await assert.rejects(emulator.client.setStreamMetadata(stream, { maxCount: 1 }), StreamDeletedError);
    });

    test('tombstoning a stream that never existed succeeds', async () => {
      const stream = streamName();
      await emulator.client.tombstoneStream(stream);
      await assert.rejects(collect(emulator.client.readStream(stream)), StreamDeletedError);
    });

    test('a soft-deleted stream can then be tombstoned', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      await emulator.client.deleteStream(stream);
      await emulator.client.tombstoneStream(stream);
      await assert.rejects(collect(emulator.client.readStream(stream)), StreamDeletedError);
    });
  });
}
