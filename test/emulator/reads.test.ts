/**
 * Conformance: reads of streams and `$all`, edges, metadata enforcement, links and system events.
 * Tests marked "ported" follow the official Node client's test suite (EventStore-Client-NodeJS,
 * packages/test, Apache-2.0), rewritten for node:test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BACKWARDS,
  binaryEvent,
  END,
  FORWARDS,
  jsonEvent,
  START,
  StreamDeletedError,
  StreamNotFoundError,
  UnknownError,
} from '@eventstore/db-client';
import { type TestEmulator, withEmulator } from '../support/emulator.ts';
import { collect, pathName, streamName, testEvents, WRITE_PATHS } from './support.ts';

for (const writePath of WRITE_PATHS) {
  describe(`reads over ${pathName(writePath)}`, () => {
    let emulator: TestEmulator;
    before(async () => {
      emulator = await withEmulator({ writePath });
    });
    after(() => emulator.close());

    const revisions = async (iterable: AsyncIterable<{ event?: { revision: bigint } | undefined }>) =>
      (await collect(iterable)).map((e) => e.event!.revision);

    test('reading forwards from a revision is inclusive', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(5));
      assert.deepEqual(await revisions(emulator.client.readStream(stream, { fromRevision: 2n })), [
        2n,
        3n,
        4n,
      ]);
    });

    test('reading backwards from a revision is inclusive and pages down', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(5));
      assert.deepEqual(
        await revisions(emulator.client.readStream(stream, { direction: BACKWARDS, fromRevision: 2n })),
        [2n, 1n, 0n],
      );
    });

    test('maxCount limits the read', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(5));
      assert.deepEqual(await revisions(emulator.client.readStream(stream, { maxCount: 2 })), [0n, 1n]);
    });

    test('reading forwards past the end gives an empty result, not an error', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      assert.deepEqual(await revisions(emulator.client.readStream(stream, { fromRevision: 10n })), []);
    });

    test('reading backwards from past the end starts at the last event', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(3));
      assert.deepEqual(
        await revisions(
          emulator.client.readStream(stream, { direction: BACKWARDS, fromRevision: 10n, maxCount: 2 }),
        ),
        [2n, 1n],
      );
    });

    test('reading a stream forwards from END fails, as on a real server', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      await assert.rejects(
        collect(emulator.client.readStream(stream, { direction: FORWARDS, fromRevision: END })),
        UnknownError,
      );
    });

    test('maxCount 0 is refused (the server requires a positive count)', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      await assert.rejects(collect(emulator.client.readStream(stream, { maxCount: 0 })), UnknownError);
      await assert.rejects(collect(emulator.client.readAll({ maxCount: 0 })), UnknownError);
    });

    test('a missing stream is StreamNotFoundError (an in-band message, the call ends OK)', async () => {
      await assert.rejects(collect(emulator.client.readStream(streamName())), StreamNotFoundError);
    });

    test('a soft-deleted stream reads as StreamNotFoundError', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      await emulator.client.deleteStream(stream);
      await assert.rejects(collect(emulator.client.readStream(stream)), StreamNotFoundError);
    });

    test('a tombstoned stream reads as StreamDeletedError, and so does its metastream', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      await emulator.client.tombstoneStream(stream);
      await assert.rejects(collect(emulator.client.readStream(stream)), StreamDeletedError);
      await assert.rejects(emulator.client.getStreamMetadata(stream), StreamDeletedError);
    });

    test('$maxCount keeps only the last N events visible', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(5));
      await emulator.client.setStreamMetadata(stream, { maxCount: 2 });
      assert.deepEqual(await revisions(emulator.client.readStream(stream)), [3n, 4n]);
      assert.deepEqual(
        await revisions(emulator.client.readStream(stream, { direction: BACKWARDS, fromRevision: END })),
        [4n, 3n],
      );
    });

    test('$tb hides the events before it', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(5));
      await emulator.client.setStreamMetadata(stream, { truncateBefore: 3 });
      assert.deepEqual(await revisions(emulator.client.readStream(stream)), [3n, 4n]);
    });

    test('$maxAge hides events older than it', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      await emulator.client.setStreamMetadata(stream, { maxAge: 1 });
      assert.equal((await collect(emulator.client.readStream(stream))).length, 2);
      // $maxAge is whole seconds of the server's wall clock, which a test cannot move: let it pass.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await emulator.client.appendToStream(stream, testEvents(1));
      assert.deepEqual(await revisions(emulator.client.readStream(stream)), [2n]);
    });

    test('stream metadata round-trips and custom keys are kept', async () => {
      const stream = streamName();
      await emulator.client.setStreamMetadata(stream, { maxCount: 7, custom: 'value' } as never);
      const result = await emulator.client.getStreamMetadata(stream);
      assert.equal(result.metadata?.maxCount, 7);
      assert.equal((result.metadata as Record<string, unknown>).custom, 'value');
    });

    test('metadata of a stream without any is empty, not an error', async () => {
      const result = await emulator.client.getStreamMetadata(streamName());
      assert.equal(result.metadata, undefined);
    });

    test('readAll forwards from a position is inclusive', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(3));
      const [, second] = await collect(emulator.client.readStream(stream));
      const events = await collect(
        emulator.client.readAll({ fromPosition: second!.event!.position!, maxCount: 2 }),
      );
      assert.equal(events[0]!.event!.id, second!.event!.id);
    });

    test('readAll backwards from a position is exclusive', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(3));
      const [first, second] = await collect(emulator.client.readStream(stream));
      const events = await collect(
        emulator.client.readAll({
          direction: BACKWARDS,
          fromPosition: second!.event!.position!,
          maxCount: 1,
        }),
      );
      assert.equal(events[0]!.event!.id, first!.event!.id);
    });

    test('readAll forwards from END is empty; backwards from END starts at the head', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      assert.equal((await collect(emulator.client.readAll({ fromPosition: END, maxCount: 5 }))).length, 0);
      const [head] = await collect(
        emulator.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }),
      );
      assert.equal(head!.event!.streamId, stream);
    });

    test('unfiltered $all carries system events', async () => {
      await emulator.client.appendToStream(streamName(), testEvents(1));
      const events = await collect(emulator.client.readAll({ fromPosition: START }));
      const systemStreams = events.filter((e) => e.event!.streamId.startsWith('$'));
      assert.ok(systemStreams.some((e) => e.event!.streamId === '$epoch-information'));
      assert.ok(systemStreams.some((e) => e.event!.type === '$settings'));
    });

    test('metadata writes and tombstones appear in $all', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      await emulator.client.setStreamMetadata(stream, { maxCount: 3 });
      await emulator.client.tombstoneStream(stream);
      const tail = await collect(
        emulator.client.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 2 }),
      );
      assert.deepEqual(
        tail.map((e) => [e.event!.streamId, e.event!.type]),
        [
          [stream, '$streamDeleted'],
          [`$$${stream}`, '$metadata'],
        ],
      );
      assert.equal(tail[0]!.event!.revision, 9223372036854775807n);
    });

    // ported: appendToStream "linkTo"
    test('a $> link resolves to its target when resolveLinkTos is set', async () => {
      const target = streamName('target');
      const links = streamName('links');
      await emulator.client.appendToStream(target, testEvents(4));
      await emulator.client.appendToStream(
        links,
        binaryEvent({ type: '$>', data: Buffer.from(`2@${target}`) }),
      );
      const [trueEvent] = await collect(
        emulator.client.readStream(target, { fromRevision: 2n, maxCount: 1 }),
      );
      const [linkEvent] = await collect(emulator.client.readStream(links, { resolveLinkTos: true }));
      assert.ok(linkEvent!.link !== undefined);
      assert.deepEqual(linkEvent!.event, trueEvent!.event);
      const [unresolved] = await collect(emulator.client.readStream(links));
      assert.equal(unresolved!.event!.type, '$>');
      assert.equal(unresolved!.link, undefined);
    });

    test('a link to a missing event resolves to the link alone', async () => {
      const links = streamName('links');
      await emulator.client.appendToStream(
        links,
        binaryEvent({ type: '$>', data: Buffer.from(`0@${streamName()}`) }),
      );
      const [resolved] = await collect(emulator.client.readStream(links, { resolveLinkTos: true }));
      assert.equal(resolved!.event, undefined);
      assert.equal(resolved!.link!.type, '$>');
    });

    test('$ce- category streams do not exist (projections are off, as on a default node)', async () => {
      const category = `cat${Date.now()}`;
      await emulator.client.appendToStream(`${category}-1`, jsonEvent({ type: 'x', data: {} }));
      await assert.rejects(collect(emulator.client.readStream(`$ce-${category}`)), StreamNotFoundError);
    });
  });
}
