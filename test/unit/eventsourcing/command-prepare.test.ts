import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCommandHandler } from '../../../src/eventsourcing/command/handler.ts';
import { countingEventStore } from '../../support/counting-event-store.ts';
import {
  type AccountCommand,
  type AccountState,
  accountDecider,
  accountEvents,
  accountStream,
} from '../../support/eventsourcing-sample.ts';

describe('command handler: preparing a command from the state it is decided on', () => {
  it('hands prepare the state the decision uses, reading the stream once for both', async () => {
    const { store: counted, calls } = countingEventStore();
    const handler = createCommandHandler({
      eventStore: counted,
      decider: accountDecider,
      events: accountEvents,
      streamName: accountStream('acc'),
      cache: false,
    });
    await handler.handle(
      'a',
      { type: 'OpenAccount', accountId: 'a', owner: 'ann' },
      { idempotencyKey: 'k1', actor: 't' },
    );
    calls.reads = 0;
    const seen: AccountState[] = [];
    // The outside answer (here: an amount) goes into the command before the decision.
    const prepare = async (command: AccountCommand, state: AccountState): Promise<AccountCommand> => {
      seen.push(state);
      return command.type === 'Deposit' ? { ...command, amount: 7 } : command;
    };
    const result = await handler.handle(
      'a',
      { type: 'Deposit', accountId: 'a', amount: 1 },
      { idempotencyKey: 'k2', actor: 't' },
      prepare,
    );
    assert.equal(calls.reads, 1);
    assert.deepEqual(seen, [{ status: 'open', balance: 0 }]);
    assert.ok(result.outcome === 'appended');
    assert.deepEqual(result.state, { status: 'open', balance: 7 });

    // A key already handled is answered without asking again.
    const again = await handler.handle(
      'a',
      { type: 'Deposit', accountId: 'a', amount: 1 },
      { idempotencyKey: 'k2', actor: 't' },
      prepare,
    );
    assert.equal(again.outcome, 'already_handled');
    assert.equal(seen.length, 1);
  });
});
