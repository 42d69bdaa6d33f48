import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { intakeHealth } from '../../../src/app/kafka-bridge.ts';
import type { InboundStatus } from '../../../src/kafka/inbound.ts';

const now = Date.parse('2024-05-01T12:00:00.000Z');
const ago = (seconds: number) => new Date(now - seconds * 1000).toISOString();

function status(overrides: Partial<InboundStatus> = {}): InboundStatus {
  return {
    running: true,
    consumer: { state: 'running', since: ago(600), restarts: 0, lastContactAt: ago(2) },
    stalled: [],
    opened: 10,
    deadLettered: 2,
    deadLetteredReduced: 1,
    auditSkipped: 0,
    commitFailures: 0,
    ...overrides,
  };
}

describe('health of the Kafka intake', () => {
  it('is up while the consumer runs and hears from its coordinator, with the dead-letter counts', () => {
    const health = intakeHealth(status(), [], now);
    assert.equal(health.status, 'up');
    assert.equal(health.deadLetteredReduced, 1);
  });

  it('is down while the consumer restarts, saying since when and after which error', () => {
    const health = intakeHealth(
      status({
        running: false,
        consumer: {
          state: 'restarting',
          since: ago(40),
          restarts: 3,
          lastCrash: { at: ago(5), error: 'Connection error: connect ECONNREFUSED' },
        },
      }),
      [],
      now,
    );
    assert.equal(health.status, 'down');
    assert.equal(
      health.detail,
      `consumer restarting since ${ago(40)}; last error: Connection error: connect ECONNREFUSED`,
    );
  });

  it('is down when the coordinator has not answered for longer than a session timeout, though the consumer runs', () => {
    const health = intakeHealth(
      status({ consumer: { state: 'running', since: ago(600), restarts: 0, lastContactAt: ago(31) } }),
      [],
      now,
    );
    assert.equal(health.status, 'down');
    assert.match(health.detail ?? '', /no answer from the Kafka group coordinator since/);
  });

  it('is degraded while a partition retries its head message, naming it', () => {
    const stalled = [
      {
        partition: 1,
        offset: '7',
        step: 'open' as const,
        errorClass: 'transient' as const,
        failures: 4,
        lastError: 'case.busy',
        since: ago(3),
        nextAttemptAt: ago(-1),
      },
    ];
    const health = intakeHealth(status({ stalled }), ['dead-letter topic too small'], now);
    assert.equal(health.status, 'degraded');
    assert.deepEqual(health.stalled, stalled);
    assert.deepEqual(health.warnings, ['dead-letter topic too small']);
  });
});
