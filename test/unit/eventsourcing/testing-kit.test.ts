import { describe, test } from 'node:test';
import { deciderSpec, projectionSpec } from '../../../src/eventsourcing/testing/specs.ts';
import { accountDecider, accountsProjection } from '../../support/eventsourcing-sample.ts';

describe('testing kit', () => {
  const opened = { type: 'AccountOpened', data: { accountId: 'a', owner: 'ann' } } as const;

  test('deciderSpec: given events, when a command, then events', () => {
    deciderSpec(accountDecider)
      .given([opened])
      .when({ type: 'Deposit', accountId: 'a', amount: 3 })
      .then([{ type: 'MoneyDeposited', data: { accountId: 'a', amount: 3, currency: 'EUR' } }]);
  });

  test('deciderSpec: a broken rule names its code; an idempotent command decides nothing', () => {
    deciderSpec(accountDecider)
      .given([])
      .when({ type: 'Deposit', accountId: 'a', amount: 3 })
      .thenThrows('account.not_open');
    deciderSpec(accountDecider)
      .given([opened])
      .when({ type: 'OpenAccount', accountId: 'a', owner: 'x' })
      .thenNothing();
  });

  test('projectionSpec: events in, documents out, replays are no-ops', () => {
    projectionSpec(accountsProjection('accounts'))
      .given([
        opened,
        { type: 'MoneyDeposited', data: { accountId: 'a', amount: 2, currency: 'EUR' } },
        { type: 'AccountOpened', data: { accountId: 'b', owner: 'bob' } },
        { type: 'AccountClosed', data: { accountId: 'b' } },
      ])
      .then([{ id: 'a', owner: 'ann', balance: 2, deposits: 1, status: 'open' }]);
  });

  test('projectionSpec: a projection that cannot apply an event fails the spec', () => {
    projectionSpec(accountsProjection('accounts'))
      .given([{ type: 'MoneyDeposited', data: { accountId: 'x', amount: 2, currency: 'EUR' } }])
      .thenThrows(/deposit before opening/);
  });
});
