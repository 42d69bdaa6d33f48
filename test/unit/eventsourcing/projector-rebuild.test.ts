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
