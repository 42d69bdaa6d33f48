import assert from 'node:assert/strict';
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

  test('projectionSpec: events in, documents out, the same after a rebuild', () => {
    projectionSpec(accountsProjection('accounts'))
      .given([
        opened,
        { type: 'MoneyDeposited', data: { accountId: 'a', amount: 2, currency: 'EUR' } },
        { type: 'AccountOpened', data: { accountId: 'b', owner: 'bob' } },
        { type: 'AccountClosed', data: { accountId: 'b' } },
      ])
      .then([{ id: 'a', owner: 'ann', balance: 2, deposits: 1, status: 'open' }]);
  });

  test('projectionSpec: a projection that keeps state outside its documents fails the rebuild check', () => {
    let seen = 0;
    const base = accountsProjection('accounts');
    const counting = {
      ...base,
      // Counts every event it ever saw in a variable: a rebuild starts from a different count.
      evolve: (
        current: Parameters<typeof base.evolve>[0],
        event: Parameters<typeof base.evolve>[1],
        id: string,
      ) => {
        seen++;
        const next = base.evolve(current, event, id);
        return next === null ? null : { ...next, deposits: seen };
      },
    };
    assert.throws(
      () =>
        projectionSpec(counting)
          .given([opened, { type: 'MoneyDeposited', data: { accountId: 'a', amount: 2, currency: 'EUR' } }])
          .then([{ id: 'a', owner: 'ann', balance: 2, deposits: 2, status: 'open' }]),
      /a rebuild from the same events must give the same documents/,
    );
  });

  test('projectionSpec: an event that creates documents but reads the current one fails the spec', () => {
    const base = accountsProjection('accounts');
    const leaky = {
      ...base,
      evolve: (
        current: Parameters<typeof base.evolve>[0],
        event: Parameters<typeof base.evolve>[1],
        id: string,
      ) => {
        const next = base.evolve(current, event, id);
        return next !== null && event.type === 'AccountOpened' && current !== null
          ? { ...next, balance: current.balance }
          : next;
      },
    };
    assert.throws(
      () =>
        projectionSpec(leaky)
          .given([opened, { type: 'MoneyDeposited', data: { accountId: 'a', amount: 2, currency: 'EUR' } }])
          .then([{ id: 'a', owner: 'ann', balance: 2, deposits: 1, status: 'open' }]),
      /AccountOpened creates documents, so evolve must ignore the current one/,
    );
  });

  test('projectionSpec: a projection that cannot apply an event fails the spec', () => {
    projectionSpec(accountsProjection('accounts'))
      .given([{ type: 'MoneyDeposited', data: { accountId: 'x', amount: 2, currency: 'EUR' } }])
      .thenThrows(/deposit before opening/);
  });
});
