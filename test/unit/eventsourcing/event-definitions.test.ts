import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Type from 'typebox';
import { EventValidationError, UnknownEventTypeError } from '../../../src/eventsourcing/core/errors.ts';
import { createEventRegistry, defineEvent } from '../../../src/eventsourcing/core/event-definitions.ts';
import { accountEvents } from '../../support/eventsourcing-sample.ts';

describe('event registry', () => {
  test('encode validates against the current schema and records its version', () => {
    const encoded = accountEvents.encode({
      type: 'MoneyDeposited',
      data: { accountId: 'a', amount: 5, currency: 'EUR' },
    });
    assert.deepEqual(encoded, {
      type: 'MoneyDeposited',
      data: { accountId: 'a', amount: 5, currency: 'EUR' },
      schemaVersion: 2,
    });
  });

  test('encode rejects data that does not match, naming the field', () => {
    assert.throws(
      () =>
        accountEvents.encode({
          type: 'MoneyDeposited',
          data: { accountId: 'a', amount: 0, currency: 'EUR' },
        }),
      (error: unknown) =>
        error instanceof EventValidationError &&
        error.eventType === 'MoneyDeposited' &&
        error.violations.some((v) => v.path === '/amount'),
    );
  });

  test('decode upcasts older versions before validating', () => {
    assert.deepEqual(accountEvents.decode('MoneyDeposited', { accountId: 'a', amount: 3 }, 1), {
      type: 'MoneyDeposited',
      data: { accountId: 'a', amount: 3, currency: 'EUR' },
    });
  });

  test('decode refuses unknown types and versions newer than ours', () => {
    assert.throws(() => accountEvents.decode('Nope', {}, 1), UnknownEventTypeError);
    assert.throws(() => accountEvents.decode('MoneyDeposited', {}, 3), UnknownEventTypeError);
  });

  test('decode reports stored data that is invalid even after upcasting', () => {
    assert.throws(() => accountEvents.decode('AccountOpened', { accountId: 1 }, 1), EventValidationError);
  });

  test('a definition must provide every upcaster below its version', () => {
    assert.throws(
      () => defineEvent({ type: 'X', version: 3, schema: Type.Object({}), upcast: { 1: (d) => d } }),
      /v2/,
    );
  });

  test('a type cannot be defined twice in one registry', () => {
    const one = defineEvent({ type: 'Same', schema: Type.Object({}) });
    assert.throws(() => createEventRegistry([one, one]), /twice/);
  });
});
