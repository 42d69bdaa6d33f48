import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.ts';
import { createEsdbEventStore } from '../../src/eventsourcing/eventstore/esdb.ts';
import { deterministicEventId } from '../../src/eventsourcing/eventstore/event-ids.ts';
import { createInProcessEventStore } from '../../src/eventsourcing/eventstore/in-process.ts';
import {
  type AllSubscription,
  type AllSubscriptionOptions,
  type EventStore,
  EventStoreUnavailableError,
  type NewEvent,
  type SubscriptionMessage,
} from '../../src/eventsourcing/eventstore/port.ts';
import { defaultGroupSettings } from '../../src/eventsourcing/subscription/consumer.ts';

/** Pulls messages until `stop` holds for one (included), failing after `ms` with `what`. */
async function collect(
  subscription: AllSubscription,
  stop: (message: SubscriptionMessage) => boolean,
  what: string,
  ms = 10_000,
): Promise<SubscriptionMessage[]> {
  const iterator = subscription[Symbol.asyncIterator]();
  const messages: SubscriptionMessage[] = [];
  const deadline = Date.now() + ms;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${what}`)),
        Math.max(0, deadline - Date.now()),
      );
    });
    const result = await Promise.race([iterator.next(), timeout]).finally(() => clearTimeout(timer));
    if (result.done) throw new Error(`the subscription ended while waiting for ${what}`);
    messages.push(result.value);
    if (stop(result.value)) return messages;
  }
}

const isCaughtUp = (message: SubscriptionMessage) => message.kind === 'caughtUp';

function event(stream: string, key: string, index: number, extra: Partial<NewEvent> = {}): NewEvent {
  return {
    id: deterministicEventId(stream, key, index),
    type: 'Numbered',
    data: { stream, key, index },
    metadata: { schemaVersion: 1 },
    ...extra,
  };
}

describe('in-process and gRPC adapters on one emulator', () => {
  let emulator: RunningEmulator;
  let grpc: EventStore;
  let local: EventStore;
  before(async () => {
    emulator = await startEmulator({ port: 0 });
    grpc = createEsdbEventStore({ connectionString: emulator.connectionString });
    local = createInProcessEventStore(emulator, { persistent: grpc.persistent });
  });
  after(async () => {
    await local.close();
    await grpc.close();
    await emulator.close();
  });

  test('what one adapter appends the other reads with the same revisions, positions and times', async () => {
    const stream = `x-${randomUUID()}`;
    const first = await local.appendToStream(
      stream,
      [event(stream, 'a', 0), event(stream, 'a', 1)],
      'no_stream',
    );
    const second = await grpc.appendToStream(stream, [event(stream, 'b', 0)], 1n);
    const third = await local.appendToStream(stream, [event(stream, 'c', 0)], 2n);
    assert.equal(first.outcome, 'appended');
    assert.equal(second.outcome, 'appended');
    assert.equal(third.outcome, 'appended');
    const overGrpc = await grpc.readStream(stream);
    const inProcess = await local.readStream(stream);
    assert.equal(overGrpc?.length, 4);
    assert.deepEqual(inProcess, overGrpc);
    assert.deepEqual(
      overGrpc?.map((e) => e.revision),
      [0n, 1n, 2n, 3n],
    );
    if (first.outcome === 'appended' && second.outcome === 'appended' && third.outcome === 'appended') {
      assert.deepEqual(overGrpc?.[1]?.position, first.position);
      assert.deepEqual(overGrpc?.[2]?.position, second.position);
      assert.deepEqual(inProcess?.[3]?.position, third.position);
      // A retry through the other adapter is recognised by the same idempotency check.
      assert.deepEqual(await grpc.appendToStream(stream, [event(stream, 'c', 0)], 2n), third);
      assert.deepEqual(await local.appendToStream(stream, [event(stream, 'b', 0)], 1n), second);
    }
    assert.deepEqual(await local.readAll('start', 10_000), await grpc.readAll('start', 10_000));
    const from = overGrpc![1]!.position;
    assert.deepEqual(await local.readAll(from, 2), await grpc.readAll(from, 2));
    assert.deepEqual(await local.headOfAll(), await grpc.headOfAll());
  });

  test('a conflict reads the same through either adapter', async () => {
    const stream = `x-${randomUUID()}`;
    await grpc.appendToStream(stream, [event(stream, 'a', 0)], 'no_stream');
    const wrong = event(stream, 'z', 0);
    assert.deepEqual(
      await local.appendToStream(stream, [wrong], 'no_stream'),
      await grpc.appendToStream(stream, [wrong], 'no_stream'),
    );
    assert.deepEqual(await local.appendToStream(stream, [wrong], 5n), {
      outcome: 'conflict',
      expected: 5n,
      actual: 0n,
    });
  });

  test('subscriptions through either adapter deliver the same events and checkpoints, live too', async () => {
    const category = `sub${randomUUID().slice(0, 8)}`;
    for (let i = 0; i < 40; i++) {
      const stream = `${category}-${i % 3}`;
      const writer = i % 2 === 0 ? local : grpc;
      await writer.appendToStream(stream, [event(stream, `k${i}`, 0)], 'any');
      await writer.appendToStream(`other-${category}`, [event(`other-${category}`, `k${i}`, 0)], 'any');
    }
    const options: AllSubscriptionOptions = {
      from: 'start',
      filter: { streamPrefixes: [`${category}-`] },
      checkpointInterval: 1,
    };
    const overGrpc = grpc.subscribeToAll(options);
    const inProcess = local.subscribeToAll(options);
    try {
      const caughtUpGrpc = await collect(overGrpc, isCaughtUp, 'the gRPC subscription to catch up');
      const caughtUpLocal = await collect(inProcess, isCaughtUp, 'the in-process subscription to catch up');
      assert.deepEqual(caughtUpLocal, caughtUpGrpc);
      assert.equal(caughtUpGrpc.filter((m) => m.kind === 'event').length, 40);
      assert.ok(caughtUpGrpc.some((m) => m.kind === 'checkpoint'));

      let last = 0n;
      for (let i = 0; i < 40; i++) {
        const stream = `${category}-${i % 3}`;
        const writer = i % 2 === 0 ? grpc : local;
        await writer.appendToStream(`other-${category}`, [event(`other-${category}`, `l${i}`, 0)], 'any');
        const result = await writer.appendToStream(stream, [event(stream, `l${i}`, 0)], 'any');
        if (result.outcome === 'appended') last = result.position.commit;
      }
      const isLast = (m: SubscriptionMessage) => m.kind === 'event' && m.event.position.commit === last;
      const liveGrpc = await collect(overGrpc, isLast, 'the last live event over gRPC');
      const liveLocal = await collect(inProcess, isLast, 'the last live event in process');
      assert.deepEqual(liveLocal, liveGrpc);
      assert.ok(
        liveGrpc.some((m) => m.kind === 'checkpoint'),
        'live checkpoints were sent',
      );
    } finally {
      await overGrpc.close();
      await inProcess.close();
    }
  });

  test('a persistent group through the gRPC delegate receives events appended in process', async () => {
    const stream = `ps-${randomUUID()}`;
    const group = 'g';
    assert.equal(await local.persistent.ensureGroup({ stream }, group, defaultGroupSettings), 'created');
    const subscription = local.persistent.subscribe({ stream }, group, { bufferSize: 10 });
    try {
      await local.appendToStream(stream, [event(stream, 'p', 0)], 'no_stream');
      const iterator = subscription[Symbol.asyncIterator]();
      const delivery = await iterator.next();
      assert.equal(delivery.done, false);
      if (delivery.done) return;
      assert.deepEqual(delivery.value.event, (await local.readStream(stream))?.[0]);
      await delivery.value.ack();
    } finally {
      await subscription.close();
      await local.persistent.deleteGroup({ stream }, group);
    }
  });
});

describe('in-process adapter after its emulator closes', () => {
  test('calls fail with EventStoreUnavailableError and a live subscription drops with it', async () => {
    const emulator = await startEmulator({ port: 0 });
    const local = createInProcessEventStore(emulator);
    const stream = `x-${randomUUID()}`;
    await local.appendToStream(stream, [event(stream, 'a', 0)], 'no_stream');
    const subscription = local.subscribeToAll({ from: 'start', filter: { streamPrefixes: ['x-'] } });
    await collect(subscription, isCaughtUp, 'the subscription to catch up');
    const pending = subscription[Symbol.asyncIterator]().next();
    await emulator.close();
    await assert.rejects(pending, EventStoreUnavailableError);
    await assert.rejects(local.readStream(stream), EventStoreUnavailableError);
    await assert.rejects(
      local.appendToStream(stream, [event(stream, 'b', 0)], 0n),
      EventStoreUnavailableError,
    );
    await assert.rejects(local.readAll('start', 1), EventStoreUnavailableError);
    await assert.rejects(local.headOfAll(), EventStoreUnavailableError);
    await local.close();
  });

  test('close ends its subscriptions and later calls fail as unavailable', async () => {
    const emulator = await startEmulator({ port: 0 });
    const local = createInProcessEventStore(emulator);
    try {
      const subscription = local.subscribeToAll({ from: 'start' });
      await collect(subscription, isCaughtUp, 'the subscription to catch up');
      const pending = subscription[Symbol.asyncIterator]().next();
      await local.close();
      assert.deepEqual(await pending, { value: undefined, done: true });
      await assert.rejects(local.headOfAll(), EventStoreUnavailableError);
    } finally {
      await emulator.close();
    }
  });
});

/**
 * Results with what two emulators cannot share replaced: times, and the ids and bodies of the
 * system events each writes on its own (random ids, epoch records); their sizes and positions match.
 */
function comparable(value: unknown): unknown {
  if (value instanceof Date) return 'created';
  if (value instanceof Uint8Array) return { bytes: Buffer.from(value).toString('hex') };
  if (Array.isArray(value)) return value.map(comparable);
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(([key, inner]) => [key, comparable(inner)] as const);
    const record = Object.fromEntries(entries);
    const system = (field: unknown) => typeof field === 'string' && field.startsWith('$');
    if (system(record.streamId) || system(record.type)) {
      return { ...record, id: 'system', data: 'system' };
    }
    return record;
  }
  return value;
}

async function outcome(operation: () => Promise<unknown>): Promise<unknown> {
  try {
    return comparable(await operation());
  } catch (error) {
    return { rejected: error instanceof EventStoreUnavailableError ? 'unavailable' : 'error' };
  }
}

/**
 * One script of appends, reads and subscriptions with fixed ids and payloads. Two fresh emulators
 * given the same script write byte-identical logs, so positions must match exactly as well.
 */
async function script(store: EventStore, emulator: RunningEmulator): Promise<unknown[]> {
  const results: unknown[] = [];
  const run = async (operation: () => Promise<unknown>) => results.push(await outcome(operation));
  const s = 'acct-1';
  const [e0, e1, e2, e3, e4] = [0, 1, 2, 3, 4].map((i) => event(s, 'k', i)) as [
    NewEvent,
    NewEvent,
    NewEvent,
    NewEvent,
    NewEvent,
  ];
  const stranger = event(s, 'stranger', 0);
  await run(() => store.appendToStream(s, [e0, e1], 'no_stream'));
  await run(() => store.appendToStream(s, [e0, e1], 'no_stream'));
  await run(() => store.appendToStream(s, [e0], 'no_stream'));
  await run(() => store.appendToStream(s, [e1], 0n));
  await run(() => store.appendToStream(s, [e0, stranger], 'no_stream'));
  await run(() => store.appendToStream(s, [stranger], 'no_stream'));
  await run(() => store.appendToStream(s, [e2], 1n));
  await run(() => store.appendToStream(s, [e3], 7n));
  await run(() => store.appendToStream(s, [e3], 'stream_exists'));
  await run(() => store.appendToStream('acct-missing', [e4], 'stream_exists'));
  await run(() => store.appendToStream(s, [e0, e1], 'any'));
  await run(() => store.appendToStream(s, [e0, stranger], 'any'));
  await run(() => store.appendToStream('acct-empty', [], 'any'));
  await run(() => store.appendToStream(s, [], 'any'));
  await run(() => store.appendToStream(s, [], 0n));
  await run(() => store.appendToStream(s, [], 3n));
  // Payload shapes: metadata absent, null, bytes; data that is not an object.
  const m = 'meta-1';
  await run(() =>
    store.appendToStream(
      m,
      [
        { ...event(m, 'm', 0), metadata: undefined },
        { ...event(m, 'm', 1), metadata: null },
        { ...event(m, 'm', 2), metadata: Buffer.from('not json') },
        { ...event(m, 'm', 3), metadata: Buffer.from('{"a":1}') },
        { ...event(m, 'm', 4), data: 'text' },
        { ...event(m, 'm', 5), data: 5, type: 'Other' },
        { ...event(m, 'm', 6), data: null, id: event(m, 'm', 6).id.toUpperCase() },
        { ...event(m, 'm', 7), id: `{${event(m, 'm', 7).id}}` },
        { ...event(m, 'm', 8), id: event(m, 'm', 8).id.replaceAll('-', '') },
      ],
      'no_stream',
    ),
  );
  // Refused appends.
  await run(() => store.appendToStream(m, [{ ...event(m, 'bad', 0), id: 'not-a-uuid' }], 'any'));
  await run(() =>
    store.appendToStream(m, [{ ...event(m, 'bad', 1), id: '00000000-0000-0000-0000-000000000000' }], 'any'),
  );
  await run(() => store.appendToStream(m, [{ ...event(m, 'bad', 2), type: '' }], 'any'));
  await run(() =>
    store.appendToStream(m, [{ ...event(m, 'bad', 4), id: `${event(m, 'bad', 4).id.slice(0, -1)}g` }], 'any'),
  );
  await run(() =>
    store.appendToStream(m, [{ ...event(m, 'bad', 3), data: { big: 'x'.repeat(1024 * 1024) } }], 'any'),
  );
  // Enough events in several streams for filtered pages and checkpoints.
  for (let i = 0; i < 90; i++) {
    const stream = i % 3 === 0 ? `other-${i % 4}` : `acct-${i % 5}`;
    await run(() =>
      store.appendToStream(stream, [event(stream, `bulk${i}`, 0, { type: i % 2 ? 'Even' : 'Odd' })], 'any'),
    );
  }
  await emulator.store.tombstoneStream('acct-gone', 'any');
  await run(() => store.appendToStream('acct-gone', [event('acct-gone', 'g', 0)], 'any'));
  await run(() => store.readStream('acct-gone'));
  await run(() => store.readStream(s));
  await run(() => store.readStream(m));
  await run(() => store.readStream('nothing-here'));
  const all = await store.readAll('start', 100_000);
  results.push(comparable(all));
  const middle = all[40]!.position;
  await run(() => store.readAll(middle, 5));
  await run(() => store.readAll({ commit: middle.commit, prepare: 0n }, 5));
  await run(() => store.readAll(middle, 0));
  await run(() => store.readAll('start', 0));
  await run(() => store.readAll({ commit: 10n, prepare: 20n }, 5));
  await run(() => store.headOfAll());

  const subscriptions: AllSubscriptionOptions[] = [
    { from: 'start' },
    { from: 'start', filter: { streamPrefixes: ['acct-'] } },
    { from: 'start', filter: { streamPrefixes: ['acct-'] }, checkpointInterval: 2 },
    { from: 'start', filter: { eventTypePrefixes: ['Ev'] } },
    { from: 'start', filter: { streamRegex: '^other-[12]' } },
    { from: 'start', filter: { streamPrefixes: ['nothing-matches-'] } },
    { from: 'start', filter: { eventTypePrefixes: ['$'] } },
    { from: middle, filter: { streamPrefixes: ['acct-'] } },
    { from: { commit: middle.commit, prepare: 0n }, filter: { streamPrefixes: ['other-'] } },
    { from: middle },
  ];
  for (const options of subscriptions) {
    const subscription = store.subscribeToAll(options);
    await run(() => collect(subscription, isCaughtUp, `catch-up of ${JSON.stringify(options.filter)}`));
    await subscription.close();
  }
  const invalid = store.subscribeToAll({ from: 'start', filter: { streamRegex: '[' } });
  await run(() => collect(invalid, isCaughtUp, 'an invalid filter to be refused'));
  await invalid.close();

  // Live: checkpoints counted from the subscription, interleaved with new events.
  const live = store.subscribeToAll({ from: 'start', filter: { streamPrefixes: ['acct-3'] } });
  await run(() => collect(live, isCaughtUp, 'the live subscription to catch up'));
  let last = 0n;
  for (let i = 0; i < 80; i++) {
    const stream = i % 4 === 0 ? 'acct-3' : `other-live-${i % 3}`;
    const result = await store.appendToStream(stream, [event(stream, `live${i}`, 0)], 'any');
    if (result.outcome === 'appended' && stream === 'acct-3') last = result.position.commit;
  }
  await run(() =>
    collect(live, (m) => m.kind === 'event' && m.event.position.commit === last, 'the last live event'),
  );
  await live.close();
  return results;
}

describe('in-process adapter against the gRPC adapter, on twin emulators', () => {
  test('one script gives identical outcomes, events, positions and subscription messages', async () => {
    const [twinA, twinB] = await Promise.all([startEmulator({ port: 0 }), startEmulator({ port: 0 })]);
    const grpc = createEsdbEventStore({ connectionString: twinA.connectionString });
    const local = createInProcessEventStore(twinB);
    try {
      const expected = await script(grpc, twinA);
      const actual = await script(local, twinB);
      assert.equal(actual.length, expected.length);
      for (let i = 0; i < expected.length; i++) {
        assert.deepEqual(actual[i], expected[i], `step ${i}`);
      }
    } finally {
      await local.close();
      await grpc.close();
      await twinA.close();
      await twinB.close();
    }
  });
});
