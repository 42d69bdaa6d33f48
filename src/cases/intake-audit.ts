import Type, { type Static, type TSchema } from 'typebox';
import type { Decider } from '../eventsourcing/core/decider.ts';
import {
  createEventRegistry,
  defineEvent,
  type EventRegistry,
} from '../eventsourcing/core/event-definitions.ts';
import type { DomainEvent } from '../eventsourcing/core/events.ts';

// Every message that reaches the service (Kafka or HTTP), valid or not, is recorded with its
// outcome in its own stream `intake-<receipt_id>`. Rejected messages have no case to live in, and
// one stream per receipt makes the record idempotent: a redelivered message with the same
// receipt id lands on the same stream, and the decider writes nothing the second time.

const nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

export const INTAKE_OUTCOMES = ['case_opened', 'duplicate', 'rejected'] as const;
export type IntakeOutcome = (typeof INTAKE_OUTCOMES)[number];

export const IntakeReceivedSchema = Type.Object({
  /** Stable per delivery: e.g. derived from topic/partition/offset, or the HTTP request's key. */
  receipt_id: Type.String(),
  source: Type.Enum(['kafka', 'http']),
  /** Where it came from: topic, partition, offset, message key; or method and path. */
  transport: Type.Record(Type.String(), Type.String()),
  idempotency_key: nullable(Type.String()),
  received_at: Type.String({ format: 'date-time' }),
  recorded_at: Type.String({ format: 'date-time' }),
  /** The decoded JSON as received, or null when it was not JSON (see raw_text). */
  payload: Type.Unknown(),
  /** The undecodable text, when the message was not JSON. */
  raw_text: nullable(Type.String()),
  /**
   * case_opened: this message opened the case; duplicate: its idempotency key had already opened
   * it (nothing written); rejected: invalid, or refused by a domain rule (see error_code).
   */
  outcome: Type.Enum([...INTAKE_OUTCOMES]),
  case_id: nullable(Type.String()),
  violations: Type.Array(Type.Object({ path: Type.String(), message: Type.String() })),
  /** The DomainError code when a domain rule refused it, e.g. intake.idempotency_key_reused. */
  error_code: nullable(Type.String()),
});

export type IntakeReceivedData = Static<typeof IntakeReceivedSchema>;
export type IntakeReceived = DomainEvent<'IntakeReceived', IntakeReceivedData>;
export const INTAKE_EVENT_VERSIONS = { IntakeReceived: 1 } as const;

export const intakeEventDefinitions = [
  defineEvent({
    type: 'IntakeReceived',
    schema: IntakeReceivedSchema,
    version: INTAKE_EVENT_VERSIONS.IntakeReceived,
  }),
] as const;

/** The registry the command handler encodes and decodes `intake-` stream events with. */
export const createIntakeEventRegistry = (): EventRegistry<IntakeReceived> =>
  createEventRegistry(intakeEventDefinitions);

export type RecordIntake = { type: 'RecordIntake'; data: IntakeReceivedData };

export type IntakeAuditState = { status: 'NONE' } | { status: 'RECORDED'; outcome: IntakeOutcome };

/**
 * Decider of an `intake-<receipt_id>` stream: the first record wins; recording the same receipt
 * again writes nothing.
 */
export const intakeAuditDecider: Decider<RecordIntake, IntakeReceived, IntakeAuditState> = {
  initialState: () => ({ status: 'NONE' }),
  decide(command, state) {
    if (state.status === 'RECORDED') return [];
    return [{ type: 'IntakeReceived', data: command.data }];
  },
  evolve(_state, event) {
    return { status: 'RECORDED', outcome: event.data.outcome };
  },
};
