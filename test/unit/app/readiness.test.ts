import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReadModelReadiness } from '../../../src/app/readiness.ts';
import type { AllPosition } from '../../../src/eventsourcing/core/events.ts';
import type { Lag } from '../../../src/eventsourcing/projection/lag.ts';
import type { ProjectorStatus } from '../../../src/eventsourcing/projection/projector.ts';

const at = (commit: number): AllPosition => ({ commit: BigInt(commit), prepare: BigInt(commit) });

function view(initial: { position: AllPosition | null; lag: Partial<Lag> }) {
  const current = { ...initial };
  return {
    current,
    readModels: {
      position: () => current.position,
      lag: async (): Promise<Lag> => ({
        events: 0,
        eventsAtLeast: false,
        seconds: 0,
        head: null,
        ...current.lag,
      }),
    },
  };
}

const healthyStatus = { state: 'live', healthy: true, failure: null } as unknown as ProjectorStatus;

describe('read-model readiness', () => {
  it('is down with progress until the initial catch-up reaches the head seen at start, then stays up', async () => {
    const models = view({ position: at(100), lag: { events: 1000, eventsAtLeast: true, seconds: 1 } });
    const assess = createReadModelReadiness({
      readModels: models.readModels,
      projectorStatus: () => healthyStatus,
      headAtStart: at(400),
      maxLagSeconds: 60,
    });
    const early = await assess();
    assert.equal(early.status, 'down');
    assert.match(String(early.detail), /initial catch-up: 25\.0 %.*1000\+ events/);
    models.current.position = at(400);
    models.current.lag = { events: 3, seconds: 0.1 };
    assert.equal((await assess()).status, 'up');
    // Later lag within the limit keeps it up; the initial catch-up is not asked for again.
    models.current.position = at(420);
    models.current.lag = { events: 500, eventsAtLeast: false, seconds: 2 };
    assert.equal((await assess()).status, 'up');
  });

  it('counts the initial catch-up done when nothing the projections handle is left, whatever the position', async () => {
    // System records after the last case event keep the checkpoint below the head forever.
    const models = view({ position: at(300), lag: { events: 0, seconds: 0 } });
    const assess = createReadModelReadiness({
      readModels: models.readModels,
      projectorStatus: () => healthyStatus,
      headAtStart: at(400),
      maxLagSeconds: 60,
    });
    assert.equal((await assess()).status, 'up');
  });

  it('is down past the lag limit, naming events and age', async () => {
    const models = view({ position: at(10), lag: { events: 7, seconds: 61 } });
    const assess = createReadModelReadiness({
      readModels: models.readModels,
      projectorStatus: undefined,
      headAtStart: null,
      maxLagSeconds: 60,
    });
    const verdict = await assess();
    assert.equal(verdict.status, 'down');
    assert.match(String(verdict.detail), /7 events behind, the oldest 61 s old \(limit 60 s\)/);
  });

  it('is down naming the projection and event that stopped the projector', async () => {
    const models = view({ position: at(10), lag: {} });
    const assess = createReadModelReadiness({
      readModels: models.readModels,
      projectorStatus: () =>
        ({
          state: 'failed',
          healthy: false,
          failure: { projection: 'cases', eventId: 'e-1', reason: 'boom' },
        }) as unknown as ProjectorStatus,
      headAtStart: null,
      maxLagSeconds: 60,
    });
    const verdict = await assess();
    assert.equal(verdict.status, 'down');
    assert.equal(verdict.detail, 'projection cases stopped at event e-1: boom');
  });
});
