import assert from 'node:assert/strict';
import { it } from 'node:test';
import { processorsHealth, projectorsSummary } from '../../../src/app/operations.ts';
import type { Processor, ProcessorStatus } from '../../../src/eventsourcing/processor/processor.ts';
import { createProjectorProcessor } from '../../../src/eventsourcing/processor/projector-processor.ts';
import { createProcessorRegistry } from '../../../src/eventsourcing/processor/registry.ts';
import { createInMemoryReadStore } from '../../../src/eventsourcing/readstore/memory.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { accountWriter, eventually } from '../../support/eventsourcing-projector-suite.ts';
import { accountEvents, accountsProjection } from '../../support/eventsourcing-sample.ts';

/** A reactor as status shows it, with `failures` parked events. */
function reactorWith(failures: number): Processor {
  const status: ProcessorStatus = {
    name: 'mailer',
    kind: 'reactor',
    state: failures > 0 ? 'failed' : 'running',
    phase: 'running',
    position: null,
    handledEvents: 0,
    failures: Array.from({ length: failures }, (_, i) => ({
      eventId: `e${i}`,
      streamId: 's',
      type: 'T',
      position: null,
      reason: 'refused',
      at: new Date(0),
      action: 'parked' as const,
    })),
    rebuilds: [],
    details: {},
  };
  return {
    name: 'mailer',
    kind: 'reactor',
    rebuildSupport: { supported: false, reason: 'side effects' },
    start: async () => {},
    stop: async () => {},
    status: () => status,
    lag: async () => null,
    retry: async () => ({ outcome: 'nothing_to_retry' }),
    skip: async () => {},
    rebuild: async () => {},
  };
}

it('readiness per processor: down while a projector is stopped, degraded while a reactor holds parked events', async () => {
  const eventStore = createInMemoryEventStore();
  const readStore = createInMemoryReadStore();
  const common = { eventStore, readStore, filter: { streamPrefixes: ['ph-'] }, events: accountEvents };
  const clean = createProjectorProcessor({
    ...common,
    name: 'clean',
    projections: [accountsProjection('ph_clean', { name: 'clean' })],
  });
  const picky = createProjectorProcessor({
    ...common,
    name: 'picky',
    projections: [accountsProjection('ph_picky', { name: 'picky', poison: (amount) => amount === 13 })],
  });
  const processors = createProcessorRegistry([clean, picky, reactorWith(0)]);
  await clean.start();
  await picky.start();
  try {
    const writer = accountWriter(eventStore, 'ph');
    const opened = await writer.open('a');
    assert.equal(await processors.waitFor(opened, 5_000), true);
    assert.equal(processorsHealth(processors).status, 'up');
    assert.equal(projectorsSummary(processors).healthy, true);

    await writer.deposit('a', 13);
    await eventually('the picky projector to stop', () => picky.status().state === 'failed');
    const health = processorsHealth(processors);
    assert.equal(health.status, 'down');
    assert.match(health.detail ?? '', /projector picky: 1 event/);
    const summary = projectorsSummary(processors);
    assert.deepEqual(
      [summary.state, summary.healthy, summary.failure?.projection],
      ['failed', false, 'picky'],
    );
    assert.deepEqual(
      summary.projections.map((p) => [p.processor, p.stopped]),
      [
        ['clean', false],
        ['picky', true],
      ],
    );

    const withParked = createProcessorRegistry([clean, reactorWith(2)]);
    const degraded = processorsHealth(withParked);
    assert.equal(degraded.status, 'degraded');
    assert.match(degraded.detail ?? '', /reactor mailer: 2 event/);
  } finally {
    await picky.stop();
    await clean.stop();
  }
});

it('a follower is healthy: its processor is stopped because another replica holds the lease', () => {
  const expiresAt = new Date('2026-01-01T00:00:15Z');
  const follower = reactorWith(0);
  const stopped: ProcessorStatus = {
    ...follower.status(),
    state: 'stopped',
    phase: 'stopped',
    lease: { mode: 'auto', role: 'follower', holder: 'api-1-ab12', token: 3, expiresAt },
  };
  const registry = createProcessorRegistry([{ ...follower, status: () => stopped }]);
  const health = processorsHealth(registry, 'auto');
  assert.equal(health.status, 'up');
  assert.deepEqual((health.processors as Record<string, { lease: unknown }>).mailer?.lease, {
    mode: 'auto',
    role: 'follower',
    holder: 'api-1-ab12',
    token: 3,
    expires_at: '2026-01-01T00:00:15.000Z',
  });
});

it('a processor without a lease shows role none in the mode this replica runs', () => {
  const registry = createProcessorRegistry([reactorWith(0)]);
  const health = processorsHealth(registry, 'on');
  assert.deepEqual((health.processors as Record<string, { lease: unknown }>).mailer?.lease, {
    mode: 'on',
    role: 'none',
    holder: null,
    token: null,
    expires_at: null,
  });
});
