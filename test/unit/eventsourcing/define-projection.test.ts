import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DomainEvent, RecordedEvent } from '../../../src/eventsourcing/core/events.ts';
import { defineProjection, type Projection } from '../../../src/eventsourcing/core/projection.ts';

type Opened = DomainEvent<'Opened', { id: string; owner: string }>;
type Renamed = DomainEvent<'Renamed', { id: string; owner: string }>;
type Tagged = DomainEvent<'Tagged', { ids: string[]; tag: string }>;
type Doc = { id: string; owner: string; tags: string[] };

const recorded = <E extends DomainEvent>(event: E): RecordedEvent<E> => ({
  ...event,
  id: 'e',
  streamId: 's',
  revision: 0n,
  position: { commit: 1n, prepare: 1n },
  created: new Date(0),
  metadata: { correlationId: '', causationId: '', idempotencyKey: '', actor: '', schemaVersion: 1 },
});

const owners = defineProjection<Opened | Renamed | Tagged, Doc>({
  name: 'owners',
  version: 1,
  collection: 'owners',
  id: (event) => ('id' in event.data ? event.data.id : []),
  on: {
    Opened: { create: ({ data }) => ({ id: data.id, owner: data.owner, tags: [] }) },
    Renamed: { update: (doc, { data }) => ({ ...doc, owner: data.owner }) },
    Tagged: {
      id: ({ data }) => data.ids,
      update: (doc, { data }) => ({ ...doc, tags: [...doc.tags, data.tag] }),
    },
  },
});

describe('defineProjection', () => {
  it('reads what it handles and what creates documents off the handler map', () => {
    assert.deepEqual(owners.handles, ['Opened', 'Renamed', 'Tagged']);
    assert.deepEqual(owners.creates, ['Opened']);
    // Registered beside other projections without a cast.
    const all: readonly Projection[] = [owners];
    assert.equal(all.length, 1);
  });

  it('finds documents with the handler id, else the projection id', () => {
    assert.deepEqual(owners.documentIds(recorded({ type: 'Renamed', data: { id: 'a', owner: 'x' } })), ['a']);
    assert.deepEqual(owners.documentIds(recorded({ type: 'Tagged', data: { ids: ['a', 'b'], tag: 't' } })), [
      'a',
      'b',
    ]);
  });

  it('creates afresh, updates an existing document, and leaves a missing one missing', () => {
    const opened = owners.evolve(
      { id: 'a', owner: 'stale', tags: ['old'] },
      recorded({ type: 'Opened', data: { id: 'a', owner: 'ann' } }),
      'a',
    );
    assert.deepEqual(opened, { id: 'a', owner: 'ann', tags: [] });
    const renamed = owners.evolve(
      opened,
      recorded({ type: 'Renamed', data: { id: 'a', owner: 'bea' } }),
      'a',
    );
    assert.deepEqual(renamed, { id: 'a', owner: 'bea', tags: [] });
    assert.equal(
      owners.evolve(null, recorded({ type: 'Renamed', data: { id: 'z', owner: 'x' } }), 'z'),
      null,
    );
  });

  it('refuses a handler with no way to find its documents', () => {
    assert.throws(
      () =>
        defineProjection<Opened, Doc>({
          name: 'broken',
          version: 1,
          collection: 'broken',
          on: { Opened: { create: ({ data }) => ({ id: data.id, owner: data.owner, tags: [] }) } },
        }),
      /the handler of Opened has no id/,
    );
  });
});
