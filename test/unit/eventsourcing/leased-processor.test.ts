import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Leadership, LeaseStore, LeaseTiming } from '../../../src/eventsourcing/leadership/lease.ts';
import { createMemoryLeaseStore } from '../../../src/eventsourcing/leadership/memory.ts';
import { leased } from '../../../src/eventsourcing/processor/leased.ts';
import type { Processor, ProcessorStatus } from '../../../src/eventsourcing/processor/processor.ts';
import { createFakeTimers } from '../../support/fake-timers.ts';

const timing: LeaseTiming = { ttlMs: 15_000, renewAfterMs: 5_000, marginMs: 5_000 };

/** A processor that only records how it was started and stopped. */
function recordingProcessor(name = 'cases') {
  const calls: string[] = [];
  let leadership: Leadership | undefined;
  let running = false;
  const processor: Processor = {
    name,
    kind: 'projector',
    rebuildSupport: { supported: true },
    async start(given) {
      leadership = given;
      running = true;
      calls.push(`start ${given?.token}`);
    },
    async stop() {
      if (running) calls.push('stop');
      running = false;
    },
    status: (): ProcessorStatus => ({
      name,
      kind: 'projector',
      state: running ? 'running' : 'stopped',
      phase: running ? 'live' : 'stopped',
      position: null,
      handledEvents: 0,
      failures: [],
      rebuilds: [],
      details: {},
    }),
    lag: async () => null,
    retry: async () => ({ outcome: 'nothing_to_retry' }),
    skip: async () => {},
    rebuild: async () => {},
  };
  return { processor, calls, isRunning: () => running, leadership: () => leadership };
}

/** A lease store whose calls fail while `down` is true, as an unreachable server's would. */
function flakyStore(inner: LeaseStore) {
  const state = { down: false };
  const fail = () => Promise.reject(new Error('lease store unavailable'));
  const store: LeaseStore = {
    read: (name) => (state.down ? fail() : inner.read(name)),
    acquire: (...args) => (state.down ? fail() : inner.acquire(...args)),
    renew: (...args) => (state.down ? fail() : inner.renew(...args)),
    release: (...args) => (state.down ? fail() : inner.release(...args)),
    close: () => inner.close(),
  };
  return { store, state };
}

function replicas() {
  const timers = createFakeTimers();
  const shared = createMemoryLeaseStore();
  const a = recordingProcessor();
  const b = recordingProcessor();
  const aStore = flakyStore(shared);
  const leasedA = leased(a.processor, aStore.store, { replicaId: 'a', timing, timers });
  const leasedB = leased(b.processor, shared, { replicaId: 'b', timing, timers });
  return { timers, shared, a, b, aStore, leasedA, leasedB };
}

describe('a leased processor', () => {
  it('runs on the replica that took the lease, with its token, and not on the other', async () => {
    const { timers, a, b, leasedA, leasedB } = replicas();
    await leasedA.start();
    await timers.settled();
    await leasedB.start();
    await timers.advance(60_000);
    assert.deepEqual(a.calls, ['start 1']);
    assert.deepEqual(b.calls, []);
    assert.equal(leasedA.status().lease?.role, 'leader');
    assert.deepEqual(leasedB.status().lease, {
      mode: 'auto',
      role: 'follower',
      holder: 'a',
      token: 1,
      expiresAt: leasedB.status().lease?.expiresAt,
    });
    assert.ok(
      (leasedB.status().lease?.expiresAt?.getTime() ?? 0) > timers.now(),
      'renewed, so in the future',
    );
  });

  it('is taken over once the lease expires when its leader stops answering, never with two leaders', async () => {
    const { timers, a, b, aStore, leasedA, leasedB } = replicas();
    await leasedA.start();
    await timers.settled();
    await leasedB.start();
    await timers.advance(1_000);
    aStore.state.down = true;
    const lostAt = timers.now();
    let aStoppedAt: number | null = null;
    let bStartedAt: number | null = null;
    for (let step = 0; step < 40; step++) {
      await timers.advance(1_000);
      assert.ok(!(a.isRunning() && b.isRunning()), `two leaders at ${timers.now() - lostAt} ms`);
      if (aStoppedAt === null && !a.isRunning()) aStoppedAt = timers.now();
      if (bStartedAt === null && b.isRunning()) bStartedAt = timers.now();
    }
    assert.ok(aStoppedAt !== null && bStartedAt !== null, 'the leader stepped down and the other took over');
    assert.ok(aStoppedAt <= bStartedAt - timing.marginMs, 'the margin separates them');
    assert.ok(
      bStartedAt - lostAt <= timing.ttlMs + timing.renewAfterMs,
      `took over ${bStartedAt - lostAt} ms later`,
    );
    assert.deepEqual(b.calls, ['start 2'], 'with a higher token');
    assert.equal(leasedA.status().lease?.role, 'follower');
  });

  it('steps down at the end of its lease less the margin while the store does not answer, then leads again', async () => {
    const { timers, a, aStore, leasedA } = replicas();
    await leasedA.start();
    await timers.settled();
    const expiresAt = leasedA.status().lease?.expiresAt;
    assert.ok(expiresAt);
    aStore.state.down = true;
    await timers.advance(expiresAt.getTime() - timing.marginMs - timers.now() - 1);
    assert.ok(a.isRunning(), 'still leading just before the end less the margin');
    await timers.advance(1);
    assert.ok(!a.isRunning(), 'stopped at the end less the margin');
    aStore.state.down = false;
    await timers.advance(timing.ttlMs);
    assert.ok(a.isRunning(), 'leads again once the store answers');
    assert.deepEqual(a.calls, ['start 1', 'stop', 'start 1'], 'its own lease, renewed: the same token');
  });

  it('releases the lease on stop, so the other replica takes over at its next look rather than at expiry', async () => {
    const { timers, a, b, leasedA, leasedB } = replicas();
    await leasedA.start();
    await timers.settled();
    await leasedB.start();
    await timers.advance(2_000);
    await leasedA.stop();
    assert.deepEqual(a.calls, ['start 1', 'stop']);
    await timers.advance(timing.renewAfterMs);
    assert.ok(b.isRunning(), 'taken within one follower look');
    assert.deepEqual(b.calls, ['start 2']);
  });

  it('stops quietly when fenced out and looks at the lease again at once', async () => {
    const { timers, shared, a, leasedA } = replicas();
    await leasedA.start();
    await timers.settled();
    // Another replica took the lease while this one was paused: the read store refused a write.
    const current = await shared.read('cases');
    assert.ok(current);
    await shared.release(current);
    const taken = await shared.acquire('cases', 'c', await shared.read('cases'), timers.now() + timing.ttlMs);
    assert.equal(taken.outcome, 'written');
    a.leadership()?.fencedOut('token 1 is lower than 2');
    await timers.settled();
    assert.ok(!a.isRunning());
    assert.equal(leasedA.status().lease?.role, 'follower');
    assert.equal(leasedA.status().lease?.holder, 'c');
    assert.equal(leasedA.status().details.fencedOut, 1);
    assert.equal(leasedA.status().state, 'stopped', 'stopped, not failed');
  });

  it('keeps following without throwing while the store fails from the start, and leads once it answers', async () => {
    const { timers, a, aStore, leasedA } = replicas();
    aStore.state.down = true;
    await leasedA.start();
    await timers.advance(30_000);
    assert.equal(leasedA.status().lease?.role, 'follower');
    assert.match(
      String((leasedA.status().details.leaseStoreError as { reason: string }).reason),
      /unavailable/,
    );
    aStore.state.down = false;
    await timers.advance(timing.renewAfterMs);
    assert.ok(a.isRunning());
    assert.equal(leasedA.status().details.leaseStoreError, null);
  });
});
