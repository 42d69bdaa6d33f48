import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startEmulator } from '../../../src/emulator/index.ts';
import { createEsdbEventStore } from '../../../src/eventsourcing/eventstore/esdb.ts';
import type { EventStore } from '../../../src/eventsourcing/eventstore/port.ts';
import {
  createPersistentConsumer,
  defaultGroupSettings,
} from '../../../src/eventsourcing/subscription/consumer.ts';
import { eventually } from '../../support/eventsourcing-projector-suite.ts';

let emulator: Awaited<ReturnType<typeof startEmulator>>;
let store: EventStore;
before(async () => {
  emulator = await startEmulator({ port: 0 });
  store = createEsdbEventStore({ connectionString: emulator.connectionString });
});
after(async () => {
  await store.close();
  await emulator.close();
});

async function append(stream: string, n: number) {
  await store.appendToStream(
    stream,
    [{ id: randomUUID(), type: 'Numbered', data: { n }, metadata: { schemaVersion: 1 } }],
    'any',
  );
}

describe('persistent-subscription consumer on the emulator', () => {
  test('ensureGroup creates once, leaves equal settings alone and updates changed ones', async () => {
    const stream = `ps-${randomUUID()}`;
    const group = 'g';
    assert.equal(await store.persistent.ensureGroup({ stream }, group, defaultGroupSettings), 'created');
    assert.equal(await store.persistent.ensureGroup({ stream }, group, defaultGroupSettings), 'unchanged');
    assert.equal(
      await store.persistent.ensureGroup({ stream }, group, { ...defaultGroupSettings, maxRetryCount: 2 }),
      'updated',
    );
    assert.equal(
      await store.persistent.ensureGroup({ stream }, group, { ...defaultGroupSettings, maxRetryCount: 2 }),
      'unchanged',
    );
  });

  test('handles each stream in order, streams concurrently, and acks after success', async (t) => {
    const prefix = `pso${randomUUID().slice(0, 8)}`;
    const streams = [`${prefix}-a`, `${prefix}-b`, `${prefix}-c`];
    for (let i = 0; i < 10; i++) for (const stream of streams) await append(stream, i);
    const seen = new Map<string, number[]>();
    let running = 0;
    let maxRunning = 0;
    const consumer = createPersistentConsumer({
      eventStore: store,
      source: { all: true, filter: { streamPrefixes: [`${prefix}-`] } },
      group: `g-${prefix}`,
      concurrency: 3,
      handler: async (event) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        // Work that takes a little time, so handlers overlap and the concurrency bound shows.
        await new Promise((resolve) => setTimeout(resolve, 2));
        const list = seen.get(event.streamId) ?? [];
        list.push((event.data as { n: number }).n);
        seen.set(event.streamId, list);
        running--;
      },
    });
    t.after(() => consumer.stop());
    await consumer.start();
    await eventually('all 30 events handled', () => consumer.status().handled === 30);
    for (const stream of streams) assert.deepEqual(seen.get(stream), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.ok(maxRunning > 1, `expected concurrent streams, saw at most ${maxRunning}`);
    assert.equal(consumer.status().ensured, 'created');
  });

  test('a failing event is retried with its reason, parked after maxRetryCount, listed and replayed', async (t) => {
    const stream = `psp-${randomUUID()}`;
    await append(stream, 1);
    await append(stream, 13);
    await append(stream, 2);
    let healed = false;
    const attempts = new Map<number, number>();
    const handled: number[] = [];
    const consumer = createPersistentConsumer({
      eventStore: store,
      source: { stream },
      group: 'g',
      settings: { maxRetryCount: 2, messageTimeoutMs: 10_000 },
      handler: async (event) => {
        const n = (event.data as { n: number }).n;
        attempts.set(n, (attempts.get(n) ?? 0) + 1);
        if (n === 13 && !healed) throw new Error('thirteen is unlucky');
        handled.push(n);
      },
    });
    t.after(() => consumer.stop());
    await consumer.start();
    await eventually('the poison event to be parked', async () => (await consumer.listParked()).length === 1);
    const [parked] = await consumer.listParked();
    assert.equal((parked!.event.data as { n: number }).n, 13);
    assert.match(parked?.reason ?? '', /thirteen is unlucky/);
    assert.equal(attempts.get(13), 3);
    await eventually('the events around it to be handled', () => handled.includes(1) && handled.includes(2));

    healed = true;
    await consumer.replayParked();
    await eventually('the replayed event to be handled', () => handled.includes(13));
    assert.deepEqual(await consumer.listParked(), []);
  });
});
