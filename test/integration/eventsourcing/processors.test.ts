import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { startEmulator } from '../../../src/emulator/index.ts';
import {
  createEsdbEventStore,
  createInMemoryReadStore,
  createProcessorRegistry,
  createProjectorProcessor,
  createReactor,
  DomainError,
  type EventStore,
  readStoreSkipLog,
} from '../../../src/eventsourcing/index.ts';
import { accountWriter, eventually } from '../../support/eventsourcing-projector-suite.ts';
import { accountEvents, accountsProjection } from '../../support/eventsourcing-sample.ts';

let emulator: Awaited<ReturnType<typeof startEmulator>>;
let eventStore: EventStore;
before(async () => {
  emulator = await startEmulator({ port: 0 });
  eventStore = createEsdbEventStore({ connectionString: emulator.connectionString });
});
after(async () => {
  await eventStore.close();
  await emulator.close();
});

const POISON = 13;
const decision = { reason: 'a test deposit nobody can handle', operator: 'test' };

/**
 * Two projectors and a reactor over the same streams. Deposits of 13 poison one projector and
 * the reactor; the other projector never minds them.
 */
function setUp(prefix: string) {
  const readStore = createInMemoryReadStore();
  const skipLog = readStoreSkipLog(readStore);
  const common = { eventStore, readStore, filter: { streamPrefixes: [`${prefix}-`] }, events: accountEvents };
  const clean = createProjectorProcessor({
    ...common,
    name: 'clean',
    projections: [accountsProjection(`${prefix}_clean`, { name: 'clean' })],
  });
  const picky = createProjectorProcessor({
    ...common,
    name: 'picky',
    projections: [
      accountsProjection(`${prefix}_picky`, { name: 'picky', poison: (amount) => amount === POISON }),
    ],
  });
  const published: number[] = [];
  const attempts: string[] = [];
  const reactor = createReactor({
    name: `mailer-${prefix}`,
    eventStore,
    source: { all: true, filter: { streamPrefixes: [`${prefix}-`] } },
    settings: { maxRetryCount: 1, messageTimeoutMs: 5_000 },
    events: accountEvents,
    skipLog,
    handler: async (event) => {
      attempts.push(event.id);
      const amount = (event.data as { amount?: number }).amount;
      if (amount === POISON) throw new Error('the mail server refuses 13');
      if (amount !== undefined) published.push(amount);
    },
  });
  const processors = createProcessorRegistry([clean, picky, reactor]);
  return { readStore, clean, picky, reactor, processors, published, attempts };
}

test('a poison event stops only the processor it broke: the other projector and the reactor go on', async () => {
  const prefix = `proc${randomUUID().slice(0, 8)}`;
  const { readStore, clean, picky, reactor, processors, published } = setUp(prefix);
  for (const processor of processors.list()) await processor.start();
  try {
    const writer = accountWriter(eventStore, prefix);
    await writer.open('a');
    const poison = await writer.deposit('a', POISON);
    const last = await writer.deposit('a', 5);

    assert.equal(await clean.waitFor(last, 10_000), true, 'the clean projector passes the poison');
    assert.equal((await readStore.get<{ id: string; balance: number }>(`${prefix}_clean`, 'a'))?.balance, 18);
    await eventually('the picky projector to stop', () => picky.status().state === 'failed');
    const [failure] = picky.status().failures;
    assert.equal(failure?.action, 'stopped');
    assert.deepEqual(failure?.position, poison);
    assert.equal(clean.status().state, 'running');
    assert.equal(await processors.waitFor(last, 0), false, 'read-your-writes waits for every projector');

    // The reactor parks the poison and publishes the rest.
    await eventually('the reactor to park the poison', () => reactor.status().failures.length === 1, 15_000);
    await eventually('the reactor to publish the deposit after it', () => published.includes(5), 15_000);
    const parked = reactor.status().failures[0];
    assert.equal(parked?.eventId, failure?.eventId);
    assert.equal(parked?.action, 'parked');
    assert.match(parked?.reason ?? '', /refuses 13/);
    assert.equal(reactor.status().state, 'failed', 'an event waits for an operator');
    assert.deepEqual(
      processors.list().map((p) => [p.name, p.status().state]),
      [
        ['clean', 'running'],
        ['picky', 'failed'],
        [reactor.name, 'failed'],
      ],
    );
  } finally {
    for (const processor of processors.list().reverse()) await processor.stop();
  }
});

test('retry, skip and rebuild address one processor by name', async () => {
  const prefix = `proc${randomUUID().slice(0, 8)}`;
  const { readStore, clean, picky, reactor, processors, attempts } = setUp(prefix);
  for (const processor of processors.list()) await processor.start();
  try {
    const writer = accountWriter(eventStore, prefix);
    await writer.open('a');
    await writer.deposit('a', POISON);
    const last = await writer.deposit('a', 2);
    await eventually('the picky projector to stop', () => picky.status().state === 'failed');
    await eventually('the reactor to park', () => reactor.status().failures.length === 1, 15_000);
    const poisonId = picky.status().failures[0]?.eventId ?? '';

    // Retry: the picky projector fails again at the same event; nothing else moves.
    assert.deepEqual(await picky.retry(), { outcome: 'retrying', events: [poisonId] });
    await eventually('the picky projector to stop again', () => picky.status().state === 'failed');
    assert.deepEqual(await clean.retry(), { outcome: 'nothing_to_retry' });

    // Skip must name the event that stopped it.
    await assert.rejects(
      picky.skip(randomUUID(), decision),
      (error: unknown) => error instanceof DomainError && error.code === 'processor.not_failed_at_event',
    );
    await picky.skip(poisonId, decision);
    assert.equal(await processors.waitFor(last, 10_000), true);
    assert.equal(picky.status().state, 'running');
    assert.equal((await readStore.get<{ id: string; balance: number }>(`${prefix}_picky`, 'a'))?.balance, 2);

    // The reactor: skip records the decision, retry replays the parked event, which is then
    // acknowledged without calling the handler.
    const tries = attempts.filter((id) => id === poisonId).length;
    await reactor.skip(poisonId, decision);
    assert.equal(reactor.status().state, 'running');
    assert.equal((await reactor.retry()).outcome, 'retrying');
    await eventually(
      'the parked event to be acknowledged',
      async () => (await reactor.listParked()).length === 0,
    );
    await eventually(
      'the replayed event to be passed over',
      () => Number(reactor.status().details.skipped) === 1 && reactor.consumerStatus().inFlight === 0,
    );
    assert.equal(attempts.filter((id) => id === poisonId).length, tries, 'a skipped event is not handled');

    // Rebuild: a projector rebuilds its read model; a reactor refuses, saying why.
    await picky.rebuild();
    assert.equal((await readStore.get<{ id: string; balance: number }>(`${prefix}_picky`, 'a'))?.balance, 2);
    assert.equal(reactor.rebuildSupport.supported, false);
    await assert.rejects(
      reactor.rebuild(),
      (error: unknown) => error instanceof DomainError && error.code === 'processor.rebuild_not_supported',
    );
  } finally {
    for (const processor of processors.list().reverse()) await processor.stop();
  }
});

test('a restarted reactor names the events an earlier run parked', async () => {
  const prefix = `proc${randomUUID().slice(0, 8)}`;
  const first = setUp(prefix);
  await first.reactor.start();
  const writer = accountWriter(eventStore, prefix);
  await writer.open('a');
  await writer.deposit('a', POISON);
  await eventually('the reactor to park', () => first.reactor.status().failures.length === 1, 15_000);
  const parkedId = first.reactor.status().failures[0]?.eventId;
  await first.reactor.stop();

  const second = setUp(prefix);
  await second.reactor.start();
  try {
    assert.deepEqual(
      second.reactor.status().failures.map((failure) => failure.eventId),
      [parkedId],
    );
  } finally {
    await second.reactor.stop();
  }
});
