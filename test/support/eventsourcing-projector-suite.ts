import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import type { AllPosition } from '../../src/eventsourcing/core/events.ts';
import type { EventStore } from '../../src/eventsourcing/eventstore/port.ts';
import { createProjector, type ProjectorOptions } from '../../src/eventsourcing/projection/projector.ts';
import type { ReadStore } from '../../src/eventsourcing/readstore/port.ts';
import { accountEvents, accountsProjection } from './eventsourcing-sample.ts';

export type ProjectorFixture = {
  eventStore(t: TestContext): Promise<EventStore>;
  readStore(t: TestContext): Promise<ReadStore | undefined>;
};

/** Polls `check` every 10 ms until it holds, failing with `what` after `timeoutMs`. */
export async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Appends account events (current schema versions) with the metadata our handler writes. */
export function accountWriter(eventStore: EventStore, category: string) {
  let n = 0;
  const append = async (accountId: string, type: string, data: object): Promise<AllPosition> => {
    const result = await eventStore.appendToStream(
      `${category}-${accountId}`,
      [
        {
          id: randomUUID(),
          type,
          data: { accountId, ...data },
          metadata: {
            correlationId: 'c',
            causationId: 'c',
            idempotencyKey: `k${n++}`,
            actor: 'test',
            schemaVersion: accountEvents.versionOf(type),
          },
        },
      ],
      'any',
    );
    assert.equal(result.outcome, 'appended');
    return result.outcome === 'appended' ? result.position : { commit: 0n, prepare: 0n };
  };
  return {
    open: (id: string, owner = `owner-${id}`) => append(id, 'AccountOpened', { owner }),
    deposit: (id: string, amount: number) => append(id, 'MoneyDeposited', { amount, currency: 'EUR' }),
    close: (id: string) => append(id, 'AccountClosed', {}),
  };
}

/** Projector behaviour, run against each pairing of event store and read store. */
export function projectorSuite(name: string, fixture: ProjectorFixture): void {
  async function setup(t: TestContext, overrides: Partial<ProjectorOptions> = {}) {
    const readStore = await fixture.readStore(t);
    if (!readStore) return undefined;
    const eventStore = await fixture.eventStore(t);
    const suffix = randomUUID().slice(0, 8);
    const category = `acc${suffix}`;
    const collection = `accounts_${suffix}`;
    const projection = accountsProjection(collection);
    const writer = accountWriter(eventStore, category);
    const projectors: ReturnType<typeof createProjector>[] = [];
    const make = (extra: Partial<ProjectorOptions> = {}) => {
      const projector = createProjector({
        name: `group_${suffix}`,
        eventStore,
        readStore,
        projections: [projection],
        filter: { streamPrefixes: [`${category}-`] },
        events: accountEvents,
        batchSize: 50,
        batchDelayMs: 5,
        backoff: { initialDelayMs: 5, maxDelayMs: 50, factor: 2 },
        ...overrides,
        ...extra,
      });
      projectors.push(projector);
      return projector;
    };
    t.after(async () => {
      for (const projector of projectors) await projector.stop();
    });
    return { readStore, eventStore, category, collection, projection, writer, make };
  }

  describe(`projector: ${name}`, () => {
    test('a former leader fenced out by a newer token stops quietly and writes nothing more', async (t) => {
      const ctx = await setup(t);
      if (!ctx) return;
      const fenced: string[] = [];
      const former = ctx.make();
      await former.start({ token: 1, fencedOut: (reason) => fenced.push(reason) });
      assert.equal(await former.waitFor(await ctx.writer.open('a'), 10_000), true);
      // Another replica took the lease: it writes with token 2 while the former one still runs.
      const leader = ctx.make();
      await leader.start({ token: 2, fencedOut: () => assert.fail('the leader is never fenced out') });
      assert.equal(await leader.waitFor(await ctx.writer.deposit('a', 5), 10_000), true);
      const last = await ctx.writer.deposit('a', 7);
      await eventually('the former leader to be fenced out', () => fenced.length === 1);
      assert.match(fenced[0] ?? '', /token 1 is fenced out by 2/);
      await eventually('the former leader to stop', () => former.status().state === 'stopped');
      assert.deepEqual(former.status().failures, [], 'not a failure of any event');
      assert.equal(await leader.waitFor(last, 10_000), true);
      assert.deepEqual(await ctx.readStore.get(ctx.collection, 'a'), {
        id: 'a',
        owner: 'owner-a',
        balance: 12,
        deposits: 2,
        status: 'open',
      });
      assert.deepEqual((await ctx.readStore.slot(ctx.projection.name))?.checkpoint, leader.status().position);
    });

    test('projects events into documents, checkpoints, and resumes after a restart', async (t) => {
      const ctx = await setup(t);
      if (!ctx) return;
      await ctx.writer.open('a');
      await ctx.writer.deposit('a', 5);
      await ctx.writer.open('b');
      const first = ctx.make();
      await first.start();
      const last = await ctx.writer.deposit('a', 7);
      assert.equal(await first.waitFor(last, 10_000), true);
      assert.deepEqual(await ctx.readStore.get(ctx.collection, 'a'), {
        id: 'a',
        owner: 'owner-a',
        balance: 12,
        deposits: 2,
        status: 'open',
      });
      await first.stop();
      await ctx.writer.deposit('b', 1);
      const closed = await ctx.writer.close('a');
      const second = ctx.make();
      await second.start();
      assert.equal(await second.waitFor(closed, 10_000), true);
      assert.equal(await ctx.readStore.get(ctx.collection, 'a'), null);
      assert.equal(
        (await ctx.readStore.get<{ id: string; balance: number }>(ctx.collection, 'b'))?.balance,
        1,
      );
      assert.equal((await ctx.readStore.slot(ctx.projection.name))?.checkpoint?.commit, closed.commit);
      assert.equal(second.status().healthy, true);
    });

    test('documents created in a batch are not read first, and a replay over them changes nothing', async (t) => {
      const ctx = await setup(t);
      if (!ctx) return;
      let loaded: string[] = [];
      const counting: ReadStore = {
        ...ctx.readStore,
        load: (target, ids) => {
          loaded.push(...ids);
          return ctx.readStore.load(target, ids);
        },
      };
      // A long batch delay keeps the catch-up in one batch (it is flushed at the caught-up mark).
      const before = await ctx.writer.open('z');
      await ctx.writer.open('a');
      await ctx.writer.deposit('a', 5);
      await ctx.writer.open('b');
      const closed = await ctx.writer.close('b');
      const first = ctx.make({ readStore: counting, batchDelayMs: 1_000 });
      await first.start();
      assert.equal(await first.waitFor(closed, 10_000), true);
      await first.stop();
      assert.deepEqual(loaded, [], 'every document began with its creating event in the batch');

      // As after a crash between the documents' write and the checkpoint's: replay from earlier.
      const target = (await ctx.readStore.slot(ctx.projection.name))!.target;
      await ctx.readStore.saveCheckpoint(ctx.projection.name, target, before);
      loaded = [];
      const last = await ctx.writer.deposit('a', 2);
      const second = ctx.make({ readStore: counting, batchDelayMs: 1_000 });
      await second.start();
      assert.equal(await second.waitFor(last, 10_000), true);
      assert.deepEqual(await ctx.readStore.get(ctx.collection, 'a'), {
        id: 'a',
        owner: 'owner-a',
        balance: 7,
        deposits: 2,
        status: 'open',
      });
      assert.equal(await ctx.readStore.get(ctx.collection, 'b'), null, 'a closed account stays deleted');
      assert.deepEqual(loaded, []);

      // A document whose batch starts with a later event is read first, as before.
      const later = await ctx.writer.deposit('a', 1);
      assert.equal(await second.waitFor(later, 10_000), true);
      assert.deepEqual(loaded, ['a']);
      assert.equal(
        (await ctx.readStore.get<{ id: string; balance: number }>(ctx.collection, 'a'))?.balance,
        8,
      );
    });

    test('filtered checkpoints advance the stored position when nothing matched', async (t) => {
      const ctx = await setup(t);
      if (!ctx) return;
      const projector = ctx.make();
      await ctx.writer.open('a');
      await projector.start();
      const opened = await ctx.writer.deposit('a', 1);
      assert.equal(await projector.waitFor(opened, 10_000), true);
      const other = accountWriter(ctx.eventStore, `other${randomUUID().slice(0, 6)}`);
      let last = opened;
      for (let i = 0; i < 80; i++) last = await other.open(`x${i}`);
      await eventually('the checkpoint to move past unrelated events', async () => {
        const slot = await ctx.readStore.slot(ctx.projection.name);
        return slot?.checkpoint !== null && slot !== null && slot.checkpoint.commit > opened.commit;
      });
      assert.ok(last.commit > opened.commit);
    });

    test('a poison event stops the projector, is reported, and the operator can retry or skip it', async (t) => {
      const ctx = await setup(t, {});
      if (!ctx) return;
      const poisoned = accountsProjection(ctx.collection, {
        name: ctx.projection.name,
        poison: (amount) => amount === 13,
      });
      const projector = ctx.make({ projections: [poisoned] });
      await ctx.writer.open('a');
      await ctx.writer.deposit('a', 1);
      const bad = await ctx.writer.deposit('a', 13);
      await ctx.writer.deposit('a', 2);
      await projector.start();
      await eventually('the projector to stop', () => projector.status().state === 'failed');
      const status = projector.status();
      assert.equal(status.healthy, false);
      assert.equal(status.failure?.projection, ctx.projection.name);
      assert.equal(status.failure?.type, 'MoneyDeposited');
      assert.deepEqual(status.failure?.position, bad);
      assert.match(status.failure?.reason ?? '', /cannot apply amount 13/);
      // Everything before the poison event is applied and checkpointed, nothing after.
      assert.equal(
        (await ctx.readStore.get<{ id: string; balance: number }>(ctx.collection, 'a'))?.balance,
        1,
      );
      assert.ok(((await ctx.readStore.slot(ctx.projection.name))?.checkpoint?.commit ?? 0n) < bad.commit);

      projector.retry();
      await eventually('the retry to fail again', () => projector.status().state === 'failed');
      const eventId = projector.status().failure?.eventId ?? '';
      await assert.rejects(projector.skip('not-this-one', { reason: 'x', operator: 'ops' }), {
        code: 'projection.not_stopped_at_event',
      });
      await projector.skip(eventId, { reason: 'amount 13 is a known bad import', operator: 'ops' });
      const after = await ctx.writer.deposit('a', 4);
      assert.equal(await projector.waitFor(after, 10_000), true);
      assert.equal(
        (await ctx.readStore.get<{ id: string; balance: number }>(ctx.collection, 'a'))?.balance,
        7,
      );
      const skips = await ctx.readStore.skips(ctx.projection.name);
      assert.deepEqual(
        skips.map((s) => [s.eventId, s.reason, s.operator]),
        [[eventId, 'amount 13 is a known bad import', 'ops']],
      );
      assert.equal(projector.status().healthy, true);
    });

    test('a poison event stops only the projection that cannot apply it; the others keep following', async (t) => {
      const ctx = await setup(t, {});
      if (!ctx) return;
      const poisoned = accountsProjection(ctx.collection, {
        name: ctx.projection.name,
        poison: (amount) => amount === 13,
      });
      const healthyCollection = `${ctx.collection}_ok`;
      const healthy = accountsProjection(healthyCollection);
      const projector = ctx.make({ projections: [poisoned, healthy] });
      await ctx.writer.open('a');
      const bad = await ctx.writer.deposit('a', 13);
      await projector.start();
      await eventually('the poisoned projection to stop', () => projector.status().failures.length === 1);
      const after = await ctx.writer.deposit('a', 2);
      await eventually('the healthy projection to apply later events', async () => {
        const doc = await ctx.readStore.get<{ id: string; balance: number }>(healthyCollection, 'a');
        return doc?.balance === 15;
      });
      const status = projector.status();
      assert.equal(status.healthy, false);
      assert.deepEqual(
        status.projections.map((p) => [p.name, p.stopped]),
        [
          [poisoned.name, true],
          [healthy.name, false],
        ],
      );
      assert.equal(status.failure?.projection, poisoned.name);
      assert.deepEqual(status.failure?.position, bad);
      // A wait that the stopped projection cannot satisfy answers at once instead of timing out.
      assert.equal(await projector.waitFor(after, 60_000), false);
      assert.equal(
        (await ctx.readStore.get<{ id: string; balance: number }>(ctx.collection, 'a'))?.balance,
        0,
        'the stopped projection holds still in front of the poison event',
      );

      await projector.skip(status.failure?.eventId ?? '', { reason: 'known bad import', operator: 'ops' });
      assert.equal(await projector.waitFor(after, 10_000), true);
      assert.equal(
        (await ctx.readStore.get<{ id: string; balance: number }>(ctx.collection, 'a'))?.balance,
        2,
      );
      assert.equal(projector.status().healthy, true);
    });

    test('transient read-store errors are retried until the batch lands', async (t) => {
      const ctx = await setup(t);
      if (!ctx) return;
      let failures = 3;
      const flaky: ReadStore = {
        ...ctx.readStore,
        async write(target, writes) {
          if (failures-- > 0) {
            throw Object.assign(new Error('connection reset'), { transient: true });
          }
          return ctx.readStore.write(target, writes);
        },
      };
      const projector = ctx.make({ readStore: flaky });
      await ctx.writer.open('a');
      const last = await ctx.writer.deposit('a', 3);
      await projector.start();
      assert.equal(await projector.waitFor(last, 10_000), true);
      assert.equal(
        (await ctx.readStore.get<{ id: string; balance: number }>(ctx.collection, 'a'))?.balance,
        3,
      );
      assert.equal(projector.status().transientError, null);
      assert.equal(projector.status().healthy, true);
    });

    test('a rebuild replays into a shadow while the live collection serves, then equals live', async (t) => {
      const ctx = await setup(t);
      if (!ctx) return;
      const projector = ctx.make();
      for (let i = 0; i < 20; i++) await ctx.writer.open(`a${i}`);
      for (let i = 0; i < 60; i++) await ctx.writer.deposit(`a${i % 20}`, i + 1);
      await ctx.writer.close('a3');
      await projector.start();
      const last = await ctx.writer.deposit('a1', 100);
      assert.equal(await projector.waitFor(last, 10_000), true);
      const before = await ctx.readStore.find(ctx.collection, { sort: [['id', 1]] });
      const targetBefore = (await ctx.readStore.slot(ctx.projection.name))?.target;
      const progress: number[] = [];
      await projector.rebuild(ctx.projection.name, (p) => progress.push(p.fraction));
      const slot = await ctx.readStore.slot(ctx.projection.name);
      assert.notEqual(slot?.target, targetBefore);
      assert.deepEqual(await ctx.readStore.find(ctx.collection, { sort: [['id', 1]] }), before);
      assert.equal(progress.at(-1), 1);
      // Live projection continues on the new collection.
      const more = await ctx.writer.deposit('a2', 1);
      assert.equal(await projector.waitFor(more, 10_000), true);
      assert.equal(
        (await ctx.readStore.get<{ id: string; balance: number }>(ctx.collection, 'a2'))?.balance,
        ((before.find((d) => d.id === 'a2') as { balance: number } | undefined)?.balance ?? 0) + 1,
      );
    });

    test('a projection whose version changed is rebuilt on start and swapped in', async (t) => {
      const ctx = await setup(t);
      if (!ctx) return;
      const v1 = ctx.make();
      await ctx.writer.open('a');
      const last = await ctx.writer.deposit('a', 2);
      await v1.start();
      assert.equal(await v1.waitFor(last, 10_000), true);
      await v1.stop();
      const doubled = accountsProjection(ctx.collection, { name: ctx.projection.name, version: 2 });
      const v2projection = {
        ...doubled,
        evolve: (
          current: Parameters<typeof doubled.evolve>[0],
          event: Parameters<typeof doubled.evolve>[1],
          id: string,
        ) => {
          const next = doubled.evolve(current, event, id);
          return next ? { ...next, version: 2 } : null;
        },
      };
      const progress: boolean[] = [];
      const v2 = ctx.make({ projections: [v2projection], onRebuildProgress: (p) => progress.push(p.done) });
      await v2.start();
      await eventually(
        'the v2 rebuild to swap in',
        async () => (await ctx.readStore.slot(ctx.projection.name))?.version === 2,
      );
      assert.deepEqual(await ctx.readStore.get(ctx.collection, 'a'), {
        id: 'a',
        owner: 'owner-a',
        balance: 2,
        deposits: 1,
        status: 'open',
        version: 2,
      });
      assert.equal(progress.at(-1), true);
      const more = await ctx.writer.deposit('a', 1);
      assert.equal(await v2.waitFor(more, 10_000), true);
      assert.equal(
        (await ctx.readStore.get<{ id: string; balance: number }>(ctx.collection, 'a'))?.balance,
        3,
      );
    });

    test('lag counts events behind the head of $all and the age of the oldest', async (t) => {
      const ctx = await setup(t);
      if (!ctx) return;
      const projector = ctx.make();
      await ctx.writer.open('a');
      await ctx.writer.deposit('a', 1);
      const before = await projector.lag();
      assert.equal(before.events, 2, 'the open and the deposit');
      assert.notEqual(before.head, null);
      await projector.start();
      const last = await ctx.writer.deposit('a', 1);
      assert.equal(await projector.waitFor(last, 10_000), true);
      const after = await projector.lag();
      assert.deepEqual({ events: after.events, seconds: after.seconds }, { events: 0, seconds: 0 });
    });
  });
}
