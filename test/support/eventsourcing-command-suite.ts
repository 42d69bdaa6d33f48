import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import { type CommandHandlerOptions, createCommandHandler } from '../../src/eventsourcing/command/handler.ts';
import { DomainError, EventValidationError } from '../../src/eventsourcing/core/errors.ts';
import type { EventStore } from '../../src/eventsourcing/eventstore/port.ts';
import { accountDecider, accountEvents, accountStream } from './eventsourcing-sample.ts';

/**
 * Command-handling behaviour, run against each event store (in-memory and the emulator).
 * `handlerOptions.cache` runs it with the state cache off or with other bounds (default: on).
 */
export function commandHandlerSuite(
  name: string,
  storeFor: (t: TestContext) => Promise<EventStore>,
  handlerOptions: Pick<CommandHandlerOptions<unknown, never, unknown>, 'cache'> = {},
): void {
  async function setup(t: TestContext) {
    const eventStore = await storeFor(t);
    const category = `acct${randomUUID().slice(0, 8)}`;
    const streamName = accountStream(category);
    const handler = createCommandHandler({
      eventStore,
      decider: accountDecider,
      streamName,
      events: accountEvents,
      backoff: { initialDelayMs: 1, maxDelayMs: 5, factor: 2 },
      // Eight writers racing on one stream: the last one may lose seven times.
      maxRetries: 20,
      ...handlerOptions,
    });
    return { eventStore, handler, streamName };
  }
  const ctx = (key: string, extra: object = {}) => ({ idempotencyKey: key, actor: 'tester', ...extra });

  describe(`command handler: ${name}`, () => {
    test('appends the decided events with metadata and returns revision and position', async (t) => {
      const { eventStore, handler, streamName } = await setup(t);
      const result = await handler.handle(
        'a1',
        { type: 'OpenAccount', accountId: 'a1', owner: 'ann' },
        ctx('k1', { traceparent: '00-abc-def-01', correlationId: 'corr' }),
      );
      assert.equal(result.outcome, 'appended');
      if (result.outcome !== 'appended') return;
      assert.equal(result.nextRevision, 0n);
      assert.ok(result.position.commit > 0n);
      assert.deepEqual(result.state, { status: 'open', balance: 0 });
      const stored = await eventStore.readStream(streamName('a1'));
      assert.equal(stored?.length, 1);
      assert.deepEqual(stored?.[0]?.metadata, {
        correlationId: 'corr',
        causationId: 'k1',
        idempotencyKey: 'k1',
        actor: 'tester',
        schemaVersion: 1,
        traceparent: '00-abc-def-01',
      });
      assert.deepEqual(stored?.[0]?.position, result.position);
    });

    test('a repeated idempotency key appends nothing and reports where it landed', async (t) => {
      const { eventStore, handler, streamName } = await setup(t);
      await handler.handle('a1', { type: 'OpenAccount', accountId: 'a1', owner: 'ann' }, ctx('open'));
      const first = await handler.handle('a1', { type: 'Deposit', accountId: 'a1', amount: 5 }, ctx('dep'));
      const again = await handler.handle('a1', { type: 'Deposit', accountId: 'a1', amount: 5 }, ctx('dep'));
      assert.equal(again.outcome, 'already_handled');
      if (first.outcome !== 'appended' || again.outcome !== 'already_handled') return;
      assert.equal(again.nextRevision, first.nextRevision);
      assert.deepEqual(again.position, first.position);
      assert.equal((await eventStore.readStream(streamName('a1')))?.length, 2);
    });

    test('a pinned revision that no longer matches is a conflict, not a retry', async (t) => {
      const { handler } = await setup(t);
      await handler.handle('a1', { type: 'OpenAccount', accountId: 'a1', owner: 'ann' }, ctx('open'));
      await handler.handle('a1', { type: 'Deposit', accountId: 'a1', amount: 1 }, ctx('d1'));
      const result = await handler.handle(
        'a1',
        { type: 'Deposit', accountId: 'a1', amount: 1 },
        ctx('d2', { expectedRevision: 0n }),
      );
      assert.deepEqual(result, {
        outcome: 'conflict',
        reason: 'pinned',
        expectedRevision: 0n,
        actualRevision: 1n,
      });
      const created = await handler.handle(
        'a2',
        { type: 'Deposit', accountId: 'a2', amount: 1 },
        ctx('d3', { expectedRevision: 4n }),
      );
      assert.deepEqual(created, {
        outcome: 'conflict',
        reason: 'pinned',
        expectedRevision: 4n,
        actualRevision: 'no_stream',
      });
    });

    test('a pinned revision that matches appends', async (t) => {
      const { handler } = await setup(t);
      await handler.handle(
        'a1',
        { type: 'OpenAccount', accountId: 'a1', owner: 'ann' },
        ctx('open', { expectedRevision: 'no_stream' }),
      );
      const result = await handler.handle(
        'a1',
        { type: 'Deposit', accountId: 'a1', amount: 2 },
        ctx('d1', { expectedRevision: 0n }),
      );
      assert.equal(result.outcome, 'appended');
    });

    test('concurrent unpinned commands on one stream all land through retries', async (t) => {
      const { eventStore, handler, streamName } = await setup(t);
      await handler.handle('a1', { type: 'OpenAccount', accountId: 'a1', owner: 'ann' }, ctx('open'));
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          handler.handle('a1', { type: 'Deposit', accountId: 'a1', amount: i + 1 }, ctx(`d${i}`)),
        ),
      );
      assert.deepEqual(
        results.map((r) => r.outcome),
        Array(8).fill('appended'),
      );
      const stored = await eventStore.readStream(streamName('a1'));
      assert.equal(stored?.length, 9);
      const revisions = results.map((r) => (r.outcome === 'appended' ? r.nextRevision : -1n)).sort();
      assert.deepEqual(revisions, [1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n]);
    });

    test('a decision of no events reports the stream as it is', async (t) => {
      const { handler } = await setup(t);
      const opened = await handler.handle(
        'a1',
        { type: 'OpenAccount', accountId: 'a1', owner: 'ann' },
        ctx('open'),
      );
      const result = await handler.handle(
        'a1',
        { type: 'OpenAccount', accountId: 'a1', owner: 'bob' },
        ctx('open-2'),
      );
      assert.equal(result.outcome, 'unchanged');
      if (result.outcome !== 'unchanged' || opened.outcome !== 'appended') return;
      assert.equal(result.nextRevision, 0n);
      assert.deepEqual(result.position, opened.position);
    });

    test('domain errors and invalid events propagate and append nothing', async (t) => {
      const { eventStore, handler, streamName } = await setup(t);
      await assert.rejects(
        handler.handle('a1', { type: 'Deposit', accountId: 'a1', amount: 1 }, ctx('d')),
        (error: unknown) => error instanceof DomainError && error.code === 'account.not_open',
      );
      await handler.handle('a1', { type: 'OpenAccount', accountId: 'a1', owner: 'ann' }, ctx('open'));
      await assert.rejects(
        handler.handle('a1', { type: 'Deposit', accountId: 'a1', amount: 0 }, ctx('zero')),
        EventValidationError,
      );
      assert.equal((await eventStore.readStream(streamName('a1')))?.length, 1);
    });

    test('a retried append with the same ids after a lost response is recognised by the store', async (t) => {
      const { eventStore, streamName } = await setup(t);
      const stream = streamName('a9');
      const events = [
        { id: randomUUID(), type: 'AccountOpened', data: { accountId: 'a9', owner: 'x' }, metadata: {} },
      ];
      const first = await eventStore.appendToStream(stream, events, 'no_stream');
      const second = await eventStore.appendToStream(stream, events, 'no_stream');
      assert.deepEqual(second, first);
      assert.equal((await eventStore.readStream(stream))?.length, 1);
    });
  });
}
