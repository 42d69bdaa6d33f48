import assert from 'node:assert/strict';
import { test } from 'node:test';
import { comparePositions, positionFromKey, positionKey } from '../../../src/eventsourcing/core/positions.ts';
import { deterministicEventId } from '../../../src/eventsourcing/eventstore/event-ids.ts';

test('position keys sort like positions and round-trip', () => {
  const positions = [0n, 1n, 255n, 256n, 2n ** 40n, 2n ** 63n - 1n].map((n) => ({ commit: n, prepare: n }));
  const keys = positions.map(positionKey);
  assert.deepEqual([...keys].sort(), keys);
  assert.deepEqual(keys.map(positionFromKey), positions);
  assert.equal(comparePositions({ commit: 1n, prepare: 2n }, { commit: 1n, prepare: 3n }), -1);
});

test('event ids are name-based UUIDs: stable per stream, key and index, distinct otherwise', () => {
  const id = deterministicEventId('case-1', 'key-1', 0);
  assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(deterministicEventId('case-1', 'key-1', 0), id);
  const others = [
    deterministicEventId('case-1', 'key-1', 1),
    deterministicEventId('case-2', 'key-1', 0),
    deterministicEventId('case-1', 'key-2', 0),
  ];
  assert.equal(new Set([id, ...others]).size, 4);
});
