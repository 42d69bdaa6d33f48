import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCommandHandler } from '../../../src/eventsourcing/command/handler.ts';
import type { EventStore } from '../../../src/eventsourcing/eventstore/port.ts';
import { countingEventStore } from '../../support/counting-event-store.ts';
import { accountDecider, accountEvents, accountStream } from '../../support/eventsourcing-sample.ts';

const handlerOver = (eventStore: EventStore, assumeNewStreams: boolean) =>
  createCommandHandler({
    eventStore,
    decider: accountDecider,
    events: accountEvents,
    streamName: accountStream('acc'),
    cache: false,
    assumeNewStreams,
  });

describe('command handler assuming new streams', () => {
  it('writes a new stream with one append and no read', async () => {
    const { store, calls } = countingEventStore();
    const result = await handlerOver(store, true).handle(
      'a',
      { type: 'OpenAccount', accountId: 'a', owner: 'ann' },
      { idempotencyKey: 'open-a', actor: 'test' },
    );
    assert.equal(result.outcome, 'appended');
    assert.deepEqual(calls, { reads: 0, appends: 1 });
  });

  it('never writes twice: a retried key lands on the same event, another key reads and decides again', async () => {
    const { store, calls } = countingEventStore();
    const open = { type: 'OpenAccount' as const, accountId: 'a', owner: 'ann' };
    const first = await handlerOver(store, true).handle('a', open, {
      idempotencyKey: 'open-a',
      actor: 'test',
    });
    assert.equal(first.outcome, 'appended');
    // The same ids at the same place: the store accepts the append as the one it already holds
    // (as EventStoreDB does), so the answer points at the first write.
    const retried = await handlerOver(store, true).handle('a', open, {
      idempotencyKey: 'open-a',
      actor: 'test',
    });
    assert.ok(retried.outcome === 'appended' || retried.outcome === 'already_handled');
    assert.ok(first.outcome === 'appended' && 'position' in retried);
    assert.deepEqual(retried.position, first.position);
    calls.reads = 0;
    calls.appends = 0;
    // Another key: the append expecting no stream fails, the stream is read once, and the
    // decider sees the open account.
    const other = await handlerOver(store, true).handle('a', open, {
      idempotencyKey: 'open-a-again',
      actor: 'test',
    });
    assert.equal(other.outcome, 'unchanged');
    assert.deepEqual(calls, { reads: 1, appends: 1 });
    assert.equal((await store.readStream('acc-a'))?.length, 1);
  });
});
