import Type, { type Static } from 'typebox';
import {
  createEventRegistry,
  defineEvent,
  type EventRegistry,
} from '../eventsourcing/core/event-definitions.ts';
import type { DomainEvent } from '../eventsourcing/core/events.ts';

// Reads of personal data (names and birthdates of persons and beneficial owners) are recorded per
// case in their own stream, `access-<case_id>`, apart from the case stream: a read changes nothing
// about the case, so the decider never has to read past them, and the case's revision (its
// optimistic-concurrency token) does not move when somebody looks at it. The timeline shows them.

export const ACCESS_STREAM_PREFIX = 'access-';
export const accessStreamName = (caseId: string): string => `${ACCESS_STREAM_PREFIX}${caseId}`;

export const SUBJECT_TYPES = ['PERSON', 'BENEFICIAL_OWNER', 'COMPANY', 'CASE'] as const;
export type SubjectType = (typeof SUBJECT_TYPES)[number];

export const PersonalDataReadSchema = Type.Object({
  /** Unique per read; the event id is derived from it, so a retried append writes nothing twice. */
  read_id: Type.String(),
  case_id: Type.String(),
  reader: Type.Object({ type: Type.String(), id: Type.Union([Type.String(), Type.Null()]) }),
  /** The route template that answered, e.g. `GET /api/v1/persons/case/:case_id`. */
  route: Type.String(),
  /** Whose personal data the answer held. */
  subjects: Type.Array(Type.Object({ type: Type.Enum([...SUBJECT_TYPES]), id: Type.String() })),
  read_at: Type.String({ format: 'date-time' }),
});

export type PersonalDataReadData = Static<typeof PersonalDataReadSchema>;
export type PersonalDataRead = DomainEvent<'PersonalDataRead', PersonalDataReadData>;

export const accessEventDefinitions = [
  defineEvent({ type: 'PersonalDataRead', schema: PersonalDataReadSchema, version: 1 }),
] as const;

export const createAccessEventRegistry = (): EventRegistry<PersonalDataRead> =>
  createEventRegistry(accessEventDefinitions);
