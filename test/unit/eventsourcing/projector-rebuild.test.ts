import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createProjector } from '../../../src/eventsourcing/projection/projector.ts';
import { createInMemoryReadStore } from '../../../src/eventsourcing/readstore/memory.ts';
import type { ReadStore } from '../../../src/eventsourcing/readstore/port.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { accountWriter } from '../../support/eventsourcing-projector-suite.ts';
import { accountEvents, accountsProjection } from '../../support/eventsourcing-sample.ts';

test('a rebuild never reads its shadow back: it keeps what it wrote', async () => {
  const eventStore = createInMemoryEventStore();
  const inner = createInMemoryReadStore();
  const loaded: string[] = [];
  const readStore: ReadStore = {
    ...inner,
    load(target, ids) {
      loaded.push(target);
      return inner.load(target, ids);
    },
  };
  const writer = accountWriter(eventStore, 'rb');
  for (let i = 0; i < 30; i++) await writer.open(`a${i}`);
  for (let i = 0; i < 300; i++) await writer.deposit(`a${i % 30}`, 1);
  const last = await writer.close('a7');
  const projection = accountsProjection('accounts');
  const projector = createProjector({
    name: 'rb',
    eventStore,
    readStore,
    projections: [projection],
    filter: { streamPrefixes: ['rb-'] },
    events: accountEvents,
    batchSize: 40,
  });
  await projector.start();
  assert.equal(await projector.waitFor(last, 5_000), true);
  const live = await inner.find('accounts', { sort: [['id', 1]] });
  const liveTarget = (await inner.slot(projection.name))?.target;
  loaded.length = 0;
  await projector.rebuild(projection.name);
  await projector.stop();
  assert.deepEqual(
    loaded.filter((target) => target !== liveTarget),
    [],
  );
  assert.deepEqual(await inner.find('accounts', { sort: [['id', 1]] }), live);
});

test('in the last phase of a rebuild the projection still holds read-your-writes waits back', async () => {
  const eventStore = createInMemoryEventStore();
  const inner = createInMemoryReadStore();
  // The swap waits at a gate, so the test can act while the rebuilt projection is out of the
  // live group and not swapped in yet.
  let atGate: () => void = () => {};
  const reachedGate = new Promise<void>((resolve) => (atGate = resolve));
  let openGate: () => void = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const readStore: ReadStore = {
    ...inner,
    async swap(projection, slot) {
      atGate();
      await gate;
      return inner.swap(projection, slot);
    },
  };
  const writer = accountWriter(eventStore, 'rw');
  await writer.open('a');
  const rebuilt = accountsProjection('rebuilt');
  const other = accountsProjection('other');
  const projector = createProjector({
    name: 'rw',
    eventStore,
    readStore,
    projections: [rebuilt, other],
    filter: { streamPrefixes: ['rw-'] },
    events: accountEvents,
  });
  await projector.start();
  try {
    const rebuild = projector.rebuild(rebuilt.name);
    await reachedGate;
    const written = await writer.deposit('a', 5);
    // The other projection applies the deposit; the rebuilt one cannot until it is swapped in.
    for (;;) {
      const doc = await inner.get<{ id: string; balance: number }>('other', 'a');
      if (doc?.balance === 5) break;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(
      await projector.waitFor(written, 0),
      false,
      'a wait must not pass the rebuilding projection',
    );
    openGate();
    await rebuild;
    assert.equal(await projector.waitFor(written, 5_000), true);
    assert.equal((await inner.get<{ id: string; balance: number }>('rebuilt', 'a'))?.balance, 5);
  } finally {
    openGate();
    await projector.stop();
  }
});

test('a version-change rebuild holds read-your-writes waits at the old collection until the swap', async () => {
  const eventStore = createInMemoryEventStore();
  const inner = createInMemoryReadStore();
  const writer = accountWriter(eventStore, 'vc');
  const opened = await writer.open('a');
  const v1 = accountsProjection('versioned');
  const first = createProjector({
    name: 'vc',
    eventStore,
    readStore: inner,
    projections: [v1],
    filter: { streamPrefixes: ['vc-'] },
    events: accountEvents,
  });
  await first.start();
  assert.equal(await first.waitFor(opened, 5_000), true);
  await first.stop();

  let atGate: () => void = () => {};
  const reachedGate = new Promise<void>((resolve) => (atGate = resolve));
  let openGate: () => void = () => {};
  const gate = new Promise<void>((resolve) => (openGate = resolve));
  const readStore: ReadStore = {
    ...inner,
    async swap(projection, slot) {
      atGate();
      await gate;
      return inner.swap(projection, slot);
    },
  };
  const second = createProjector({
    name: 'vc',
    eventStore,
    readStore,
    projections: [{ ...v1, version: 2 }],
    filter: { streamPrefixes: ['vc-'] },
    events: accountEvents,
  });
  await second.start();
  try {
    await reachedGate;
    assert.equal(await second.waitFor(opened, 0), true, 'the old collection has what it had');
    const written = await writer.deposit('a', 5);
    assert.equal(await second.waitFor(written, 0), false, 'a wait must not pass the rebuilding projection');
    assert.deepEqual(second.status().position, opened, 'held at the serving checkpoint');
    openGate();
    assert.equal(await second.waitFor(written, 5_000), true);
    assert.equal((await inner.get<{ id: string; balance: number }>('versioned', 'a'))?.balance, 5);
  } finally {
    openGate();
    await second.stop();
  }
});
