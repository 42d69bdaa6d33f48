import Type from 'typebox';
import type { Decider } from '../../src/eventsourcing/core/decider.ts';
import { DomainError } from '../../src/eventsourcing/core/errors.ts';
import {
  createEventRegistry,
  defineEvent,
  type EventOf,
} from '../../src/eventsourcing/core/event-definitions.ts';
import type { Projection, ReadDocument } from '../../src/eventsourcing/core/projection.ts';
import { streamName } from '../../src/eventsourcing/core/streams.ts';

/** A small account aggregate used to exercise the framework; not part of any domain. */
export const AccountOpened = defineEvent({
  type: 'AccountOpened',
  schema: Type.Object({ accountId: Type.String(), owner: Type.String() }),
});

/** v1 had `amount` only; v2 adds the currency (v1 amounts were euros). */
export const MoneyDeposited = defineEvent({
  type: 'MoneyDeposited',
  version: 2,
  schema: Type.Object({
    accountId: Type.String(),
    amount: Type.Integer({ minimum: 1 }),
    currency: Type.String(),
  }),
  upcast: { 1: (data) => ({ ...(data as object), currency: 'EUR' }) },
});

export const AccountClosed = defineEvent({
  type: 'AccountClosed',
  schema: Type.Object({ accountId: Type.String() }),
});

export const accountEvents = createEventRegistry([AccountOpened, MoneyDeposited, AccountClosed]);

export type AccountEvent =
  | EventOf<typeof AccountOpened>
  | EventOf<typeof MoneyDeposited>
  | EventOf<typeof AccountClosed>;

export type AccountCommand =
  | { type: 'OpenAccount'; accountId: string; owner: string }
  | { type: 'Deposit'; accountId: string; amount: number }
  | { type: 'CloseAccount'; accountId: string };

export type AccountState =
  | { status: 'none' }
  | { status: 'open'; balance: number }
  | { status: 'closed'; balance: number };

export const accountDecider: Decider<AccountCommand, AccountEvent, AccountState> = {
  initialState: () => ({ status: 'none' }),
  decide(command, state) {
    switch (command.type) {
      case 'OpenAccount':
        if (state.status !== 'none') return [];
        return [{ type: 'AccountOpened', data: { accountId: command.accountId, owner: command.owner } }];
      case 'Deposit':
        if (state.status !== 'open') throw new DomainError('account.not_open', 'account is not open');
        return [
          {
            type: 'MoneyDeposited',
            data: { accountId: command.accountId, amount: command.amount, currency: 'EUR' },
          },
        ];
      case 'CloseAccount':
        if (state.status !== 'open') throw new DomainError('account.not_open', 'account is not open');
        return [{ type: 'AccountClosed', data: { accountId: command.accountId } }];
      default: {
        const unknown: never = command;
        throw new Error(`unknown command ${JSON.stringify(unknown)}`);
      }
    }
  },
  evolve(state, event) {
    switch (event.type) {
      case 'AccountOpened':
        return { status: 'open', balance: 0 };
      case 'MoneyDeposited':
        return state.status === 'open'
          ? { status: 'open', balance: state.balance + event.data.amount }
          : state;
      case 'AccountClosed':
        return { status: 'closed', balance: state.status === 'none' ? 0 : state.balance };
      default: {
        const unknown: never = event;
        return unknown;
      }
    }
  },
};

export const accountStream = (category: string) => (id: string) => streamName(category, id);

export type AccountDocument = ReadDocument & {
  owner: string;
  balance: number;
  deposits: number;
  status: string;
};

/** Balances per account; closing deletes the document. */
export function accountsProjection(
  collection: string,
  options: { version?: number; name?: string; poison?: (amount: number) => boolean } = {},
): Projection<AccountDocument, AccountEvent> {
  return {
    name: options.name ?? `accounts_${collection}`,
    version: options.version ?? 1,
    collection,
    creates: ['AccountOpened'],
    handles: ['AccountOpened', 'MoneyDeposited', 'AccountClosed'],
    documentIds: (event) => [event.data.accountId],
    evolve(current, event, id) {
      switch (event.type) {
        case 'AccountOpened':
          return { id, owner: event.data.owner, balance: 0, deposits: 0, status: 'open' };
        case 'MoneyDeposited': {
          if (options.poison?.(event.data.amount))
            throw new Error(`cannot apply amount ${event.data.amount}`);
          if (!current) throw new Error(`deposit before opening ${id}`);
          return { ...current, balance: current.balance + event.data.amount, deposits: current.deposits + 1 };
        }
        case 'AccountClosed':
          return null;
        default:
          return current;
      }
    },
  };
}
