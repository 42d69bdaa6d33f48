import type { Decider } from '../core/decider.ts';
import type { EventRegistry } from '../core/event-definitions.ts';
import type { AllPosition, DomainEvent, EventMetadata } from '../core/events.ts';
import { deterministicEventId } from '../eventstore/event-ids.ts';
import type { EventStore, NewEvent, StoredEvent } from '../eventstore/port.ts';
import { type Backoff, backoffDelay, sleep } from '../support/backoff.ts';

/** Who and what caused the command; correlation and causation default to the idempotency key. */
export type CommandContext = {
  /** Identifies this command; retries and redeliveries must carry the same key. */
  idempotencyKey: string;
  /**
   * The stream revision the caller saw (e.g. from an ETag). When set, a mismatch is returned as
   * a conflict instead of being retried. `'no_stream'` pins "the stream must not exist yet".
   */
  expectedRevision?: bigint | 'no_stream';
  actor: string;
  correlationId?: string;
  causationId?: string;
  traceparent?: string;
};

/** A consistency token: read models at or past `position` include the command's effect. */
export type CommandResult<State, Event extends DomainEvent> =
  | {
      outcome: 'appended';
      events: readonly Event[];
      state: State;
      nextRevision: bigint;
      position: AllPosition;
    }
  | {
      /** The decider produced no events; revision and position are those of the stream's last event. */
      outcome: 'unchanged';
      state: State;
      nextRevision: bigint | null;
      position: AllPosition | null;
    }
  | {
      /** Events of this idempotency key are already in the stream; nothing was appended. */
      outcome: 'already_handled';
      state: State;
      nextRevision: bigint;
      position: AllPosition;
    }
  | {
      /**
       * `pinned`: the caller's expected revision no longer matches (HTTP 412).
       * `retries_exhausted`: concurrent writers kept winning (HTTP 409 or 503 with Retry-After).
       */
      outcome: 'conflict';
      reason: 'pinned' | 'retries_exhausted';
      expectedRevision: bigint | 'no_stream';
      actualRevision: bigint | 'no_stream';
    };

export type CommandHandlerOptions<Command, Event extends DomainEvent, State> = {
  eventStore: EventStore;
  decider: Decider<Command, Event, State>;
  /** Maps the aggregate id to its stream, e.g. `(id) => streamName('case', id)`. */
  streamName: (id: string) => string;
  events: EventRegistry<Event>;
  /** Attempts after the first on a concurrent write when no revision was pinned. Default 5. */
  maxRetries?: number;
  backoff?: Backoff;
  /** Derives event ids; defaults to the name-based UUID of stream + key + index. */
  eventId?: (stream: string, idempotencyKey: string, index: number) => string;
};

export type CommandHandler<Command, Event extends DomainEvent, State> = {
  /**
   * Reads the stream, folds it, decides, and appends with the revision it read.
   *
   * Ordering: one read, one decide, one append per attempt. Idempotency: event ids derive from
   * the idempotency key, and a stream that already holds events of this key returns
   * `already_handled` without calling `decide`. Without a pinned revision a concurrent write
   * is retried with backoff up to `maxRetries` times.
   *
   * Throws: whatever `decide` throws (a DomainError for broken rules), EventValidationError
   * when decided events do not match their schema, EventStoreUnavailableError when the store
   * cannot be reached, and errors decoding the stored events.
   */
  handle(id: string, command: Command, context: CommandContext): Promise<CommandResult<State, Event>>;
};

function metadataOf(stored: StoredEvent): Partial<EventMetadata> {
  const metadata = stored.metadata;
  return metadata !== null && typeof metadata === 'object' ? (metadata as Partial<EventMetadata>) : {};
}

/** Builds a command handler for one aggregate type. See {@link CommandHandler.handle}. */
export function createCommandHandler<Command, Event extends DomainEvent, State>(
  options: CommandHandlerOptions<Command, Event, State>,
): CommandHandler<Command, Event, State> {
  const { eventStore, decider, events: registry } = options;
  const maxRetries = options.maxRetries ?? 5;
  const backoff = options.backoff ?? { initialDelayMs: 10, maxDelayMs: 500, factor: 2 };
  const eventId = options.eventId ?? deterministicEventId;

  async function attempt(stream: string, command: Command, context: CommandContext) {
    const stored = await eventStore.readStream(stream);
    let state = decider.initialState();
    let handledAt: StoredEvent | null = null;
    for (const event of stored ?? []) {
      const metadata = metadataOf(event);
      const decoded = registry.decode(event.type, event.data, metadata.schemaVersion ?? 1);
      state = decider.evolve(state, decoded);
      if (metadata.idempotencyKey === context.idempotencyKey) handledAt = event;
    }
    const last = stored?.at(-1) ?? null;
    const currentRevision: bigint | 'no_stream' = last ? last.revision : 'no_stream';

    if (context.expectedRevision !== undefined && context.expectedRevision !== currentRevision) {
      // A retry of a command that did land must not look like a conflict.
      if (handledAt) {
        return {
          kind: 'done' as const,
          result: {
            outcome: 'already_handled' as const,
            state,
            nextRevision: handledAt.revision,
            position: handledAt.position,
          },
        };
      }
      return {
        kind: 'done' as const,
        result: {
          outcome: 'conflict' as const,
          reason: 'pinned' as const,
          expectedRevision: context.expectedRevision,
          actualRevision: currentRevision,
        },
      };
    }
    if (handledAt) {
      return {
        kind: 'done' as const,
        result: {
          outcome: 'already_handled' as const,
          state,
          nextRevision: handledAt.revision,
          position: handledAt.position,
        },
      };
    }

    const decided = decider.decide(command, state);
    if (decided.length === 0) {
      return {
        kind: 'done' as const,
        result: {
          outcome: 'unchanged' as const,
          state,
          nextRevision: last ? last.revision : null,
          position: last ? last.position : null,
        },
      };
    }
    const toAppend: NewEvent[] = decided.map((event, index) => {
      const encoded = registry.encode(event);
      const metadata: EventMetadata = {
        correlationId: context.correlationId ?? context.idempotencyKey,
        causationId: context.causationId ?? context.idempotencyKey,
        idempotencyKey: context.idempotencyKey,
        actor: context.actor,
        schemaVersion: encoded.schemaVersion,
        ...(context.traceparent === undefined ? {} : { traceparent: context.traceparent }),
      };
      return {
        id: eventId(stream, context.idempotencyKey, index),
        type: encoded.type,
        data: encoded.data,
        metadata,
      };
    });
    const appended = await eventStore.appendToStream(stream, toAppend, currentRevision);
    if (appended.outcome === 'conflict')
      return { kind: 'conflict' as const, actual: appended.actual, expected: currentRevision };
    let next = state;
    for (const event of decided) next = decider.evolve(next, event);
    return {
      kind: 'done' as const,
      result: {
        outcome: 'appended' as const,
        events: decided,
        state: next,
        nextRevision: appended.nextRevision,
        position: appended.position,
      },
    };
  }

  return {
    async handle(id, command, context) {
      const stream = options.streamName(id);
      for (let attemptNo = 0; ; attemptNo++) {
        const result = await attempt(stream, command, context);
        if (result.kind === 'done') return result.result;
        if (context.expectedRevision !== undefined) {
          return {
            outcome: 'conflict',
            reason: 'pinned',
            expectedRevision: context.expectedRevision,
            actualRevision: result.actual,
          };
        }
        if (attemptNo >= maxRetries) {
          return {
            outcome: 'conflict',
            reason: 'retries_exhausted',
            expectedRevision: result.expected,
            actualRevision: result.actual,
          };
        }
        await sleep(backoffDelay(backoff, attemptNo + 1));
      }
    },
  };
}
