import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkLeaseTiming,
  decideLease,
  type Lease,
  type LeaseTiming,
} from '../../../src/eventsourcing/leadership/lease.ts';

const timing: LeaseTiming = { ttlMs: 10_000, renewAfterMs: 3_000, marginMs: 2_000 };

function lease(overrides: Partial<Lease>): Lease {
  return { name: 'read-models', holder: 'a', token: 7, expiresAt: 100_000, version: 12, ...overrides };
}

describe('decideLease', () => {
  it('takes a lease that was never taken', () => {
    assert.deepEqual(decideLease(null, 'a', 50_000, timing), { action: 'acquire', expiresAt: 60_000 });
  });

  it('takes a released lease at once, whoever released it', () => {
    const released = lease({ holder: '', expiresAt: 0 });
    assert.deepEqual(decideLease(released, 'b', 50_000, timing), { action: 'acquire', expiresAt: 60_000 });
  });

  it("follows another replica's live lease until its expiry", () => {
    assert.deepEqual(decideLease(lease({ holder: 'a' }), 'b', 99_999, timing), {
      action: 'follow',
      holder: 'a',
      checkAt: 100_000,
    });
  });

  it("takes another replica's lease from its expiry on", () => {
    assert.deepEqual(decideLease(lease({ holder: 'a' }), 'b', 100_000, timing), {
      action: 'acquire',
      expiresAt: 110_000,
    });
  });

  it('leads with the lease token while the lease is fresh, until expiry less the margin', () => {
    // Acquired at 90,000 for 10 s: renew from 93,000, lead until 98,000.
    assert.deepEqual(decideLease(lease({}), 'a', 90_500, timing), {
      action: 'lead',
      token: 7,
      until: 98_000,
      checkAt: 93_000,
    });
  });

  it('renews its own lease once renewAfterMs of the term has passed, still leading meanwhile', () => {
    assert.deepEqual(decideLease(lease({}), 'a', 93_000, timing), {
      action: 'renew',
      expiresAt: 103_000,
      leading: true,
    });
  });

  it('stops leading within the margin of its expiry, and past it, but still tries to renew', () => {
    for (const now of [98_000, 100_000, 250_000]) {
      assert.deepEqual(decideLease(lease({}), 'a', now, timing), {
        action: 'renew',
        expiresAt: now + 10_000,
        leading: false,
      });
    }
  });

  it('never lets the holder lead at a moment when another replica, with a clock within the margin, may take over', () => {
    const current = lease({});
    for (let now = 80_000; now <= 110_000; now += 250) {
      const holder = decideLease(current, 'a', now, timing);
      const holderLeads = holder.action === 'lead' || (holder.action === 'renew' && holder.leading);
      // Another replica's clock reads anything from now - margin to now + margin.
      for (const skew of [-timing.marginMs, 0, timing.marginMs]) {
        const other = decideLease(current, 'b', now + skew, timing);
        assert.ok(!(holderLeads && other.action === 'acquire'), `overlap at ${now} with skew ${skew}`);
      }
    }
  });

  it('refuses a timing under which a renewal would come after the holder stopped leading', () => {
    for (const bad of [
      { ttlMs: 10_000, renewAfterMs: 8_000, marginMs: 2_000 },
      { ttlMs: 0, renewAfterMs: 1, marginMs: 0 },
      { ttlMs: 10_000, renewAfterMs: 0, marginMs: 1_000 },
      { ttlMs: 10_000, renewAfterMs: 3_000, marginMs: -1 },
      { ttlMs: Number.NaN, renewAfterMs: 3_000, marginMs: 1_000 },
    ]) {
      assert.throws(() => checkLeaseTiming(bad), RangeError, JSON.stringify(bad));
      assert.throws(() => decideLease(null, 'a', 0, bad), RangeError);
    }
  });
});
