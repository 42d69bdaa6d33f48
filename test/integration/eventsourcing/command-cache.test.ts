import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type CommandHandler, createCommandHandler } from '../../../src/eventsourcing/command/handler.ts';
import type { StateCacheOptions } from '../../../src/eventsourcing/command/state-cache.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import { createEsdbEventStore } from '../../../src/eventsourcing/eventstore/esdb.ts';
import type { EventStore } from '../../../src/eventsourcing/eventstore/port.ts';
import { type TestEmulator, withEmulator } from '../../support/emulator.ts';
import { commandHandlerSuite } from '../../support/eventsourcing-command-suite.ts';
import {
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  accountDecider,
  accountEvents,
} from '../../support/eventsourcing-sample.ts';

type Handler = CommandHandler<AccountCommand, AccountEvent, AccountState>;

let emulator: TestEmulator;
// Two connections: two processes writing the same streams.
let storeA: EventStore;
let storeB: EventStore;
before(async () => {
  emulator = await withEmulator();
  storeA = createEsdbEventStore({ connectionString: emulator.connectionString });
  storeB = createEsdbEventStore({ connectionString: emulator.connectionString });
});
after(async () => {
  await storeA.close();
  await storeB.close();
  await emulator.close();
});

commandHandlerSuite('EventStoreDB adapter on the emulator, cache off', async () => storeA, { cache: false });

function handlerOn(eventStore: EventStore, category: string, cache: false | StateCacheOptions = {}): Handler {
  return createCommandHandler({
    eventStore,
    decider: accountDecider,
    streamName: (id) => `${category}-${id}`,
    events: accountEvents,
    backoff: { initialDelayMs: 1, maxDelayMs: 5, factor: 2 },
    maxRetries: 50,
    cache,
  });
}

const ctx = (key: string) => ({ idempotencyKey: key, actor: 'tester' });
const open = (id: string): AccountCommand => ({ type: 'OpenAccount', accountId: id, owner: 'o' });
const deposit = (id: string, amount: number): AccountCommand => ({ type: 'Deposit', accountId: id, amount });

async function outcome(promise: Promise<unknown>) {
  try {
    const result = (await promise) as { outcome: string; state?: unknown; nextRevision?: unknown };
    return { outcome: result.outcome, state: result.state, nextRevision: result.nextRevision };
  } catch (error) {
    if (error instanceof DomainError) return { error: error.code };
    return { error: (error as Error).constructor.name };
  }
}

describe('command handler state cache on the emulator', () => {
  test('a stream tombstoned by another client fails as without a cache, and its entry is dropped', async () => {
    const category = `cache${randomUUID().slice(0, 8)}`;
    const cached = handlerOn(storeA, category);
    const plain = handlerOn(storeA, category, false);
    await cached.handle('a', open('a'), ctx('open'));
    await cached.handle('a', deposit('a', 1), ctx('d1'));
    await emulator.client.tombstoneStream(`${category}-a`);
    const withCache = await outcome(cached.handle('a', deposit('a', 1), ctx('d2')));
    const without = await outcome(plain.handle('a', deposit('a', 1), ctx('d2')));
    assert.deepEqual(withCache, without);
    assert.deepEqual(withCache, { error: 'StreamDeletedError' });
    assert.equal(cached.stats().entries, 0);
    assert.deepEqual(await outcome(cached.handle('a', deposit('a', 1), ctx('d3'))), without);
  });

  test('a stream soft-deleted and written again elsewhere is read whole, not folded onto the old state', async () => {
    const category = `cache${randomUUID().slice(0, 8)}`;
    const cached = handlerOn(storeA, category);
    const other = handlerOn(storeB, category, false);
    await cached.handle('a', open('a'), ctx('open'));
    await cached.handle('a', deposit('a', 50), ctx('d1'));
    await emulator.client.deleteStream(`${category}-a`);
    // Another process opens the account anew: revisions go on from 2, the old events are hidden.
    const reopened = await other.handle('a', open('a'), ctx('reopen'));
    assert.equal(reopened.outcome === 'appended' && reopened.nextRevision, 2n);
    const result = await cached.handle('a', deposit('a', 5), ctx('d2'));
    assert.equal(result.outcome, 'appended');
    assert.deepEqual(result.outcome === 'appended' && result.state, { status: 'open', balance: 5 });
    assert.equal(cached.stats().invalidations, 1);
    const check = await other.handle('a', deposit('a', 1), ctx('d3'));
    assert.deepEqual(check.outcome === 'appended' && check.state, { status: 'open', balance: 6 });
  });

  test('after invalidate, a soft-deleted stream is seen as gone', async () => {
    const category = `cache${randomUUID().slice(0, 8)}`;
    const cached = handlerOn(storeA, category);
    const plain = handlerOn(storeB, category, false);
    await cached.handle('a', open('a'), ctx('open'));
    await emulator.client.deleteStream(`${category}-a`);
    cached.invalidate('a');
    const withCache = await outcome(cached.handle('a', deposit('a', 1), ctx('d1')));
    assert.deepEqual(withCache, { error: 'account.not_open' });
    assert.deepEqual(await outcome(plain.handle('a', deposit('a', 1), ctx('d1'))), withCache);
  });

  test('two processes with their own caches leave the streams and answers a cache-less handler would', async () => {
    const ids = ['a', 'b'];
    for (let seed = 1; seed <= 4; seed++) {
      let s = seed * 7919;
      const random = (n: number) => {
        s = (s * 48271) % 2147483647;
        return s % n;
      };
      const cachedCategory = `cache${randomUUID().slice(0, 8)}`;
      const plainCategory = `plain${randomUUID().slice(0, 8)}`;
      const writers = [
        handlerOn(storeA, cachedCategory),
        handlerOn(storeB, cachedCategory, { maxEntries: 1 }),
      ];
      const reference = handlerOn(storeA, plainCategory, false);
      for (const id of ids) {
        await reference.handle(id, open(id), ctx(`open-${id}`));
        await writers[0]!.handle(id, open(id), ctx(`open-${id}`));
      }
      for (let i = 0; i < 30; i++) {
        const id = ids[random(ids.length)]!;
        // Every fifth command repeats an earlier key (a redelivery), possibly by the other process.
        const key = i % 5 === 4 ? `k${random(i)}` : `k${i}`;
        const command =
          i % 13 === 12 ? ({ type: 'CloseAccount', accountId: id } as const) : deposit(id, 1 + i);
        const expected = await outcome(reference.handle(id, command, ctx(key)));
        const actual = await outcome(writers[random(2)]!.handle(id, command, ctx(key)));
        if (expected.outcome === 'already_handled' && actual.outcome === 'appended') {
          assert.equal(actual.nextRevision, expected.nextRevision);
          continue;
        }
        assert.deepEqual(actual, expected, `seed ${seed}, command ${i} on ${id} with ${key}`);
      }
      for (const id of ids) {
        const strip = (events: Awaited<ReturnType<EventStore['readStream']>>) =>
          events?.map((e) => ({ type: e.type, revision: e.revision, data: e.data, metadata: e.metadata }));
        assert.deepEqual(
          strip(await storeA.readStream(`${cachedCategory}-${id}`)),
          strip(await storeA.readStream(`${plainCategory}-${id}`)),
        );
      }
      assert.ok(writers[0]!.stats().hits > 0);
    }
  });

  test('a tail read asks the server only for the events after the cached revision', async () => {
    const category = `cache${randomUUID().slice(0, 8)}`;
    const cached = handlerOn(storeA, category);
    const other = handlerOn(storeB, category, false);
    await cached.handle('a', open('a'), ctx('open'));
    for (let i = 0; i < 20; i++) await other.handle('a', deposit('a', 1), ctx(`o${i}`));
    const tail = await storeA.readStream(`${category}-a`, { fromRevision: 18n });
    assert.deepEqual(
      tail?.map((e) => e.revision),
      [18n, 19n, 20n],
    );
    assert.deepEqual(await storeA.readStream(`${category}-a`, { fromRevision: 99n }), []);
    assert.equal(await storeA.readStream(`${category}-missing`, { fromRevision: 3n }), null);
    const result = await cached.handle('a', deposit('a', 1), ctx('mine'));
    assert.deepEqual(result.outcome === 'appended' && result.state, { status: 'open', balance: 21 });
    assert.equal(cached.stats().tailReads, 1);
  });
});
