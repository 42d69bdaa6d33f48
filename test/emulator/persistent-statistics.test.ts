/**
 * Conformance: what GetInfo/List report about a persistent subscription's connections — the
 * round-trip measurements of `extraStatistics` (`RequestStatistics.cs`) and the user name an
 * insecure node gives every connection (its system account).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  persistentSubscriptionToAllSettingsFromDefaults,
  persistentSubscriptionToStreamSettingsFromDefaults,
  START,
} from '@eventstore/db-client';
import { RequestStatistics } from '../../src/emulator/persistent/latency.ts';
import { type TestEmulator, withEmulator } from '../support/emulator.ts';
import { eventually, streamName, testEvents } from './support.ts';

const KEYS = [
  'Mean',
  'Median',
  'Fastest',
  'Quintile 1',
  'Quintile 2',
  'Quintile 3',
  'Quintile 4',
  'Quintile 5',
  '90%',
  '95%',
  '99%',
  '99.5%',
  '99.9%',
  'Highest',
];

/** Records round trips of the given lengths (ms), each on its own message id. */
function measured(lengths: number[]): RequestStatistics {
  const statistics = new RequestStatistics();
  lengths.forEach((length, index) => {
    statistics.start(`m${index}`, 1000);
    statistics.end(`m${index}`, 1000 + length);
  });
  return statistics;
}

describe('round-trip measurements', () => {
  test('nothing is reported before the first ack', () => {
    const statistics = new RequestStatistics();
    statistics.start('a', 0);
    assert.deepEqual(statistics.report(), []);
  });

  test('ten round trips give the server’s figures, in its order', () => {
    const report = measured([10, 1, 9, 2, 8, 3, 7, 4, 6, 5]).report();
    assert.deepEqual(
      report.map(([key]) => key),
      KEYS,
    );
    // Sorted 1..10: Mean floor(55 / 10); Median items[5]; Quintile n items[floor((n-1) × 20% × 10)];
    // every percentile from 90% up lands on the last item.
    assert.deepEqual(Object.fromEntries(report), {
      Mean: 5,
      Median: 6,
      Fastest: 1,
      'Quintile 1': 1,
      'Quintile 2': 3,
      'Quintile 3': 5,
      'Quintile 4': 7,
      'Quintile 5': 9,
      '90%': 10,
      '95%': 10,
      '99%': 10,
      '99.5%': 10,
      '99.9%': 10,
      Highest: 10,
    });
  });

  test('round trips are whole milliseconds, rounded down', () => {
    const statistics = new RequestStatistics();
    statistics.start('a', 10.2);
    statistics.end('a', 13.1);
    assert.equal(Object.fromEntries(statistics.report()).Highest, 2);
  });

  test('only the latest 1,000 round trips count', () => {
    // One slow trip, then 1,000 fast ones push it out of the window.
    const report = Object.fromEntries(measured([500, ...Array.from({ length: 1000 }, () => 1)]).report());
    assert.equal(report.Highest, 1);
  });

  test('an ack for a message never sent on this connection is ignored', () => {
    const statistics = new RequestStatistics();
    statistics.end('unknown', 5);
    assert.deepEqual(statistics.report(), []);
  });

  test('sending a message again restarts its clock', () => {
    const statistics = new RequestStatistics();
    statistics.start('a', 0);
    statistics.start('a', 90);
    statistics.end('a', 100);
    assert.equal(Object.fromEntries(statistics.report()).Highest, 10);
  });
});

describe('connection info', () => {
  let emulator: TestEmulator;
  before(async () => {
    emulator = await withEmulator();
  });
  after(() => emulator.close());

  /** Subscribes to `group` on `stream`, acking everything, until `count` events were acked. */
  async function ackAll(stream: string, group: string, count: number) {
    const subscription = emulator.client.subscribeToPersistentSubscriptionToStream(stream, group);
    let acked = 0;
    subscription.on('data', (event) => {
      void subscription.ack(event).then(() => acked++);
    });
    await eventually(`${count} acks`, () => (acked >= count ? true : undefined));
    return subscription;
  }

  test('ported: with extraStatistics a connection reports its round-trip measurements', async () => {
    const stream = streamName('stats');
    const group = 'with-statistics';
    await emulator.client.createPersistentSubscriptionToStream(
      stream,
      group,
      persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, extraStatistics: true }),
    );
    await emulator.client.appendToStream(stream, testEvents(20));
    const subscription = await ackAll(stream, group, 20);
    try {
      const info = await eventually('measurements in the connection info', async () => {
        const found = await emulator.client.getPersistentSubscriptionToStreamInfo(stream, group);
        return found.connections[0]?.extraStatistics?.size ? found : undefined;
      });
      const statistics = info.connections[0]?.extraStatistics;
      assert.ok(statistics !== undefined);
      assert.deepEqual(
        [...statistics.keys()],
        KEYS.map((key) => key.toLowerCase()),
      );
      const fastest = statistics.get('fastest')!;
      assert.ok(fastest >= 0n && fastest <= statistics.get('highest')!);
    } finally {
      await subscription.unsubscribe();
    }
  });

  test('without extraStatistics a connection reports no measurements', async () => {
    const stream = streamName('no-stats');
    const group = 'without-statistics';
    await emulator.client.createPersistentSubscriptionToStream(
      stream,
      group,
      persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START }),
    );
    await emulator.client.appendToStream(stream, testEvents(5));
    const subscription = await ackAll(stream, group, 5);
    try {
      const info = await emulator.client.getPersistentSubscriptionToStreamInfo(stream, group);
      assert.equal(info.connections.length, 1);
      // The client maps an empty list of measurements to undefined.
      assert.equal(info.connections[0]!.extraStatistics, undefined);
    } finally {
      await subscription.unsubscribe();
    }
  });

  test('a connection’s user is the system account, whatever credentials the client sent', async () => {
    const group = 'user-name';
    await emulator.client.createPersistentSubscriptionToAll(
      group,
      persistentSubscriptionToAllSettingsFromDefaults({ startFrom: START }),
    );
    const subscription = emulator.client.subscribeToPersistentSubscriptionToAll(group, {
      credentials: { username: 'admin', password: 'changeit' },
    });
    subscription.on('data', (event) => void subscription.ack(event));
    try {
      const info = await eventually('the connection to show', async () => {
        const found = await emulator.client.getPersistentSubscriptionToAllInfo(group);
        return found.connections.length > 0 ? found : undefined;
      });
      assert.equal(info.connections[0]!.username, 'system');
      const listed = await emulator.client.listAllPersistentSubscriptions();
      const mine = listed.find((entry) => entry.groupName === group);
      assert.equal(mine?.connections[0]?.username, 'system');
    } finally {
      await subscription.unsubscribe();
    }
  });
});
