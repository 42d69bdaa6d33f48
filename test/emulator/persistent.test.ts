/**
 * Conformance: persistent subscriptions (groups, delivery, ack/nack, retries, parking, timeouts,
 * checkpoints, strategies, errors). Tests marked "ported" follow the official Node client's test
 * suite (EventStore-Client-NodeJS, packages/test, Apache-2.0), rewritten for node:test.
 * Settings use short timeouts; the server's one-second tick bounds the slowest tests.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  binaryEvent,
  END,
  jsonEvent,
  PersistentSubscriptionDoesNotExistError,
  PersistentSubscriptionDroppedError,
  PersistentSubscriptionExistsError,
  PersistentSubscriptionFailedError,
  PersistentSubscriptionMaximumSubscribersReachedError,
  type PersistentSubscriptionToStream,
  persistentSubscriptionToAllSettingsFromDefaults,
  persistentSubscriptionToStreamSettingsFromDefaults,
  type ResolvedEvent,
  START,
  streamNameFilter,
} from '@eventstore/db-client';
import { type TestEmulator, withEmulator } from '../support/emulator.ts';
import { collect, eventually, pathName, record, streamName, testEvents, WRITE_PATHS } from './support.ts';

const settings = persistentSubscriptionToStreamSettingsFromDefaults;
const finish = () => jsonEvent({ type: 'finish-test', data: {} });

/** Acks every event it gets; resolves once `count` events arrived. */
async function ackAll(
  subscription: PersistentSubscriptionToStream,
  count: number,
  ms = 5000,
): Promise<ResolvedEvent[]> {
  const seen: ResolvedEvent[] = [];
  const timer = setTimeout(
    () => subscription.emit('error', new Error(`timed out after ${seen.length} of ${count}`)),
    ms,
  );
  try {
    for await (const event of subscription) {
      seen.push(event);
      await subscription.ack(event);
      if (seen.length >= count) break;
    }
  } finally {
    clearTimeout(timer);
  }
  return seen;
}

for (const writePath of WRITE_PATHS) {
  describe(`persistent subscriptions over ${pathName(writePath)}`, { concurrency: true }, () => {
    let emulator: TestEmulator;
    before(async () => {
      emulator = await withEmulator({ writePath });
    });
    after(() => emulator.close());

    test('creating a group twice raises PersistentSubscriptionExistsError', async () => {
      const stream = streamName();
      await emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings());
      await assert.rejects(
        emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings()),
        PersistentSubscriptionExistsError,
      );
    });

    test('a read batch size not below the history buffer size raises PersistentSubscriptionFailedError', async () => {
      await assert.rejects(
        emulator.client.createPersistentSubscriptionToStream(
          streamName(),
          'g',
          settings({ readBatchSize: 500, historyBufferSize: 500 }),
        ),
        PersistentSubscriptionFailedError,
      );
    });

    test('subscribing to an unknown group raises PersistentSubscriptionDoesNotExistError', async () => {
      const sub = record(emulator.client.subscribeToPersistentSubscriptionToStream(streamName(), 'missing'));
      await sub.until('error', () => sub.error !== undefined);
      assert.ok(sub.error instanceof PersistentSubscriptionDoesNotExistError);
    });

    test('the confirmation carries "<stream>::<group>" as subscription id', async () => {
      const stream = streamName();
      await emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings());
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      const id = await new Promise<string>((resolve) =>
        subscription.once('confirmation', () => resolve(subscription.id!)),
      );
      await subscription.unsubscribe();
      assert.equal(id, `${stream}::g`);
    });

    test('from START delivers the history', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(3));
      await emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings({ startFrom: START }));
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      const events = await ackAll(subscription, 3);
      await subscription.unsubscribe();
      assert.deepEqual(
        events.map((e) => e.event!.revision),
        [0n, 1n, 2n],
      );
    });

    // ported: subscribeToPersistentSubscriptionToStream "from revision"
    test('from a revision is inclusive', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(4));
      await emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings({ startFrom: 1n }));
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      await emulator.client.appendToStream(stream, [...testEvents(3), finish()]);
      const events = await ackAll(subscription, 7);
      await subscription.unsubscribe();
      assert.equal(events.length, 7);
      assert.equal(events[0]!.event!.revision, 1n);
    });

    // ported: subscribeToPersistentSubscriptionToStream "from end"
    test('from END means from the creation of the group, even before anyone connects', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(4, 'before'));
      await emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings());
      await emulator.client.appendToStream(stream, [...testEvents(3, 'after'), finish()]);
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      const events = await ackAll(subscription, 4);
      await subscription.unsubscribe();
      assert.deepEqual(
        events.map((e) => e.event!.type),
        ['after', 'after', 'after', 'finish-test'],
      );
    });

    // ported: subscribeToPersistentSubscriptionToStream "retryCount"
    test('a retried event comes back with retryCount incremented; skipped ones do not come back', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, [
        ...testEvents(5, 'skip-event'),
        ...testEvents(5, 'retry-event'),
        finish(),
      ]);
      await emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings({ startFrom: START }));
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      const nacked = new Set<string>();
      const seen: [string, number][] = [];
      for await (const event of subscription) {
        seen.push([event.event!.type, event.retryCount]);
        if (event.event!.type === 'finish-test') {
          await subscription.ack(event);
          if (seen.length === 5 + 5 * 2 + 1) break;
          continue;
        }
        if (!nacked.has(event.event!.id)) {
          nacked.add(event.event!.id);
          await subscription.nack(event.event!.type === 'skip-event' ? 'skip' : 'retry', 'To test it', event);
        } else {
          await subscription.ack(event);
        }
        if (seen.length === 5 + 5 * 2 + 1) break;
      }
      await subscription.unsubscribe();
      assert.equal(seen.length, 16);
      assert.equal(seen.filter(([type, retry]) => type === 'retry-event' && retry === 1).length, 5);
      assert.equal(seen.filter(([type]) => type === 'skip-event').length, 5);
    });

    test('after maxRetryCount retries the event is parked in the -parked stream', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1, 'poison'));
      await emulator.client.createPersistentSubscriptionToStream(
        stream,
        'g',
        settings({ startFrom: START, maxRetryCount: 2 }),
      );
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      const retries: number[] = [];
      for await (const event of subscription) {
        retries.push(event.retryCount);
        await subscription.nack('retry', 'failing', event);
        if (retries.length === 3) break;
      }
      const parked = await eventually('parked link', async () => {
        try {
          const events = await collect(
            emulator.client.readStream(`$persistentsubscription-${stream}::g-parked`),
          );
          return events.length > 0 ? events : undefined;
        } catch {
          return undefined;
        }
      });
      await subscription.unsubscribe();
      assert.deepEqual(retries, [0, 1, 2]);
      assert.equal(parked[0]!.event!.type, '$>');
      assert.equal(Buffer.from(parked[0]!.event!.data as Uint8Array).toString(), `0@${stream}`);
      assert.match(JSON.stringify(parked[0]!.event!.metadata), /Reached retry count of 2/);
    });

    test('a park nack parks at once; replaying parked messages delivers them again with retryCount 0', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1, 'parked'));
      await emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings({ startFrom: START }));
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      const seen: number[] = [];
      for await (const event of subscription) {
        seen.push(event.retryCount);
        if (seen.length === 1) {
          await subscription.nack('park', 'bad event', event);
          await eventually('parked', async () => {
            const info = await emulator.client.getPersistentSubscriptionToStreamInfo(stream, 'g');
            return info.stats.parkedMessageCount === 1n ? true : undefined;
          });
          await emulator.client.replayParkedMessagesToStream(stream, 'g');
        } else {
          await subscription.ack(event);
          break;
        }
      }
      await subscription.unsubscribe();
      assert.deepEqual(seen, [0, 0]);
    });

    test('an unacknowledged event times out and comes back with retryCount + 1', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      await emulator.client.createPersistentSubscriptionToStream(
        stream,
        'g',
        settings({ startFrom: START, messageTimeout: 200 }),
      );
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      const seen: [number, number][] = [];
      const started = Date.now();
      for await (const event of subscription) {
        seen.push([event.retryCount, Date.now() - started]);
        if (seen.length === 2) {
          await subscription.ack(event);
          break;
        }
      }
      await subscription.unsubscribe();
      assert.equal(seen[1]![0], 1);
      // Checked on a one-second tick: between the timeout and the timeout plus a second.
      assert.ok(seen[1]![1] >= 200 && seen[1]![1] <= 1500, `redelivered after ${seen[1]![1]} ms`);
    });

    test('a client has at most buffer_size events in flight', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(5));
      await emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings({ startFrom: START }));
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g', {
        bufferSize: 2,
      });
      const sub = record(subscription);
      await sub.until('two events', () => sub.events.length === 2);
      // Proving that a third event is withheld takes a quiet period: nothing else would arrive.
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.equal(sub.events.length, 2);
      await subscription.ack(sub.events[0]!);
      await sub.until('third event', () => sub.events.length === 3);
      await subscription.unsubscribe();
    });

    test('a disconnect puts unacknowledged events back, with retryCount + 1', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(1));
      await emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings({ startFrom: START }));
      const first = record(emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
      await first.until('event', () => first.events.length === 1);
      await first.stop();
      const second = record(emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
      await second.until('event again', () => second.events.length === 1);
      await second.stop();
      assert.equal(second.events[0]!.retryCount, 1);
    });

    test('RoundRobin spreads events over the connected clients', async () => {
      const stream = streamName();
      await emulator.client.createPersistentSubscriptionToStream(
        stream,
        'g',
        settings({ consumerStrategyName: 'RoundRobin' }),
      );
      const a = record(emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
      const b = record(emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
      await a.until('confirmation', () => a.log.includes('confirmation'));
      await b.until('confirmation', () => b.log.includes('confirmation'));
      await emulator.client.appendToStream(stream, testEvents(6));
      await eventually('all delivered', () => (a.events.length + b.events.length === 6 ? true : undefined));
      await a.stop();
      await b.stop();
      assert.equal(a.events.length, 3);
      assert.equal(b.events.length, 3);
    });

    test('DispatchToSingle sends to one client until its buffer is full', async () => {
      const stream = streamName();
      await emulator.client.createPersistentSubscriptionToStream(
        stream,
        'g',
        settings({ consumerStrategyName: 'DispatchToSingle' }),
      );
      const a = record(
        emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g', { bufferSize: 3 }),
      );
      await a.until('confirmation', () => a.log.includes('confirmation'));
      const b = record(
        emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g', { bufferSize: 3 }),
      );
      await b.until('confirmation', () => b.log.includes('confirmation'));
      await emulator.client.appendToStream(stream, testEvents(5));
      await eventually('all delivered', () => (a.events.length + b.events.length === 5 ? true : undefined));
      await a.stop();
      await b.stop();
      assert.equal(a.events.length, 3);
      assert.equal(b.events.length, 2);
    });

    test('Pinned sends every event of a stream to the same client', async () => {
      const prefix = `pin${Date.now()}${writePath}`;
      await emulator.client.createPersistentSubscriptionToAll(
        `pinned-${prefix}`,
        persistentSubscriptionToAllSettingsFromDefaults({ consumerStrategyName: 'Pinned' }),
        { filter: streamNameFilter({ prefixes: [prefix] }) },
      );
      const clients = [0, 1, 2].map(() =>
        record(emulator.client.subscribeToPersistentSubscriptionToAll(`pinned-${prefix}`)),
      );
      for (const client of clients)
        await client.until('confirmation', () => client.log.includes('confirmation'));
      for (let i = 0; i < 6; i++) await emulator.client.appendToStream(`${prefix}-${i}`, testEvents(2));
      await eventually('all delivered', () =>
        clients.reduce((sum, client) => sum + client.events.length, 0) === 12 ? true : undefined,
      );
      // Look before stopping: a client that leaves hands its unacknowledged events to the others.
      const delivered = clients.map((client) => [...client.events]);
      for (const client of clients) await client.stop();
      for (const events of delivered) {
        for (const event of events) {
          const owners = delivered.filter((other) =>
            other.some((e) => e.event!.streamId === event.event!.streamId),
          );
          assert.equal(owners.length, 1, `${event.event!.streamId} went to ${owners.length} clients`);
        }
      }
    });

    test('an unknown strategy name from this client creates DispatchToSingle', async () => {
      const stream = streamName();
      const warn = console.warn;
      console.warn = () => {};
      try {
        await emulator.client.createPersistentSubscriptionToStream(
          stream,
          'g',
          settings({ consumerStrategyName: 'PinnedByCorrelation' }),
        );
      } finally {
        console.warn = warn;
      }
      const info = await emulator.client.getPersistentSubscriptionToStreamInfo(stream, 'g');
      assert.equal(info.settings.consumerStrategyName, 'DispatchToSingle');
    });

    test('maxSubscriberCount is enforced with MaximumSubscribersReachedError', async () => {
      const stream = streamName();
      await emulator.client.createPersistentSubscriptionToStream(
        stream,
        'g',
        settings({ maxSubscriberCount: 1 }),
      );
      const first = record(emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
      await first.until('confirmation', () => first.log.includes('confirmation'));
      const second = record(emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
      await second.until('error', () => second.error !== undefined);
      await first.stop();
      assert.ok(second.error instanceof PersistentSubscriptionMaximumSubscribersReachedError);
    });

    test('an update drops connected clients and the group resumes after its last checkpoint', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(10));
      await emulator.client.createPersistentSubscriptionToStream(
        stream,
        'g',
        settings({ startFrom: START, checkPointLowerBound: 1, checkPointUpperBound: 5 }),
      );
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      const sub = record(subscription);
      await sub.until('ten events', () => sub.events.length === 10);
      // Seven acks in one message: at least five completed, so the checkpoint goes to the last of them.
      await subscription.ack(...sub.events.slice(0, 7));
      await eventually('checkpoint at 6', async () =>
        (await emulator.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).stats
          .lastCheckpointedEventRevision === 6n
          ? true
          : undefined,
      );
      await emulator.client.updatePersistentSubscriptionToStream(stream, 'g', settings({ startFrom: START }));
      await sub.until('dropped', () => sub.error !== undefined);
      assert.ok(sub.error instanceof PersistentSubscriptionDroppedError);
      const again = record(emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
      await again.until('redelivery', () => again.events.length === 3);
      await again.stop();
      assert.deepEqual(
        again.events.map((e) => e.event!.revision),
        [7n, 8n, 9n],
      );
    });

    test('delete drops connected clients; the group then does not exist', async () => {
      const stream = streamName();
      await emulator.client.createPersistentSubscriptionToStream(stream, 'g', settings());
      const sub = record(emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
      await sub.until('confirmation', () => sub.log.includes('confirmation'));
      await emulator.client.deletePersistentSubscriptionToStream(stream, 'g');
      await sub.until('dropped', () => sub.error !== undefined);
      assert.ok(sub.error instanceof PersistentSubscriptionDroppedError);
      await assert.rejects(
        emulator.client.getPersistentSubscriptionToStreamInfo(stream, 'g'),
        PersistentSubscriptionDoesNotExistError,
      );
      await assert.rejects(
        emulator.client.deletePersistentSubscriptionToStream(stream, 'g'),
        PersistentSubscriptionDoesNotExistError,
      );
    });

    test('updating an unknown group raises PersistentSubscriptionDoesNotExistError', async () => {
      await assert.rejects(
        emulator.client.updatePersistentSubscriptionToStream(streamName(), 'g', settings()),
        PersistentSubscriptionDoesNotExistError,
      );
    });

    test('GetInfo reports the settings, connections and stats', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(2));
      await emulator.client.createPersistentSubscriptionToStream(
        stream,
        'g',
        settings({ startFrom: START, messageTimeout: 1234, maxRetryCount: 3, checkPointUpperBound: 1 }),
      );
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      await ackAll(subscription, 2);
      const info = await eventually('checkpoint', async () => {
        const current = await emulator.client.getPersistentSubscriptionToStreamInfo(stream, 'g');
        return current.stats.lastCheckpointedEventRevision === 1n ? current : undefined;
      });
      await subscription.unsubscribe();
      assert.equal(info.eventSource, stream);
      assert.equal(info.groupName, 'g');
      assert.equal(info.settings.startFrom, START);
      assert.equal(info.settings.messageTimeout, 1234);
      assert.equal(info.settings.maxRetryCount, 3);
      assert.equal(info.connections.length, 1);
      assert.equal(info.stats.lastKnownEventRevision, 1n);
      assert.equal(info.stats.totalItems, 2n);
    });

    test('checkpoints are written to the -checkpoint stream as the revision string', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(3));
      await emulator.client.createPersistentSubscriptionToStream(
        stream,
        'g',
        settings({ startFrom: START, checkPointUpperBound: 1 }),
      );
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      await ackAll(subscription, 3);
      await subscription.unsubscribe();
      const checkpoints = await eventually('checkpoint events', async () => {
        try {
          const events = await collect(
            emulator.client.readStream(`$persistentsubscription-${stream}::g-checkpoint`),
          );
          return events.length === 3 ? events : undefined;
        } catch {
          return undefined;
        }
      });
      assert.deepEqual(
        checkpoints.map((e) => [e.event!.type, e.event!.data]),
        [
          ['$SubscriptionCheckpoint', '0'],
          ['$SubscriptionCheckpoint', '1'],
          ['$SubscriptionCheckpoint', '2'],
        ],
      );
    });

    test('listing groups: all, per stream, and a stream without groups is "does not exist"', async () => {
      const stream = streamName();
      await emulator.client.createPersistentSubscriptionToStream(stream, 'a', settings());
      await emulator.client.createPersistentSubscriptionToStream(stream, 'b', settings());
      const forStream = await emulator.client.listPersistentSubscriptionsToStream(stream);
      assert.deepEqual(forStream.map((info) => info.groupName).sort(), ['a', 'b']);
      const all = await emulator.client.listAllPersistentSubscriptions();
      assert.ok(all.filter((info) => info.eventSource === stream).length === 2);
      await assert.rejects(
        emulator.client.listPersistentSubscriptionsToStream(streamName()),
        PersistentSubscriptionDoesNotExistError,
      );
    });

    test('a subscription to $all with a filter gets only matching events', async () => {
      const prefix = `psall${Date.now()}${writePath}`;
      const group = `all-${prefix}`;
      await emulator.client.createPersistentSubscriptionToAll(
        group,
        persistentSubscriptionToAllSettingsFromDefaults({ startFrom: START }),
        { filter: streamNameFilter({ prefixes: [prefix] }) },
      );
      await emulator.client.appendToStream(`${prefix}-1`, testEvents(2, 'match'));
      await emulator.client.appendToStream(streamName(), testEvents(2, 'other'));
      // Delivered in $all order: once this last matching event arrives, an 'other' would have too.
      await emulator.client.appendToStream(`${prefix}-2`, testEvents(1, 'last'));
      const subscription = emulator.client.subscribeToPersistentSubscriptionToAll(group);
      const sub = record(subscription);
      await sub.until('the last event', () => sub.events.some((e) => e.event!.type === 'last'));
      await sub.stop();
      assert.deepEqual(
        sub.events.map((e) => e.event!.type),
        ['match', 'match', 'last'],
      );
      const info = await emulator.client.getPersistentSubscriptionToAllInfo(group);
      assert.equal(info.settings.startFrom, START);
    });

    test('a subscription to $all from a position starts at that event (inclusive)', async () => {
      const prefix = `psfrom${Date.now()}${writePath}`;
      await emulator.client.appendToStream(`${prefix}-1`, testEvents(1, 'before'));
      const marker = await emulator.client.appendToStream(`${prefix}-1`, testEvents(1, 'marker'));
      await emulator.client.appendToStream(`${prefix}-1`, testEvents(1, 'after'));
      const group = `from-${prefix}`;
      await emulator.client.createPersistentSubscriptionToAll(
        group,
        persistentSubscriptionToAllSettingsFromDefaults({ startFrom: marker.position! }),
        { filter: streamNameFilter({ prefixes: [prefix] }) },
      );
      const sub = record(emulator.client.subscribeToPersistentSubscriptionToAll(group));
      await sub.until('two', () => sub.events.length === 2);
      await sub.stop();
      assert.deepEqual(
        sub.events.map((e) => e.event!.type),
        ['marker', 'after'],
      );
    });

    test('events that come through a link are acknowledged by the link id', async () => {
      const target = streamName('target');
      const links = streamName('links');
      await emulator.client.appendToStream(target, testEvents(1));
      await emulator.client.appendToStream(
        links,
        binaryEvent({ type: '$>', data: Buffer.from(`0@${target}`) }),
      );
      await emulator.client.createPersistentSubscriptionToStream(
        links,
        'g',
        settings({ startFrom: START, resolveLinkTos: true, messageTimeout: 300 }),
      );
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(links, 'g');
      const sub = record(subscription);
      await sub.until('event', () => sub.events.length === 1);
      assert.equal(sub.events[0]!.event!.streamId, target);
      assert.equal(sub.events[0]!.link!.streamId, links);
      await subscription.ack(sub.events[0]!);
      // Acked by the link id: nothing is left in flight, so nothing can time out and come back.
      await eventually('no message in flight', async () =>
        (await emulator.client.getPersistentSubscriptionToStreamInfo(links, 'g')).stats
          .totalInFlightMessages === 0
          ? true
          : undefined,
      );
      await sub.stop();
      assert.equal(sub.events.length, 1);
    });

    test('creating a subscription on $all through the stream call fails', async () => {
      await assert.rejects(
        emulator.client.createPersistentSubscriptionToStream('$all', 'g', settings()),
        PersistentSubscriptionFailedError,
      );
    });
  });

  // These two see every group of the node, so they get an emulator of their own.
  describe(`persistent subscriptions, node-wide, over ${pathName(writePath)}`, () => {
    let emulator: TestEmulator;
    before(async () => {
      emulator = await withEmulator({ writePath });
    });
    after(() => emulator.close());

    test('restarting the subsystem drops clients, and groups resume from their checkpoints', async () => {
      const stream = streamName();
      await emulator.client.appendToStream(stream, testEvents(4));
      await emulator.client.createPersistentSubscriptionToStream(
        stream,
        'g',
        settings({ startFrom: START, checkPointUpperBound: 1 }),
      );
      const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
      const sub = record(subscription);
      await sub.until('four', () => sub.events.length === 4);
      await subscription.ack(sub.events[0]!, sub.events[1]!);
      await eventually('checkpoint at 1', async () =>
        (await emulator.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).stats
          .lastCheckpointedEventRevision === 1n
          ? true
          : undefined,
      );
      await emulator.client.restartPersistentSubscriptionSubsystem();
      await sub.until('dropped', () => sub.error !== undefined);
      assert.ok(sub.error instanceof PersistentSubscriptionDroppedError);
      const again = record(emulator.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
      await again.until('redelivery', () => again.events.length === 2);
      await again.stop();
      assert.deepEqual(
        again.events.map((e) => e.event!.revision),
        [2n, 3n],
      );
    });

    test('an unfiltered subscription to $all delivers system events but not its own checkpoints', async () => {
      const group = `unfiltered-${writePath}-${Date.now()}`;
      await emulator.client.createPersistentSubscriptionToAll(
        group,
        persistentSubscriptionToAllSettingsFromDefaults({ startFrom: END, checkPointUpperBound: 1 }),
      );
      const subscription = emulator.client.subscribeToPersistentSubscriptionToAll(group);
      const sub = record(subscription);
      subscription.on('data', (event) => void subscription.ack(event));
      await sub.until('confirmation', () => sub.log.includes('confirmation'));
      const stream = streamName();
      await emulator.client.setStreamMetadata(stream, { maxCount: 5 });
      await sub.until('metadata event', () => sub.events.some((e) => e.event?.streamId === `$$${stream}`));
      await emulator.client.appendToStream(stream, testEvents(3));
      await sub.until(
        'three more',
        () => sub.events.filter((e) => e.event?.streamId === stream).length === 3,
      );
      // Once a checkpoint is written, an event appended after it closes the window: a delivered
      // checkpoint would arrive before that event.
      await eventually('a checkpoint of the group', async () => {
        const checkpoints = await collect(
          emulator.client.readStream(`$persistentsubscription-$all::${group}-checkpoint`),
        ).catch(() => []);
        return checkpoints.length > 0 ? true : undefined;
      });
      await emulator.client.appendToStream(stream, testEvents(1, 'last'));
      await sub.until('the last event', () => sub.events.some((e) => e.event?.type === 'last'));
      await sub.stop();
      assert.ok(sub.events.every((e) => !e.event!.streamId.startsWith('$persistentsubscription-$all::')));
    });
  });
}
