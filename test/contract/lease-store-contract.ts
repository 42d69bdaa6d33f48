import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import type { Lease, LeaseStore, LeaseWrite } from '../../src/eventsourcing/leadership/lease.ts';

/** Gives a fresh store for one test, or undefined after skipping it (server not available). */
export type LeaseStoreFixture = (t: TestContext) => Promise<LeaseStore | undefined>;

/**
 * The behaviour every LeaseStore adapter must share: compare-and-set writes, fencing tokens that
 * only go up, and exactly one winner when replicas race. Each test uses its own lease name.
 */
export function leaseStoreContract(name: string, fixture: LeaseStoreFixture): void {
  async function open(t: TestContext) {
    const store = await fixture(t);
    if (!store) return undefined;
    t.after(() => store.close());
    return { store, lease: `processor-${randomUUID().slice(0, 8)}` };
  }

  function written(result: LeaseWrite): Lease {
    assert.equal(result.outcome, 'written', `expected a write, got ${JSON.stringify(result)}`);
    return (result as { lease: Lease }).lease;
  }

  describe(`LeaseStore contract: ${name}`, () => {
    test('a lease never taken reads as nothing; the first acquisition gets token 1', async (t) => {
      const ctx = await open(t);
      if (!ctx) return;
      assert.equal(await ctx.store.read(ctx.lease), null);
      const lease = written(await ctx.store.acquire(ctx.lease, 'a', null, 5_000));
      assert.deepEqual(
        { ...lease, version: undefined },
        {
          name: ctx.lease,
          holder: 'a',
          token: 1,
          expiresAt: 5_000,
          version: undefined,
        },
      );
      assert.deepEqual(await ctx.store.read(ctx.lease), lease);
    });

    test('an acquisition based on an outdated read is refused with the current lease', async (t) => {
      const ctx = await open(t);
      if (!ctx) return;
      const first = written(await ctx.store.acquire(ctx.lease, 'a', null, 5_000));
      const refused = await ctx.store.acquire(ctx.lease, 'b', null, 6_000);
      assert.deepEqual(refused, { outcome: 'conflict', current: first });
      const renewed = written(await ctx.store.renew(first, 9_000));
      assert.deepEqual(await ctx.store.acquire(ctx.lease, 'b', first, 9_500), {
        outcome: 'conflict',
        current: renewed,
      });
    });

    test('renewal extends the lease and keeps its token', async (t) => {
      const ctx = await open(t);
      if (!ctx) return;
      const first = written(await ctx.store.acquire(ctx.lease, 'a', null, 5_000));
      const renewed = written(await ctx.store.renew(first, 15_000));
      assert.equal(renewed.token, first.token);
      assert.equal(renewed.holder, 'a');
      assert.equal(renewed.expiresAt, 15_000);
      assert.deepEqual(await ctx.store.read(ctx.lease), renewed);
    });

    test('a takeover raises the token, and the former holder can neither renew nor release', async (t) => {
      const ctx = await open(t);
      if (!ctx) return;
      const old = written(await ctx.store.acquire(ctx.lease, 'a', null, 5_000));
      const taken = written(await ctx.store.acquire(ctx.lease, 'b', old, 20_000));
      assert.equal(taken.token, old.token + 1);
      assert.equal(taken.holder, 'b');
      assert.deepEqual(await ctx.store.renew(old, 30_000), { outcome: 'conflict', current: taken });
      assert.deepEqual(await ctx.store.release(old), { outcome: 'conflict', current: taken });
      assert.deepEqual(await ctx.store.read(ctx.lease), taken);
    });

    test('a release frees the lease but keeps the token, so the next holder gets a higher one', async (t) => {
      const ctx = await open(t);
      if (!ctx) return;
      const first = written(await ctx.store.acquire(ctx.lease, 'a', null, 5_000));
      const released = written(await ctx.store.release(first));
      assert.equal(released.holder, '');
      assert.equal(released.token, first.token);
      const next = written(await ctx.store.acquire(ctx.lease, 'b', released, 9_000));
      assert.equal(next.token, first.token + 1);
    });

    test('of replicas racing for the same lease, exactly one wins each round and tokens never go back', async (t) => {
      const ctx = await open(t);
      if (!ctx) return;
      let current: Lease | null = null;
      const tokens: number[] = [];
      for (let round = 0; round < 10; round++) {
        const seen = current;
        const results: LeaseWrite[] = await Promise.all(
          ['a', 'b', 'c', 'd', 'e', 'f'].map((holder) =>
            ctx.store.acquire(ctx.lease, holder, seen, 1_000 * (round + 1)),
          ),
        );
        const winners = results.filter((result) => result.outcome === 'written');
        assert.equal(winners.length, 1, `round ${round}: ${winners.length} winners`);
        current = await ctx.store.read(ctx.lease);
        assert.deepEqual(current, (winners[0] as { lease: Lease }).lease);
        tokens.push(current!.token);
      }
      assert.deepEqual(
        tokens,
        tokens.map((_, index) => index + 1),
      );
    });

    test('a renewal racing a takeover: exactly one of them is written', async (t) => {
      const ctx = await open(t);
      if (!ctx) return;
      for (let round = 0; round < 5; round++) {
        const held = written(await ctx.store.acquire(ctx.lease, 'a', await ctx.store.read(ctx.lease), 1_000));
        const results: LeaseWrite[] = await Promise.all([
          ctx.store.renew(held, 2_000),
          ctx.store.acquire(ctx.lease, 'b', held, 3_000),
        ]);
        assert.equal(results.filter((result) => result.outcome === 'written').length, 1, `round ${round}`);
      }
    });

    test('an empty or overlong name or holder is refused before anything is written', async (t) => {
      const ctx = await open(t);
      if (!ctx) return;
      for (const [name, holder] of [
        ['', 'a'],
        [ctx.lease, ''],
        ['n'.repeat(201), 'a'],
        [ctx.lease, 'h'.repeat(201)],
      ]) {
        await assert.rejects(ctx.store.acquire(name!, holder!, null, 5_000), RangeError);
      }
      assert.equal(await ctx.store.read(ctx.lease), null);
    });

    test('leases of different names are independent', async (t) => {
      const ctx = await open(t);
      if (!ctx) return;
      const other = `${ctx.lease}-other`;
      written(await ctx.store.acquire(ctx.lease, 'a', null, 5_000));
      const second = written(await ctx.store.acquire(other, 'b', null, 5_000));
      assert.equal(second.token, 1);
      assert.equal((await ctx.store.read(ctx.lease))?.holder, 'a');
    });
  });
}
