import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import {
  BACKWARDS,
  END,
  jsonEvent,
  START,
  StreamNotFoundError,
  streamNameFilter,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import { type TestEmulator, withEmulator } from '../support/emulator.ts';

const stream = (prefix = 'order') => `${prefix}-${randomUUID()}`;
const event = (type = 'Happened', data: Record<string, unknown> = {}) => jsonEvent({ type, data });

for (const writePath of ['batch', 'append'] as const) {
  describe(`streams over ${writePath === 'batch' ? 'BatchAppend' : 'Append'}`, () => {
    let emulator: TestEmulator;
    before(async () => {
      emulator = await withEmulator({ writePath });
    });
    after(() => emulator.close());

    test('an append returns the last revision and the position of the last event', async () => {
      const name = stream();
      const result = await emulator.client.appendToStream(name, [event('A'), event('B')]);
      assert.equal(result.nextExpectedRevision, 1n);
      const read = [];
      for await (const resolved of emulator.client.readStream(name)) read.push(resolved.event!);
      assert.deepEqual(
        read.map((e) => e.type),
        ['A', 'B'],
      );
      assert.deepEqual(result.position, read[1]!.position);
    });

    test('a wrong expected revision reports expected and actual', async () => {
      const name = stream();
      await emulator.client.appendToStream(name, [event(), event()]);
      await assert.rejects(
        emulator.client.appendToStream(name, [event()], { expectedRevision: 5n }),
        (error: unknown) =>
          error instanceof WrongExpectedVersionError &&
          error.expectedVersion === 5n &&
          error.actualVersion === 1n,
      );
    });

    test('reading a missing stream raises StreamNotFoundError', async () => {
      await assert.rejects(async () => {
        for await (const _ of emulator.client.readStream(stream())) {
          // drain
        }
      }, StreamNotFoundError);
    });

    test('reading backwards from the end starts at the last event', async () => {
      const name = stream();
      await emulator.client.appendToStream(name, [event('A'), event('B'), event('C')]);
      const types = [];
      for await (const resolved of emulator.client.readStream(name, {
        direction: BACKWARDS,
        fromRevision: END,
        maxCount: 2,
      })) {
        types.push(resolved.event!.type);
      }
      assert.deepEqual(types, ['C', 'B']);
    });

    test('a filtered $all subscription catches up, reports caughtUp, then delivers live events', async () => {
      const prefix = `sub${randomUUID().slice(0, 8)}`;
      await emulator.client.appendToStream(`${prefix}-1`, [event('A'), event('B')]);
      const subscription = emulator.client.subscribeToAll({
        fromPosition: START,
        filter: streamNameFilter({ prefixes: [`${prefix}-`] }),
      });
      const caughtUp = new Promise<void>((resolve) => subscription.once('caughtUp', () => resolve()));
      const seen: string[] = [];
      await caughtUp.then(() => emulator.client.appendToStream(`${prefix}-2`, [event('C')]));
      for await (const resolved of subscription) {
        seen.push(resolved.event!.type);
        if (seen.length === 3) break;
      }
      await subscription.unsubscribe();
      assert.deepEqual(seen, ['A', 'B', 'C']);
    });
  });
}
