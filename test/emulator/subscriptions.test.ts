/**
 * Conformance: catch-up subscriptions to a stream and to `$all` (filters, checkpoints, the
 * catch-up to live hand-off). Tests marked "ported" follow the official Node client's test suite
 * (EventStore-Client-NodeJS, packages/test, Apache-2.0), rewritten for node:test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  END,
  eventTypeFilter,
  excludeSystemEvents,
  jsonEvent,
  START,
  StreamDeletedError,
  streamNameFilter,
} from '@eventstore/db-client';
import { type TestEmulator, withEmulator } from '../support/emulator.ts';
import { pathName, record, streamName, testEvents, WRITE_PATHS } from './support.ts';

const finish = () => jsonEvent({ type: 'finish-test', data: {} });

for (const writePath of WRITE_PATHS) {
  describe(`catch-up subscriptions over ${pathName(writePath)}`, () => {
    let emulator: TestEmulator;
    before(async () => {
      emulator = await withEmulator({ writePath });
    });
    after(() => emulator.close());

    test('a stream subscription from start: confirmation, history, caughtUp, then live events', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2, 'old'));
      const sub = record(emulator.client.subscribeToStream(stream, { fromRevision: START }));
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      await emulator.client.appendToStream(stream, testEvents(1, 'live'));
      await sub.until('live event', () => sub.events.length === 3);
      await sub.stop();
      assert.deepEqual(sub.log, ['confirmation', 'event:old', 'event:old', 'caughtUp', 'event:live']);
    });

    // ported: subscribeToStream "from revision"
    test('a stream subscription from a revision is exclusive', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(4));
      const sub = record(emulator.client.subscribeToStream(stream, { fromRevision: 2n }));
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      assert.equal(sub.events.length, 1);
      await emulator.client.appendToStream(stream, [...testEvents(3), finish()]);
      await sub.until('finish', () => sub.events.length === 5);
      await sub.stop();
      assert.deepEqual(
        sub.events.map((e) => e.event!.revision),
        [3n, 4n, 5n, 6n, 7n],
      );
    });

    test('a stream subscription from END is caught up at once and gets only new events', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(3, 'old'));
      const sub = record(emulator.client.subscribeToStream(stream, { fromRevision: END }));
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      await emulator.client.appendToStream(stream, testEvents(1, 'new'));
      await sub.until('new event', () => sub.events.length === 1);
      await sub.stop();
      assert.deepEqual(sub.log, ['confirmation', 'caughtUp', 'event:new']);
    });

    test('a subscription to a missing stream is not an error: it waits for the stream', async () => {
      const stream = streamName();
      const sub = record(emulator.client.subscribeToStream(stream));
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      await emulator.client.appendToStream(stream, testEvents(1, 'first'));
      await sub.until('first event', () => sub.events.length === 1);
      await sub.stop();
      assert.deepEqual(sub.log, ['confirmation', 'caughtUp', 'event:first']);
    });

    test('subscribing to a tombstoned stream: confirmation, then StreamDeletedError', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      await emulator.client.tombstoneStream(stream);
      const sub = record(emulator.client.subscribeToStream(stream));
      await sub.until('error', () => sub.error !== undefined);
      assert.ok(sub.error instanceof StreamDeletedError);
      assert.deepEqual(sub.log, ['confirmation', 'error:StreamDeletedError']);
    });

    test('a tombstone while live is delivered as $streamDeleted, then StreamDeletedError', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1, 'a'));
      const sub = record(emulator.client.subscribeToStream(stream));
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      await emulator.client.tombstoneStream(stream);
      await sub.until('error', () => sub.error !== undefined);
      assert.deepEqual(sub.log, [
        'confirmation',
        'event:a',
        'caughtUp',
        'event:$streamDeleted',
        'error:StreamDeletedError',
      ]);
      assert.equal(sub.events[1]!.event!.revision, 9223372036854775807n);
    });

    test('$all from a position is exclusive', async () => {
      const stream = streamName();
      const marker = await emulator.client.appendToStream(stream, testEvents(1, 'marker'));
      await emulator.client.appendToStream(stream, testEvents(1, 'after'));
      const sub = record(emulator.client.subscribeToAll({ fromPosition: marker.position! }));
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      await sub.stop();
      assert.deepEqual(sub.log, ['confirmation', 'event:after', 'caughtUp']);
    });

    test('$all from END is caught up at once and gets only new events', async () => {
      const sub = record(emulator.client.subscribeToAll({ fromPosition: END }));
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1, 'new'));
      await sub.until('new event', () => sub.events.length === 1);
      await sub.stop();
      assert.deepEqual(sub.log, ['confirmation', 'caughtUp', 'event:new']);
    });

    test('unfiltered $all delivers system events and sends no checkpoints', async () => {
      const sub = record(emulator.client.subscribeToAll({ fromPosition: START }));
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      await sub.stop();
      assert.ok(sub.events.some((e) => e.event!.streamId === '$epoch-information'));
      assert.ok(!sub.log.includes('checkpoint'));
    });

    test('a stream-prefix filter delivers only matching streams, and never system events', async () => {
      const prefix = `pre${Date.now()}`;
      await emulator.client.appendToStream(`${prefix}-a`, testEvents(2, 'match'));
      await emulator.client.appendToStream(streamName('other'), testEvents(2, 'other'));
      const sub = record(
        emulator.client.subscribeToAll({
          fromPosition: START,
          filter: streamNameFilter({ prefixes: [prefix] }),
        }),
      );
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      await emulator.client.appendToStream(`${prefix}-b`, testEvents(1, 'live'));
      await sub.until('live', () => sub.events.length === 3);
      await sub.stop();
      assert.deepEqual(
        sub.events.map((e) => e.event!.type),
        ['match', 'match', 'live'],
      );
    });

    test('a stream regex filter matches anywhere in the name', async () => {
      const tag = `rx${Date.now()}`;
      await emulator.client.appendToStream(`a-${tag}-b`, testEvents(1, 'hit'));
      const sub = record(
        emulator.client.subscribeToAll({ fromPosition: START, filter: streamNameFilter({ regex: tag }) }),
      );
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      await sub.stop();
      assert.deepEqual(
        sub.events.map((e) => e.event!.type),
        ['hit'],
      );
    });

    test('an event-type prefix filter delivers only matching types', async () => {
      const type = `Type${Date.now()}`;
      const stream = streamName();
      await emulator.client.appendToStream(stream, [
        jsonEvent({ type, data: {} }),
        jsonEvent({ type: 'Other', data: {} }),
      ]);
      const sub = record(
        emulator.client.subscribeToAll({
          fromPosition: START,
          filter: eventTypeFilter({ prefixes: [type] }),
        }),
      );
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      await sub.stop();
      assert.deepEqual(
        sub.events.map((e) => e.event!.type),
        [type],
      );
    });

    test('excludeSystemEvents hides $-typed events', async () => {
      const sub = record(
        emulator.client.subscribeToAll({ fromPosition: START, filter: excludeSystemEvents() }),
      );
      await sub.until('caughtUp', () => sub.log.includes('caughtUp'));
      await sub.stop();
      assert.ok(sub.events.every((e) => !e.event!.type.startsWith('$')));
    });

    // ported: subscribeToAll-filters "checkpoints" (384 events, interval multiplier 2 → 6 or 7 checkpoints)
    test('filtered checkpoints come every 32 × multiplier considered events', async () => {
      const marker = await emulator.client.appendToStream(streamName(), testEvents(1));
      await emulator.client.appendToStream(streamName(), testEvents(8));
      let sub: ReturnType<typeof record> | undefined;
      const subscription = emulator.client.subscribeToAll({
        fromPosition: marker.position!,
        filter: excludeSystemEvents({
          checkpointInterval: 2,
          checkpointReached: (_s, position) => sub!.checkpoint(position),
        }),
      });
      sub = record(subscription);
      // Here client and server share one thread: wait for the hand-off so the rest arrives live, as it would.
      await sub.until('caughtUp', () => sub!.log.includes('caughtUp'));
      const stream = streamName();
      for (let i = 0; i < 18; i++) await emulator.client.appendToStream(stream, testEvents(20));
      await emulator.client.appendToStream(stream, [...testEvents(15), finish()]);
      await sub.until('finish', () => sub!.events.some((e) => e.event!.type === 'finish-test'));
      await sub.stop();
      assert.equal(sub.events.length, 384);
      assert.ok(
        sub.checkpoints.length >= 6 && sub.checkpoints.length <= 7,
        `${sub.checkpoints.length} checkpoints`,
      );
      for (const { commit, prepare } of sub.checkpoints) {
        assert.equal(typeof commit, 'bigint');
        assert.equal(typeof prepare, 'bigint');
      }
    });

    test('a filtered catch-up ends with a checkpoint, even when nothing matched', async () => {
      const marker = await emulator.client.appendToStream(streamName(), testEvents(3));
      let sub: ReturnType<typeof record> | undefined;
      const subscription = emulator.client.subscribeToAll({
        fromPosition: marker.position!,
        filter: streamNameFilter({
          prefixes: ['nothing-matches-this-'],
          checkpointReached: (_s, p) => sub!.checkpoint(p),
        }),
      });
      sub = record(subscription);
      await sub.until('caughtUp', () => sub!.log.includes('caughtUp'));
      await sub.stop();
      assert.deepEqual(sub.log, ['confirmation', 'checkpoint', 'caughtUp']);
      assert.deepEqual(sub.checkpoints[0], marker.position);
    });

    test('resuming from a checkpoint loses nothing and repeats nothing', async () => {
      const prefix = `resume${Date.now()}`;
      const start = await emulator.client.appendToStream(streamName(), testEvents(1));
      for (let i = 0; i < 5; i++) {
        await emulator.client.appendToStream(`${prefix}-${i}`, testEvents(10, `e${i}`));
        await emulator.client.appendToStream(streamName('noise'), testEvents(30));
      }
      let first: ReturnType<typeof record> | undefined;
      const subscription = emulator.client.subscribeToAll({
        fromPosition: start.position!,
        filter: streamNameFilter({ prefixes: [prefix], checkpointReached: (_s, p) => first!.checkpoint(p) }),
      });
      first = record(subscription);
      await first.until('caughtUp', () => first!.log.includes('caughtUp'));
      await first.stop();
      // Take a mid-way checkpoint, and the events seen up to it.
      const checkpointIndex = first.log.indexOf('checkpoint');
      assert.ok(checkpointIndex > 0);
      const seenBefore = first.log
        .slice(0, checkpointIndex)
        .filter((entry) => entry.startsWith('event:')).length;
      const second = record(
        emulator.client.subscribeToAll({
          fromPosition: first.checkpoints[0]!,
          filter: streamNameFilter({ prefixes: [prefix] }),
        }),
      );
      await second.until('caughtUp', () => second.log.includes('caughtUp'));
      await second.stop();
      assert.equal(seenBefore + second.events.length, 50);
      assert.deepEqual(
        [...first.events.slice(0, seenBefore), ...second.events].map((e) => e.event!.id),
        first.events.map((e) => e.event!.id),
      );
    });

    test('live filtered checkpoints come every 32 × multiplier events of $all', async () => {
      let sub: ReturnType<typeof record> | undefined;
      const subscription = emulator.client.subscribeToAll({
        fromPosition: END,
        filter: streamNameFilter({
          prefixes: ['never-'],
          checkpointInterval: 1,
          checkpointReached: (_s, p) => sub!.checkpoint(p),
        }),
      });
      sub = record(subscription);
      await sub.until('caughtUp', () => sub!.log.includes('caughtUp'));
      await emulator.client.appendToStream(streamName(), testEvents(64));
      await sub.until('two checkpoints', () => sub!.checkpoints.length === 2);
      await sub.stop();
    });

    test('the catch-up to live hand-off has no gap and no duplicate while appends keep coming', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(500));
      const writes = (async () => {
        for (let i = 0; i < 50; i++) await emulator.client.appendToStream(stream, testEvents(10));
      })();
      const sub = record(emulator.client.subscribeToStream(stream));
      const all = record(
        emulator.client.subscribeToAll({ filter: streamNameFilter({ prefixes: [stream] }) }),
      );
      await writes;
      // A last event after every write: once it arrives, any gap or duplicate before it has too.
      await emulator.client.appendToStream(stream, testEvents(1, 'end'));
      const ended = (recorded: typeof sub) => recorded.events.some((e) => e.event!.type === 'end');
      await sub.until('the end event on the stream', () => ended(sub), 15000);
      await all.until('the end event on $all', () => ended(all), 15000);
      await sub.stop();
      await all.stop();
      assert.deepEqual(
        sub.events.map((e) => e.event!.revision),
        Array.from({ length: 1001 }, (_, i) => BigInt(i)),
      );
      assert.deepEqual(
        all.events.map((e) => e.event!.revision),
        Array.from({ length: 1001 }, (_, i) => BigInt(i)),
      );
      assert.equal(sub.log.filter((entry) => entry === 'caughtUp').length, 1);
    });
  });
}
