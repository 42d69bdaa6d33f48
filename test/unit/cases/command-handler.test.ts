import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { CaseCommand } from '../../../src/cases/commands.ts';
import { createCaseEventRegistry } from '../../../src/cases/events.ts';
import { caseIdFor, caseStreamName, type IdDeriver } from '../../../src/cases/ids.ts';
import {
  createIntakeEventRegistry,
  intakeAuditDecider,
  type RecordIntake,
} from '../../../src/cases/intake-audit.ts';
import { resolveNotification } from '../../../src/cases/notifications.ts';
import { createCommandHandler } from '../../../src/eventsourcing/command/handler.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { AT, bundledNotificationRules, createDecider, LATER, openCase, REVIEWER } from './support.ts';

// The case domain behind the framework's command handler and in-memory store: what the
// composition root will wire, minus the configuration service.

const uuidIds: IdDeriver = (...parts) => {
  const hex = createHash('sha256').update(parts.join('\u0000')).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

function setUp() {
  const eventStore = createInMemoryEventStore();
  const decider = createDecider({ ids: uuidIds });
  const handler = createCommandHandler({
    eventStore,
    decider,
    streamName: caseStreamName,
    events: createCaseEventRegistry(),
  });
  return { eventStore, decider, handler };
}

describe('the case decider behind the command handler', () => {
  it('opens one case for the same intake sent twice', async () => {
    const { eventStore, handler } = setUp();
    const caseId = caseIdFor(uuidIds, 'intake-1');
    const first = await handler.handle(caseId, openCase(kybIntakeExample, 'intake-1'), {
      idempotencyKey: 'intake-1',
      actor: 'kafka',
    });
    assert.equal(first.outcome, 'appended');
    const second = await handler.handle(caseId, openCase(kybIntakeExample, 'intake-1'), {
      idempotencyKey: 'intake-1',
      actor: 'kafka',
    });
    assert.equal(second.outcome, 'already_handled');
    const stream = await eventStore.readStream(caseStreamName(caseId));
    assert.equal(stream?.length, 10);
  });

  it('stores events that read back identical to what was decided', async () => {
    const { eventStore, handler } = setUp();
    const caseId = caseIdFor(uuidIds, 'intake-1');
    const result = await handler.handle(caseId, openCase(kycIntakeExample, 'intake-1'), {
      idempotencyKey: 'intake-1',
      actor: 'http',
    });
    assert.ok(result.outcome === 'appended');
    const registry = createCaseEventRegistry();
    const stored = (await eventStore.readStream(caseStreamName(caseId))) ?? [];
    assert.deepEqual(
      stored.map((e) => registry.decode(e.type, e.data, 1)),
      result.events,
    );
  });

  it('resolves rules before deciding and records the service decision', async () => {
    const { decider, handler } = setUp();
    const caseId = caseIdFor(uuidIds, 'intake-1');
    await handler.handle(caseId, openCase(kycIntakeExample, 'intake-1'), {
      idempotencyKey: 'intake-1',
      actor: 'http',
    });
    const opened = await handler.handle(caseId, openCase(kycIntakeExample, 'intake-1'), {
      idempotencyKey: 'again',
      actor: 'http',
    });
    assert.equal(opened.outcome, 'unchanged');
    const state = opened.state;

    const requirementId = Object.keys(state.status === 'NONE' ? {} : state.requirements)[0]!;
    const upload: CaseCommand = {
      type: 'ChangeDocumentStatus',
      data: {
        case_id: caseId,
        document_requirement_id: requirementId,
        new_status: 'UPLOADED',
        actor: REVIEWER,
        at: AT,
      },
    };
    const uploaded = await handler.handle(caseId, upload, { idempotencyKey: 'put-1', actor: 'reviewer-7' });
    assert.ok(uploaded.outcome === 'appended');

    const reject: CaseCommand = {
      type: 'ChangeDocumentStatus',
      data: {
        case_id: caseId,
        document_requirement_id: requirementId,
        new_status: 'REJECTED',
        actor: REVIEWER,
        at: LATER,
      },
    };
    // What the handler does with a configuration service that is down.
    const triggers = decider.notificationTriggers(reject, uploaded.state);
    const notifications = Object.fromEntries(
      triggers.map((t) => [
        t.trigger,
        resolveNotification(
          { outcome: 'failed', reason: 'ECONNREFUSED' },
          bundledNotificationRules(),
          t.trigger,
        ),
      ]),
    );
    const rejected = await handler.handle(
      caseId,
      { ...reject, data: { ...reject.data, notifications } },
      { idempotencyKey: 'put-2', actor: 'reviewer-7' },
    );
    assert.ok(rejected.outcome === 'appended');
    const notification = rejected.events.find((e) => e.type === 'NotificationRequired');
    assert.ok(notification?.type === 'NotificationRequired');
    assert.equal(notification.data.rule_source, 'bundled');
    assert.equal(notification.data.fallback_reason, 'configuration service failed: ECONNREFUSED');
  });

  it('records an intake receipt once, in its own stream', async () => {
    const eventStore = createInMemoryEventStore();
    const audit = createCommandHandler({
      eventStore,
      decider: intakeAuditDecider,
      streamName: (id) => `intake-${id}`,
      events: createIntakeEventRegistry(),
    });
    const record: RecordIntake = {
      type: 'RecordIntake',
      data: {
        receipt_id: 'r-1',
        source: 'http',
        transport: { method: 'POST', path: '/api/v1/cases' },
        idempotency_key: 'k',
        received_at: AT,
        recorded_at: AT,
        payload: { client_id: 5 },
        raw_text: null,
        outcome: 'rejected',
        case_id: null,
        violations: [{ path: '/client_id', message: 'must be string' }],
        error_code: null,
      },
    };
    assert.equal(
      (await audit.handle('r-1', record, { idempotencyKey: 'r-1', actor: 'http' })).outcome,
      'appended',
    );
    assert.equal(
      (await audit.handle('r-1', record, { idempotencyKey: 'r-1b', actor: 'http' })).outcome,
      'unchanged',
    );
  });
});
