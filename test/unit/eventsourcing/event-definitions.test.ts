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

  test('encode validates the data as it will be read back, so an undefined field cannot slip through', () => {
    const registry = createEventRegistry([
      defineEvent({
        type: 'Received',
        schema: Type.Object({ payload: Type.Unknown(), count: Type.Number() }),
      }),
    ]);
    // Type.Unknown accepts undefined in memory, but JSON drops the key: every later read would fail.
    assert.throws(
      () => registry.encode({ type: 'Received', data: { payload: undefined, count: 1 } }),
      (error: unknown) =>
        error instanceof EventValidationError && error.violations.some((v) => v.path === ''),
    );
    // NaN is stored as null, which is not a number.
    assert.throws(
      () => registry.encode({ type: 'Received', data: { payload: null, count: Number.NaN } }),
      (error: unknown) =>
        error instanceof EventValidationError && error.violations.some((v) => v.path === '/count'),
    );
    assert.throws(
      () => registry.encode({ type: 'Received', data: { payload: 1n, count: 1 } }),
      (error: unknown) =>
        error instanceof EventValidationError && /cannot be stored as JSON/.test(error.message),
    );
    const encoded = registry.encode({ type: 'Received', data: { payload: null, count: 1 } });
    assert.deepEqual(encoded.data, { payload: null, count: 1 });
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
