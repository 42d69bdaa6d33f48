import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import type { AllPosition } from '../../src/eventsourcing/core/events.ts';
import { FencedOutError, type ReadStore } from '../../src/eventsourcing/readstore/port.ts';

/** Gives a fresh store for one test, or undefined after skipping it (server not available). */
export type ReadStoreFixture = (t: TestContext) => Promise<ReadStore | undefined>;

const at = (n: number): AllPosition => ({ commit: BigInt(n), prepare: BigInt(n) });

function names() {
  const suffix = randomUUID().slice(0, 8);
  return { projection: `proj_${suffix}`, collection: `docs_${suffix}` };
}

/**
 * The behaviour every ReadStore adapter must share. Each test gets its own store from the
 * fixture (and its own projection and collection names), so adapters can share a server.
 */
export function readStoreContract(name: string, fixture: ReadStoreFixture): void {
  async function withSlot(t: TestContext) {
    const store = await fixture(t);
    if (!store) return undefined;
    t.after(() => store.close());
    const { projection, collection } = names();
    const slot = await store.createSlot(projection, collection, 1);
    return { store, projection, collection, slot, target: slot.target };
  }

  describe(`ReadStore contract: ${name}`, () => {
    test('an unknown collection or id reads as nothing', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      assert.equal(await ctx.store.get('no_such_collection', 'x'), null);
      assert.deepEqual(await ctx.store.find('no_such_collection'), []);
      assert.equal(await ctx.store.count('no_such_collection'), 0);
      assert.equal(await ctx.store.get(ctx.collection, 'missing'), null);
    });

    test('an upserted document is served under its logical collection without internal fields', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      const result = await ctx.store.write(ctx.target, [
        { op: 'upsert', document: { id: 'a', status: 'open', nested: { level: 2 } }, position: at(10) },
      ]);
      assert.deepEqual(result, { applied: 1, stale: 0 });
      assert.deepEqual(await ctx.store.get(ctx.collection, 'a'), {
        id: 'a',
        status: 'open',
        nested: { level: 2 },
      });
    });

    test('an older or equal position never overwrites a newer document', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      await ctx.store.write(ctx.target, [{ op: 'upsert', document: { id: 'a', v: 2 }, position: at(20) }]);
      const result = await ctx.store.write(ctx.target, [
        { op: 'upsert', document: { id: 'a', v: 1 }, position: at(10) },
        { op: 'upsert', document: { id: 'a', v: 3 }, position: at(20) },
      ]);
      assert.deepEqual(result, { applied: 0, stale: 2 });
      assert.deepEqual(await ctx.store.get(ctx.collection, 'a'), { id: 'a', v: 2 });
    });

    test('a write expecting a new document still honours the guard when one exists', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      await ctx.store.write(ctx.target, [
        { op: 'upsert', document: { id: 'old', v: 1 }, position: at(10) },
        { op: 'upsert', document: { id: 'new', v: 1 }, position: at(30) },
      ]);
      const result = await ctx.store.write(ctx.target, [
        { op: 'upsert', document: { id: 'new', v: 2 }, position: at(20), expectNew: true },
        { op: 'upsert', document: { id: 'old', v: 2 }, position: at(20), expectNew: true },
        { op: 'upsert', document: { id: 'fresh', v: 2 }, position: at(20), expectNew: true },
      ]);
      assert.deepEqual(result, { applied: 2, stale: 1 });
      assert.deepEqual(await ctx.store.find(ctx.collection, { sort: [['id', 1]] }), [
        { id: 'fresh', v: 2 },
        { id: 'new', v: 1 },
        { id: 'old', v: 2 },
      ]);
    });

    test('a newer position replaces the whole document', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      await ctx.store.write(ctx.target, [
        { op: 'upsert', document: { id: 'a', v: 1, gone: true }, position: at(10) },
      ]);
      await ctx.store.write(ctx.target, [{ op: 'upsert', document: { id: 'a', v: 2 }, position: at(11) }]);
      assert.deepEqual(await ctx.store.get(ctx.collection, 'a'), { id: 'a', v: 2 });
    });

    test('a delete leaves a marker, so a replayed older upsert does not bring the document back', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      await ctx.store.write(ctx.target, [{ op: 'upsert', document: { id: 'a', v: 1 }, position: at(10) }]);
      assert.deepEqual(await ctx.store.write(ctx.target, [{ op: 'delete', id: 'a', position: at(30) }]), {
        applied: 1,
        stale: 0,
      });
      const replay = await ctx.store.write(ctx.target, [
        { op: 'upsert', document: { id: 'a', v: 1 }, position: at(20) },
      ]);
      assert.deepEqual(replay, { applied: 0, stale: 1 });
      assert.equal(await ctx.store.get(ctx.collection, 'a'), null);
      assert.equal(await ctx.store.count(ctx.collection), 0);
      const loaded = await ctx.store.load(ctx.target, ['a', 'b']);
      assert.deepEqual(loaded.get('a'), { document: null, position: at(30) });
      assert.equal(loaded.has('b'), false);
    });

    test('load returns documents with the positions they were built from', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      await ctx.store.write(ctx.target, [
        { op: 'upsert', document: { id: 'a', n: 1 }, position: at(5) },
        { op: 'upsert', document: { id: 'b', n: 2 }, position: at(6) },
      ]);
      const loaded = await ctx.store.load(ctx.target, ['a', 'b']);
      assert.deepEqual(loaded.get('a'), { document: { id: 'a', n: 1 }, position: at(5) });
      assert.deepEqual(loaded.get('b'), { document: { id: 'b', n: 2 }, position: at(6) });
    });

    test('concurrent writers of one new document leave the newest position (duplicate key = applied)', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      const positions = [7, 3, 9, 1, 8, 2, 6, 5, 4];
      await Promise.all(
        positions.map((n) =>
          ctx.store.write(ctx.target, [{ op: 'upsert', document: { id: 'race', n }, position: at(n) }]),
        ),
      );
      assert.deepEqual(await ctx.store.get(ctx.collection, 'race'), { id: 'race', n: 9 });
    });

    test('find filters by equality (dotted paths, null matches missing), sorts, skips and limits', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      await ctx.store.write(ctx.target, [
        {
          op: 'upsert',
          document: { id: 'a', status: 'open', rank: 3, owner: { team: 'x' } },
          position: at(1),
        },
        {
          op: 'upsert',
          document: { id: 'b', status: 'open', rank: 1, owner: { team: 'y' } },
          position: at(2),
        },
        {
          op: 'upsert',
          document: { id: 'c', status: 'closed', rank: 2, owner: { team: 'x' } },
          position: at(3),
        },
        {
          op: 'upsert',
          document: { id: 'd', status: 'open', rank: 2, owner: { team: 'x' }, flag: null },
          position: at(4),
        },
        { op: 'upsert', document: { id: 'e', status: 'open', rank: 2 }, position: at(5) },
      ]);
      const ids = (docs: { id: string }[]) => docs.map((d) => d.id);
      assert.deepEqual(
        ids(await ctx.store.find(ctx.collection, { filter: { status: 'open' }, sort: [['rank', 1]] })),
        ['b', 'd', 'e', 'a'],
      );
      assert.deepEqual(ids(await ctx.store.find(ctx.collection, { sort: [['rank', -1]] })), [
        'a',
        'c',
        'd',
        'e',
        'b',
      ]);
      assert.deepEqual(
        ids(
          await ctx.store.find(ctx.collection, {
            filter: { 'owner.team': 'x', status: 'open' },
            sort: [['id', 1]],
          }),
        ),
        ['a', 'd'],
      );
      assert.deepEqual(
        ids(await ctx.store.find(ctx.collection, { filter: { flag: null }, sort: [['id', -1]] })),
        ['e', 'd', 'c', 'b', 'a'],
      );
      assert.deepEqual(ids(await ctx.store.find(ctx.collection, { sort: [['id', 1]], skip: 1, limit: 2 })), [
        'b',
        'c',
      ]);
      assert.equal(await ctx.store.count(ctx.collection, { status: 'open' }), 4);
      assert.equal(await ctx.store.count(ctx.collection), 5);
    });

    test('documents handed out are copies', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      const document = { id: 'a', tags: ['x'] };
      await ctx.store.write(ctx.target, [{ op: 'upsert', document, position: at(1) }]);
      document.tags.push('mutated');
      const read = await ctx.store.get<{ id: string; tags: string[] }>(ctx.collection, 'a');
      read?.tags.push('again');
      assert.deepEqual(await ctx.store.get(ctx.collection, 'a'), { id: 'a', tags: ['x'] });
    });

    test('a slot starts with no checkpoint and keeps the one saved for its target', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      assert.equal(ctx.slot.checkpoint, null);
      assert.equal(ctx.slot.version, 1);
      assert.deepEqual(await ctx.store.saveCheckpoint(ctx.projection, ctx.target, at(42)), {
        outcome: 'saved',
      });
      assert.deepEqual((await ctx.store.slot(ctx.projection))?.checkpoint, at(42));
      assert.deepEqual(await ctx.store.saveCheckpoint(ctx.projection, 'not_a_target', at(50)), {
        outcome: 'superseded',
      });
      assert.deepEqual(await ctx.store.createSlot(ctx.projection, ctx.collection, 7), {
        ...ctx.slot,
        checkpoint: at(42),
      });
    });

    test('two projections cannot own one collection', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      await assert.rejects(ctx.store.createSlot(`${ctx.projection}_other`, ctx.collection, 1));
    });

    test('a rebuild fills a shadow while the live target serves, then swaps with its checkpoint', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      await ctx.store.write(ctx.target, [
        { op: 'upsert', document: { id: 'a', v: 'old' }, position: at(10) },
      ]);
      await ctx.store.saveCheckpoint(ctx.projection, ctx.target, at(10));
      const shadow = await ctx.store.beginShadow(ctx.projection, 2);
      assert.notEqual(shadow.target, ctx.target);
      await ctx.store.write(shadow.target, [
        { op: 'upsert', document: { id: 'a', v: 'new' }, position: at(10) },
        { op: 'upsert', document: { id: 'b', v: 'new' }, position: at(12) },
      ]);
      assert.deepEqual(await ctx.store.saveCheckpoint(ctx.projection, shadow.target, at(12)), {
        outcome: 'saved',
      });
      assert.deepEqual(await ctx.store.get(ctx.collection, 'a'), { id: 'a', v: 'old' });
      assert.equal(await ctx.store.count(ctx.collection), 1);

      const before = await ctx.store.slot(ctx.projection);
      assert.ok(before);
      assert.deepEqual(before.shadow, { target: shadow.target, version: 2, checkpoint: at(12) });
      const swapped = await ctx.store.swap(ctx.projection, before);
      assert.deepEqual(swapped, { outcome: 'swapped', previous: ctx.target });
      const after = await ctx.store.slot(ctx.projection);
      assert.deepEqual(after, {
        projection: ctx.projection,
        collection: ctx.collection,
        version: 2,
        target: shadow.target,
        checkpoint: at(12),
        shadow: null,
      });
      assert.deepEqual(await ctx.store.get(ctx.collection, 'a'), { id: 'a', v: 'new' });
      assert.equal(await ctx.store.count(ctx.collection), 2);
      assert.deepEqual(await ctx.store.saveCheckpoint(ctx.projection, ctx.target, at(99)), {
        outcome: 'superseded',
      });
      await ctx.store.retire(ctx.target);
    });

    test('a swap based on an outdated slot changes nothing', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      await ctx.store.beginShadow(ctx.projection, 2);
      const stale = await ctx.store.slot(ctx.projection);
      assert.ok(stale);
      const second = await ctx.store.beginShadow(ctx.projection, 3);
      const outcome = await ctx.store.swap(ctx.projection, stale);
      assert.equal(outcome.outcome, 'conflict');
      const slot = await ctx.store.slot(ctx.projection);
      assert.equal(slot?.target, ctx.target);
      assert.deepEqual(slot?.shadow, { ...second, checkpoint: null });
    });

    test('a new shadow starts empty even when an earlier rebuild was abandoned', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      const first = await ctx.store.beginShadow(ctx.projection, 2);
      await ctx.store.write(first.target, [{ op: 'upsert', document: { id: 'a' }, position: at(1) }]);
      const second = await ctx.store.beginShadow(ctx.projection, 2);
      assert.equal((await ctx.store.load(second.target, ['a'])).size, 0);
    });

    test('a former leader with a lower fencing token is refused in writes and checkpoints', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      const former = { projection: ctx.projection, token: 3 };
      const current = { projection: ctx.projection, token: 4 };
      await ctx.store.write(
        ctx.target,
        [{ op: 'upsert', document: { id: 'a', v: 1 }, position: at(10) }],
        former,
      );
      assert.deepEqual(await ctx.store.saveCheckpoint(ctx.projection, ctx.target, at(10), 3), {
        outcome: 'saved',
      });
      // Another replica takes over with a higher token and writes.
      await ctx.store.write(
        ctx.target,
        [{ op: 'upsert', document: { id: 'a', v: 2 }, position: at(20) }],
        current,
      );
      assert.deepEqual(await ctx.store.saveCheckpoint(ctx.projection, ctx.target, at(20), 4), {
        outcome: 'saved',
      });
      // The former leader, paused meanwhile, goes on with what it had in hand.
      await assert.rejects(
        ctx.store.write(
          ctx.target,
          [{ op: 'upsert', document: { id: 'b', v: 1 }, position: at(30) }],
          former,
        ),
        (error: unknown) => error instanceof FencedOutError && error.token === 3 && error.highest === 4,
      );
      assert.deepEqual(await ctx.store.saveCheckpoint(ctx.projection, ctx.target, at(15), 3), {
        outcome: 'fenced',
        highest: 4,
      });
      assert.equal(await ctx.store.get(ctx.collection, 'b'), null, 'the refused write wrote nothing');
      assert.deepEqual(
        (await ctx.store.slot(ctx.projection))?.checkpoint,
        at(20),
        'the checkpoint did not go back',
      );
      // The leader goes on; tokens are per projection.
      await ctx.store.write(ctx.target, [{ op: 'upsert', document: { id: 'c' }, position: at(40) }], current);
      assert.deepEqual(await ctx.store.saveCheckpoint(ctx.projection, ctx.target, at(40), 4), {
        outcome: 'saved',
      });
      const other = await ctx.store.createSlot(`${ctx.projection}_other`, `${ctx.collection}_other`, 1);
      assert.deepEqual(await ctx.store.saveCheckpoint(`${ctx.projection}_other`, other.target, at(1), 1), {
        outcome: 'saved',
      });
    });

    test('a refused checkpoint of the shadow is fenced as well', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      const shadow = await ctx.store.beginShadow(ctx.projection, 2);
      assert.deepEqual(await ctx.store.saveCheckpoint(ctx.projection, shadow.target, at(5), 7), {
        outcome: 'saved',
      });
      assert.deepEqual(await ctx.store.saveCheckpoint(ctx.projection, shadow.target, at(6), 6), {
        outcome: 'fenced',
        highest: 7,
      });
      assert.deepEqual((await ctx.store.slot(ctx.projection))?.shadow?.checkpoint, at(5));
    });

    test('skips are recorded once per event and listed in position order', async (t) => {
      const ctx = await withSlot(t);
      if (!ctx) return;
      const skip = (eventId: string, n: number) => ({
        eventId,
        position: at(n),
        streamId: 'case-1',
        type: 'Broken',
        reason: 'cannot apply',
        operator: 'ops',
        at: new Date('2026-01-01T00:00:00Z'),
      });
      await ctx.store.recordSkip(ctx.projection, skip('e2', 20));
      await ctx.store.recordSkip(ctx.projection, skip('e1', 10));
      await ctx.store.recordSkip(ctx.projection, skip('e1', 10));
      assert.deepEqual(await ctx.store.skips(ctx.projection), [skip('e1', 10), skip('e2', 20)]);
      assert.deepEqual(await ctx.store.skips(`${ctx.projection}_other`), []);
    });
  });
}
