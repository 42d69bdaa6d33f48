import assert from 'node:assert/strict';
import type { Decider } from '../core/decider.ts';
import { DomainError } from '../core/errors.ts';
import type { DomainEvent, EventMetadata, RecordedEvent } from '../core/events.ts';
import type { Projection, ReadDocument } from '../core/projection.ts';

/**
 * Given/when/then for a decider, with no I/O:
 * `deciderSpec(decider).given([...events]).when(command).then([...events])`,
 * `.thenThrows('code')` for a DomainError code, `.thenNothing()` for an idempotent no-op.
 */
export function deciderSpec<Command, Event, State>(decider: Decider<Command, Event, State>) {
  return {
    given(history: readonly Event[]) {
      return {
        when(command: Command) {
          const run = () => {
            let state = decider.initialState();
            for (const event of history) state = decider.evolve(state, event);
            return decider.decide(command, state);
          };
          return {
            /** Asserts the decided events, in order. */
            // biome-ignore lint/suspicious/noThenProperty: given/when/then is the spec's vocabulary; never awaited
            then(expected: readonly Event[]) {
              assert.deepEqual(run(), expected);
            },
            thenNothing() {
              assert.deepEqual(run(), []);
            },
            /** Asserts a DomainError with this code (and, optionally, details containing these fields). */
            thenThrows(code: string, details?: Record<string, unknown>) {
              assert.throws(run, (error: unknown) => {
                assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
                assert.equal(error.code, code);
                if (details)
                  for (const [key, value] of Object.entries(details))
                    assert.deepEqual(error.details[key], value);
                return true;
              });
            },
          };
        },
      };
    },
  };
}

/** An event for a projection spec: type and data, plus the stream it came from. */
export type SpecEvent<E extends DomainEvent = DomainEvent> = E & {
  streamId?: string;
  metadata?: Partial<EventMetadata>;
};

/**
 * Events in, documents out, the way the projector applies them (per document, in order, with
 * increasing positions; `null` deletes): `projectionSpec(p).given([...]).then([...docs])`.
 * Documents are compared sorted by id. Also checks what the runtime relies on: a rebuild from the
 * same events gives the same documents, and events that `create` documents ignore the current one.
 */
export function projectionSpec<Doc extends ReadDocument, E extends DomainEvent>(
  projection: Projection<Doc, E>,
) {
  return {
    given(events: readonly SpecEvent<E>[]) {
      const recordedAt = (event: SpecEvent<E>, index: number): RecordedEvent<E> => {
        const position = BigInt(index + 1) * 100n;
        return {
          ...event,
          id: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
          streamId: event.streamId ?? 'spec-1',
          revision: BigInt(index),
          position: { commit: position, prepare: position },
          created: new Date(0),
          metadata: {
            correlationId: 'spec',
            causationId: 'spec',
            idempotencyKey: `spec-${index}`,
            actor: 'spec',
            schemaVersion: 1,
            ...event.metadata,
          },
        } as RecordedEvent<E>;
      };
      const run = (times: number) => {
        const documents = new Map<string, { document: Doc | null; position: bigint }>();
        for (let round = 0; round < times; round++) {
          events.forEach((event, index) => {
            if (!projection.handles.includes(event.type)) return;
            const recorded = recordedAt(event, index);
            const position = recorded.position.commit;
            for (const id of projection.documentIds(recorded)) {
              const current = documents.get(id);
              if (current && current.position >= position) continue;
              documents.set(id, {
                document: projection.evolve(current?.document ?? null, recorded, id),
                position,
              });
            }
          });
        }
        return [...documents.values()]
          .map((entry) => entry.document)
          .filter((document): document is Doc => document !== null)
          .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      };
      /**
       * The runtime does not read a document before an event that `creates` it: evolve must give
       * the same document whatever it is handed as the current one.
       */
      const assertCreatesIgnoreCurrent = (documents: readonly Doc[]) => {
        const stranger = documents[0];
        if (stranger === undefined) return;
        events.forEach((event, index) => {
          if (!projection.creates?.includes(event.type)) return;
          const recorded = recordedAt(event, index);
          for (const id of projection.documentIds(recorded)) {
            assert.deepEqual(
              projection.evolve(stranger, recorded, id),
              projection.evolve(null, recorded, id),
              `${event.type} creates documents, so evolve must ignore the current one`,
            );
          }
        });
      };
      return {
        // biome-ignore lint/suspicious/noThenProperty: given/then is the spec's vocabulary; never awaited
        then(expected: readonly Doc[]) {
          const once = run(1);
          assert.deepEqual(
            once,
            [...expected].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
          );
          // A rebuild replays the log from nothing: it must give the same documents. This fails for
          // a projection that keeps state outside its documents or reads the clock.
          assert.deepEqual(run(1), once, 'a rebuild from the same events must give the same documents');
          assertCreatesIgnoreCurrent(once);
        },
        thenThrows(pattern: RegExp) {
          assert.throws(() => run(1), pattern);
        },
      };
    },
  };
}
