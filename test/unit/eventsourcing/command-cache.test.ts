import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { type CommandHandler, createCommandHandler } from '../../../src/eventsourcing/command/handler.ts';
import {
  createStateCache,
  estimateBytes,
  type StateCacheOptions,
} from '../../../src/eventsourcing/command/state-cache.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import type { EventStore, StoredEvent } from '../../../src/eventsourcing/eventstore/port.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { countingEventStore } from '../../support/counting-event-store.ts';
import {
  type AccountCommand,
  type AccountEvent,
  type AccountState,
  accountDecider,
  accountEvents,
} from '../../support/eventsourcing-sample.ts';

type Handler = CommandHandler<AccountCommand, AccountEvent, AccountState>;

const streamOf = (id: string) => `acct-${id}`;

function handlerOn(eventStore: EventStore, cache: false | StateCacheOptions = {}): Handler {
  return createCommandHandler({
    eventStore,
    decider: accountDecider,
    streamName: streamOf,
    events: accountEvents,
    backoff: { initialDelayMs: 0, maxDelayMs: 1, factor: 1 },
    maxRetries: 50,
    cache,
  });
}

const ctx = (key: string, extra: object = {}) => ({ idempotencyKey: key, actor: 'tester', ...extra });

/** A small seeded generator (mulberry32): the same seed gives the same schedule on every run. */
function seeded(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!,
  };
}

type Step = { id: string; command: AccountCommand; key: string; writer: 0 | 1; restart: boolean };

/** Commands on three accounts by two writers, with retried keys (some long after) and restarts. */
function schedule(seed: number, length: number): Step[] {
  const random = seeded(seed);
  const ids = ['a', 'b', 'c'];
  const steps: Step[] = [];
  for (let i = 0; i < length; i++) {
    const id = random.pick(ids);
    const retry = steps.length > 0 && random.next() < 0.2;
    if (retry) {
      const earlier = random.pick(steps);
      steps.push({ ...earlier, writer: random.int(2) as 0 | 1, restart: false });
      continue;
    }
    const roll = random.next();
    const command: AccountCommand =
      roll < 0.25
        ? { type: 'OpenAccount', accountId: id, owner: `o${i}` }
        : roll < 0.92
          ? { type: 'Deposit', accountId: id, amount: 1 + random.int(9) }
          : { type: 'CloseAccount', accountId: id };
    steps.push({ id, command, key: `k${i}`, writer: random.int(2) as 0 | 1, restart: random.next() < 0.05 });
  }
  return steps;
}

async function outcomeOf(handler: Handler, step: Step) {
  try {
    const result = await handler.handle(step.id, step.command, ctx(step.key));
    const { outcome } = result;
    if (outcome === 'conflict') return { outcome, reason: result.reason };
    return { outcome, state: result.state, nextRevision: result.nextRevision, position: result.position };
  } catch (error) {
    if (error instanceof DomainError) return { outcome: 'error', code: error.code };
    throw error;
  }
}

function comparable(events: StoredEvent[] | null) {
  return events?.map((e) => ({
    id: e.id,
    type: e.type,
    revision: e.revision,
    data: e.data,
    meta: e.metadata,
  }));
}

/** Wraps a store so every call yields a seeded number of macrotask turns before and after. */
function jittery(store: EventStore, seed: number): EventStore {
  const random = seeded(seed);
  const pause = async () => {
    for (let i = random.int(4); i > 0; i--) await new Promise((resolve) => setImmediate(resolve));
  };
  return {
    ...store,
    async readStream(stream, options) {
      await pause();
      const result = await store.readStream(stream, options);
      await pause();
      return result;
    },
    async appendToStream(stream, events, expected) {
      await pause();
      const result = await store.appendToStream(stream, events, expected);
      await pause();
      return result;
    },
  };
}

describe('command handler state cache', () => {
  test('two writers with separate caches leave the same streams and answers as without a cache, over random schedules', async () => {
    let replays = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const steps = schedule(seed, 40);
      const plain = createInMemoryEventStore();
      const reference = handlerOn(plain, false);
      const cachedStore = createInMemoryEventStore();
      // Writer 1 keeps one stream only, so it also forgets and re-reads.
      const bounds: StateCacheOptions[] = [{}, { maxEntries: 1 }];
      const writers = bounds.map((b) => handlerOn(cachedStore, b));
      for (const [index, step] of steps.entries()) {
        if (step.restart) writers[step.writer] = handlerOn(cachedStore, bounds[step.writer]!);
        const expected = await outcomeOf(reference, step);
        const actual = await outcomeOf(writers[step.writer]!, step);
        const message = `seed ${seed}, step ${index}: ${JSON.stringify(step)}`;
        if (expected.outcome === 'already_handled' && actual.outcome === 'appended') {
          // The one answer that may differ (see the README): a retry whose events sit right after
          // this writer's cached revision is recognised by the store's id check and reported as
          // appended, with where it landed (as two racing handlers without a cache can report).
          replays++;
          assert.deepEqual(
            { nextRevision: actual.nextRevision, position: actual.position },
            { nextRevision: expected.nextRevision, position: expected.position },
            message,
          );
          continue;
        }
        assert.deepEqual(actual, expected, message);
      }
      for (const id of ['a', 'b', 'c']) {
        assert.deepEqual(
          comparable(await cachedStore.readStream(streamOf(id))),
          comparable(await plain.readStream(streamOf(id))),
          `seed ${seed}: stream ${id}`,
        );
      }
      const stats = writers[0]!.stats();
      assert.ok(stats.entries <= 3);
    }
    // The schedules do exercise that case, but it stays the exception.
    assert.ok(replays < 60, `${replays} replays`);
  });

  test('concurrent writers with separate caches land every command exactly once, over random interleavings', async () => {
    for (let seed = 1; seed <= 25; seed++) {
      const random = seeded(seed);
      const store = jittery(createInMemoryEventStore(), seed);
      const writers = [handlerOn(store), handlerOn(store, { maxEntries: 2 }), handlerOn(store)];
      const ids = ['a', 'b', 'c', 'd'];
      for (const id of ids)
        await writers[0]!.handle(id, { type: 'OpenAccount', accountId: id, owner: 'o' }, ctx(`open-${id}`));
      const commands = Array.from({ length: 60 }, (_, i) => ({
        id: random.pick(ids),
        amount: 1 + random.int(9),
        key: `d${i}`,
        // Every command is sent twice, by two writers, as a redelivery would.
        writers: [random.int(3), random.int(3)],
      }));
      const results = await Promise.all(
        commands.flatMap((c) =>
          c.writers.map((w) =>
            writers[w]!.handle(c.id, { type: 'Deposit', accountId: c.id, amount: c.amount }, ctx(c.key)),
          ),
        ),
      );
      assert.ok(results.every((r) => r.outcome === 'appended' || r.outcome === 'already_handled'));
      for (const id of ids) {
        const stored = (await store.readStream(streamOf(id))) ?? [];
        const keys = stored.map((e) => (e.metadata as { idempotencyKey: string }).idempotencyKey);
        assert.equal(new Set(keys).size, keys.length, `seed ${seed}: a key landed twice in ${id}`);
        const mine = commands.filter((c) => c.id === id);
        assert.equal(stored.length, 1 + mine.length, `seed ${seed}: ${id}`);
        const balance = mine.reduce((sum, c) => sum + c.amount, 0);
        // Each writer's view, after one more command, agrees with the stream.
        for (const [w, writer] of writers.entries()) {
          const result = await writer.handle(
            id,
            { type: 'Deposit', accountId: id, amount: 1 },
            ctx(`check-${w}`),
          );
          assert.equal(result.outcome, 'appended');
          if (result.outcome !== 'appended') continue;
          assert.deepEqual(result.state, { status: 'open', balance: balance + w + 1 }, `seed ${seed}: ${id}`);
        }
      }
    }
  });

  test('a second command on a cached stream appends without reading it', async () => {
    const { store: counted, calls } = countingEventStore();
    const handler = handlerOn(counted);
    await handler.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    for (let i = 0; i < 5; i++) {
      const result = await handler.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx(`d${i}`));
      assert.equal(result.outcome, 'appended');
    }
    assert.equal(calls.reads, 1);
    assert.deepEqual(
      { ...handler.stats(), bytes: 0 },
      {
        enabled: true,
        entries: 1,
        bytes: 0,
        maxEntries: 10_000,
        maxBytes: 64 * 1024 * 1024,
        hits: 5,
        misses: 1,
        tailReads: 0,
        staleConflicts: 0,
        evictions: 0,
        invalidations: 0,
        oversized: 0,
      },
    );
    assert.ok(handler.stats().bytes > 0);
  });

  test('a write by another process is found by reading only the tail after the cached revision', async () => {
    const store = createInMemoryEventStore();
    const fromRevisions: (bigint | undefined)[] = [];
    const spied: EventStore = {
      ...store,
      readStream: (stream, options) => {
        fromRevisions.push(options?.fromRevision);
        return store.readStream(stream, options);
      },
    };
    const mine = handlerOn(spied);
    const other = handlerOn(store, false);
    await mine.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    await mine.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx('d1'));
    await other.handle('a', { type: 'Deposit', accountId: 'a', amount: 10 }, ctx('d2'));
    const result = await mine.handle('a', { type: 'Deposit', accountId: 'a', amount: 100 }, ctx('d3'));
    assert.equal(result.outcome, 'appended');
    if (result.outcome !== 'appended') return;
    assert.deepEqual(result.state, { status: 'open', balance: 111 });
    assert.equal(result.nextRevision, 3n);
    assert.deepEqual(fromRevisions, [undefined, 1n]);
    assert.equal(mine.stats().staleConflicts, 1);
    assert.equal(mine.stats().tailReads, 1);
  });

  test('a key older than the cache window is still found: the evicted stream is read once', async () => {
    const store = createInMemoryEventStore();
    const handler = handlerOn(store, { maxEntries: 1 });
    await handler.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open-a'));
    const first = await handler.handle('a', { type: 'Deposit', accountId: 'a', amount: 5 }, ctx('old'));
    await handler.handle('b', { type: 'OpenAccount', accountId: 'b', owner: 'o' }, ctx('open-b'));
    assert.equal(handler.stats().evictions, 1);
    const again = await handler.handle('a', { type: 'Deposit', accountId: 'a', amount: 5 }, ctx('old'));
    assert.equal(again.outcome, 'already_handled');
    if (again.outcome !== 'already_handled' || first.outcome !== 'appended') return;
    assert.equal(again.nextRevision, first.nextRevision);
    assert.deepEqual(again.position, first.position);
    assert.equal((await store.readStream(streamOf('a')))?.length, 2);
  });

  test('a key written through another process is found on the conflict, not appended again', async () => {
    const store = createInMemoryEventStore();
    const mine = handlerOn(store);
    const other = handlerOn(store);
    await mine.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    await other.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx('between'));
    await other.handle('a', { type: 'Deposit', accountId: 'a', amount: 5 }, ctx('k'));
    const retried = await mine.handle('a', { type: 'Deposit', accountId: 'a', amount: 5 }, ctx('k'));
    assert.equal(retried.outcome, 'already_handled');
    assert.equal(retried.outcome === 'already_handled' && retried.nextRevision, 2n);
    assert.deepEqual(retried.outcome === 'already_handled' && retried.state, { status: 'open', balance: 6 });
    assert.equal((await store.readStream(streamOf('a')))?.length, 3);
  });

  test('a key that landed through another process right after the cached revision is not written twice', async () => {
    const store = createInMemoryEventStore();
    const mine = handlerOn(store);
    const other = handlerOn(store);
    await mine.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    const landed = await other.handle('a', { type: 'Deposit', accountId: 'a', amount: 5 }, ctx('k'));
    const retried = await mine.handle('a', { type: 'Deposit', accountId: 'a', amount: 5 }, ctx('k'));
    // The store's id check answers for the same events; the outcome may read appended.
    assert.ok(retried.outcome === 'appended' || retried.outcome === 'already_handled');
    if (landed.outcome !== 'appended') return;
    assert.equal(retried.nextRevision, landed.nextRevision);
    assert.deepEqual(retried.position, landed.position);
    assert.equal((await store.readStream(streamOf('a')))?.length, 2);
    const next = await mine.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx('n'));
    assert.deepEqual(next.outcome === 'appended' && next.state, { status: 'open', balance: 6 });
  });

  test('after a restart the new process reads the stream once and goes on from there', async () => {
    const store = createInMemoryEventStore();
    const before = handlerOn(store);
    await before.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    await before.handle('a', { type: 'Deposit', accountId: 'a', amount: 2 }, ctx('d1'));
    const after = handlerOn(store);
    const retried = await after.handle('a', { type: 'Deposit', accountId: 'a', amount: 2 }, ctx('d1'));
    assert.equal(retried.outcome, 'already_handled');
    const next = await after.handle('a', { type: 'Deposit', accountId: 'a', amount: 3 }, ctx('d2'));
    assert.deepEqual(next.outcome === 'appended' && next.state, { status: 'open', balance: 5 });
    assert.deepEqual({ hits: after.stats().hits, misses: after.stats().misses }, { hits: 1, misses: 1 });
  });

  test('events of an older schema version are upcast on the full read and on the tail read alike', async () => {
    const store = createInMemoryEventStore();
    const v1 = (id: string, amount: number, key: string) => ({
      id: randomUUID(),
      type: 'MoneyDeposited',
      // v1 had no currency: the upcaster adds it.
      data: { accountId: id, amount },
      metadata: { idempotencyKey: key, schemaVersion: 1, actor: 'legacy' },
    });
    const opened = {
      id: randomUUID(),
      type: 'AccountOpened',
      data: { accountId: 'a', owner: 'o' },
      metadata: { idempotencyKey: 'open', schemaVersion: 1, actor: 'legacy' },
    };
    await store.appendToStream(streamOf('a'), [opened, v1('a', 4, 'legacy-1')], 'no_stream');
    const handler = handlerOn(store);
    const plain = handlerOn(store, false);
    const first = await handler.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx('d1'));
    assert.deepEqual(first.outcome === 'appended' && first.state, { status: 'open', balance: 5 });
    // A legacy writer appends another v1 event behind the cache's back.
    await store.appendToStream(streamOf('a'), [v1('a', 20, 'legacy-2')], 2n);
    const second = await handler.handle('a', { type: 'Deposit', accountId: 'a', amount: 100 }, ctx('d2'));
    assert.deepEqual(second.outcome === 'appended' && second.state, { status: 'open', balance: 125 });
    assert.equal(handler.stats().tailReads, 1);
    const legacyRetry = await handler.handle(
      'a',
      { type: 'Deposit', accountId: 'a', amount: 20 },
      ctx('legacy-2'),
    );
    assert.equal(legacyRetry.outcome, 'already_handled');
    const check = await plain.handle('a', { type: 'Deposit', accountId: 'a', amount: 1000 }, ctx('d3'));
    const cachedCheck = await handler.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx('d4'));
    assert.deepEqual(check.outcome === 'appended' && check.state, { status: 'open', balance: 1125 });
    assert.deepEqual(cachedCheck.outcome === 'appended' && cachedCheck.state, {
      status: 'open',
      balance: 1126,
    });
  });

  test('a rule broken only in the stale cached state is checked against the tail before it throws', async () => {
    const store = createInMemoryEventStore();
    const mine = handlerOn(store);
    const other = handlerOn(store);
    await mine.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    await other.handle('a', { type: 'CloseAccount', accountId: 'a' }, ctx('close'));
    await assert.rejects(
      mine.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx('late')),
      (error: unknown) => error instanceof DomainError && error.code === 'account.not_open',
    );
    // The cached state now knows the account is closed: no append is tried again.
    const stale = mine.stats().staleConflicts;
    await assert.rejects(mine.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx('later')));
    assert.equal(mine.stats().staleConflicts, stale);
    assert.equal((await store.readStream(streamOf('a')))?.length, 2);
  });

  test('an unchanged answer from the cache is confirmed against the tail first', async () => {
    const store = createInMemoryEventStore();
    const handler = handlerOn(store);
    await handler.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    const other = handlerOn(store, false);
    await other.handle('a', { type: 'Deposit', accountId: 'a', amount: 7 }, ctx('d'));
    const result = await handler.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'x' }, ctx('o2'));
    assert.equal(result.outcome, 'unchanged');
    if (result.outcome !== 'unchanged') return;
    assert.equal(result.nextRevision, 1n);
    assert.deepEqual(result.state, { status: 'open', balance: 7 });
  });

  test('a pinned revision is judged against the stream, not against a stale cache', async () => {
    const store = createInMemoryEventStore();
    const mine = handlerOn(store);
    const other = handlerOn(store);
    await mine.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    await other.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx('d1'));
    // The caller saw revision 1 (through a read model): right, though this cache is at 0.
    const pinned = await mine.handle(
      'a',
      { type: 'Deposit', accountId: 'a', amount: 2 },
      ctx('d2', { expectedRevision: 1n }),
    );
    assert.equal(pinned.outcome, 'appended');
    const stale = await mine.handle(
      'a',
      { type: 'Deposit', accountId: 'a', amount: 2 },
      ctx('d3', { expectedRevision: 1n }),
    );
    assert.deepEqual(stale, {
      outcome: 'conflict',
      reason: 'pinned',
      expectedRevision: 1n,
      actualRevision: 2n,
    });
  });

  test('an adapter that ignores fromRevision still gives the right state', async () => {
    const store = createInMemoryEventStore();
    const whole: EventStore = { ...store, readStream: (stream) => store.readStream(stream) };
    const mine = handlerOn(whole);
    const other = handlerOn(store, false);
    await mine.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    await mine.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx('d1'));
    await other.handle('a', { type: 'Deposit', accountId: 'a', amount: 10 }, ctx('d2'));
    const result = await mine.handle('a', { type: 'Deposit', accountId: 'a', amount: 100 }, ctx('d3'));
    assert.deepEqual(result.outcome === 'appended' && result.state, { status: 'open', balance: 111 });
  });

  test('invalidate forgets one aggregate; a store error drops its entry', async () => {
    const store = createInMemoryEventStore();
    let fail = false;
    const flaky: EventStore = {
      ...store,
      appendToStream: (stream, events, expected) =>
        fail ? Promise.reject(new Error('lost')) : store.appendToStream(stream, events, expected),
    };
    const handler = handlerOn(flaky);
    await handler.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    await handler.handle('b', { type: 'OpenAccount', accountId: 'b', owner: 'o' }, ctx('open'));
    handler.invalidate('a');
    assert.equal(handler.stats().entries, 1);
    fail = true;
    await assert.rejects(
      handler.handle('b', { type: 'Deposit', accountId: 'b', amount: 1 }, ctx('d')),
      /lost/,
    );
    assert.equal(handler.stats().entries, 0);
    assert.equal(handler.stats().invalidations, 2);
  });

  test('the cache off reads the stream for every command and reports itself disabled', async () => {
    const { store: counted, calls } = countingEventStore();
    const handler = handlerOn(counted, false);
    await handler.handle('a', { type: 'OpenAccount', accountId: 'a', owner: 'o' }, ctx('open'));
    await handler.handle('a', { type: 'Deposit', accountId: 'a', amount: 1 }, ctx('d1'));
    assert.equal(calls.reads, 2);
    assert.equal(handler.stats().enabled, false);
    assert.equal(handler.stats().entries, 0);
  });
});

describe('state cache bounds', () => {
  const entry = (revision: bigint, state: unknown) => ({
    revision,
    position: { commit: revision, prepare: revision },
    state,
    keys: new Map(),
    keyBytes: 0,
    bytes: 0,
  });

  test('stays within its entry and byte bounds, evicting the least recently used', () => {
    const cache = createStateCache<unknown>({ maxEntries: 3, maxBytes: 1_000_000 });
    for (const s of ['a', 'b', 'c']) cache.offer(s, entry(0n, { s }));
    cache.get('a');
    cache.offer('d', entry(0n, { s: 'd' }));
    assert.equal(cache.peek('b'), undefined);
    assert.ok(cache.peek('a'));
    assert.equal(cache.stats().entries, 3);
    assert.equal(cache.stats().evictions, 1);

    const small = createStateCache<unknown>({ maxBytes: 3_000, maxEntryBytes: 2_000 });
    for (let i = 0; i < 20; i++) small.offer(`s${i}`, entry(0n, { text: 'x'.repeat(200) }));
    assert.ok(small.stats().bytes <= 3_000);
    assert.ok(small.stats().entries >= 1);
    small.offer('huge', entry(0n, { text: 'x'.repeat(5_000) }));
    assert.equal(small.peek('huge'), undefined);
    assert.equal(small.stats().oversized, 1);
  });

  test('keeps a newer entry over an older one offered late', () => {
    const cache = createStateCache<unknown>();
    const newer = entry(5n, 'new');
    cache.offer('s', newer);
    cache.offer('s', entry(3n, 'old'));
    assert.equal(cache.peek('s'), newer);
  });

  test('estimates grow with the data and survive cycles and bigints', () => {
    const cyclic: Record<string, unknown> = { n: 1n };
    cyclic.self = cyclic;
    assert.ok(estimateBytes(cyclic) > 0);
    assert.ok(estimateBytes({ a: 'x'.repeat(1000) }) > estimateBytes({ a: 'x' }) + 1900);
    assert.ok(estimateBytes(new Map([['k', [1, 2, 3]]])) > estimateBytes(new Map()));
  });
});
