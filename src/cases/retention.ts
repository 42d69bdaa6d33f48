import Type, { type Static } from 'typebox';
import type { Decider } from '../eventsourcing/core/decider.ts';
import { DomainError } from '../eventsourcing/core/errors.ts';
import {
  createEventRegistry,
  defineEvent,
  type EventRegistry,
} from '../eventsourcing/core/event-definitions.ts';
import type { DomainEvent } from '../eventsourcing/core/events.ts';

// Retention and erasure of a case live in their own stream, `retention-<case_id>`, apart from the
// case's own events: AML rules keep the case unredacted until the retention date, and an erasure
// request is accepted at once but runs only when that date has passed and no legal hold remains.
// Nothing here is personal data: ids, codes, roles and dates only. Time comes on the command.

const Timestamp = Type.String({ format: 'date-time' });

export const RelationshipEndedSchema = Type.Object({
  case_id: Type.String(),
  ended_at: Timestamp,
  /** The rule the retention date follows, e.g. `AMLR-77`, and its period. */
  rule: Type.String(),
  retention_years: Type.Integer({ minimum: 0, maximum: 100 }),
  /** Days on top of the years (rules shorter than a year, e.g. for rejected intake messages). */
  retention_days: Type.Optional(Type.Integer({ minimum: 0, maximum: 36_500 })),
  retain_until: Timestamp,
  recorded_at: Timestamp,
  actor: Type.String(),
});
/** The retention date moved: later than the rule's date (a regulator's or an investigation's need). */
export const RetentionExtendedSchema = Type.Object({
  case_id: Type.String(),
  retain_until: Timestamp,
  previous_retain_until: Timestamp,
  reason_code: Type.String(),
  extended_at: Timestamp,
  actor: Type.String(),
});
export const LegalHoldPlacedSchema = Type.Object({
  case_id: Type.String(),
  hold_id: Type.String(),
  reason_code: Type.String(),
  placed_at: Timestamp,
  actor: Type.String(),
});
export const LegalHoldReleasedSchema = Type.Object({
  case_id: Type.String(),
  hold_id: Type.String(),
  reason_code: Type.String(),
  released_at: Timestamp,
  actor: Type.String(),
});
export const ErasureRequestedSchema = Type.Object({
  case_id: Type.String(),
  request_id: Type.String(),
  requested_at: Timestamp,
  channel: Type.String(),
  actor: Type.String(),
});
export const ErasureStartedSchema = Type.Object({
  case_id: Type.String(),
  request_id: Type.String(),
  started_at: Timestamp,
  /** Every key of the case's scope when the erasure started: what it is going to destroy. */
  key_ids: Type.Array(Type.String()),
});
export const ErasureCompletedSchema = Type.Object({
  case_id: Type.String(),
  request_id: Type.String(),
  completed_at: Timestamp,
  destroyed_key_ids: Type.Array(Type.String()),
  /** Per store: what was checked once the keys were destroyed. */
  checks: Type.Array(Type.Object({ store: Type.String(), result: Type.String(), detail: Type.String() })),
});

/**
 * One data subject of the case (a person, a director, a beneficial owner) is to be erased while
 * the rest of the case stays: `retention_applies` false when the reason code lets it run before
 * the retention date (see {@link SUBJECT_ERASURE_REASONS}).
 */
export const SubjectErasureRequestedSchema = Type.Object({
  case_id: Type.String(),
  subject_id: Type.String(),
  request_id: Type.String(),
  reason_code: Type.String(),
  retention_applies: Type.Boolean(),
  requested_at: Timestamp,
  actor: Type.String(),
});
export const SubjectErasureStartedSchema = Type.Object({
  case_id: Type.String(),
  subject_id: Type.String(),
  request_id: Type.String(),
  started_at: Timestamp,
  key_ids: Type.Array(Type.String()),
});
export const SubjectErasureCompletedSchema = Type.Object({
  case_id: Type.String(),
  subject_id: Type.String(),
  request_id: Type.String(),
  completed_at: Timestamp,
  destroyed_key_ids: Type.Array(Type.String()),
  checks: Type.Array(Type.Object({ store: Type.String(), result: Type.String(), detail: Type.String() })),
});

type E<T extends string, S> = DomainEvent<T, S>;
export type RelationshipEnded = E<'RelationshipEnded', Static<typeof RelationshipEndedSchema>>;
export type RetentionExtended = E<'RetentionExtended', Static<typeof RetentionExtendedSchema>>;
export type LegalHoldPlaced = E<'LegalHoldPlaced', Static<typeof LegalHoldPlacedSchema>>;
export type LegalHoldReleased = E<'LegalHoldReleased', Static<typeof LegalHoldReleasedSchema>>;
export type ErasureRequested = E<'ErasureRequested', Static<typeof ErasureRequestedSchema>>;
export type ErasureStarted = E<'ErasureStarted', Static<typeof ErasureStartedSchema>>;
export type ErasureCompleted = E<'ErasureCompleted', Static<typeof ErasureCompletedSchema>>;
export type SubjectErasureRequested = E<
  'SubjectErasureRequested',
  Static<typeof SubjectErasureRequestedSchema>
>;
export type SubjectErasureStarted = E<'SubjectErasureStarted', Static<typeof SubjectErasureStartedSchema>>;
export type SubjectErasureCompleted = E<
  'SubjectErasureCompleted',
  Static<typeof SubjectErasureCompletedSchema>
>;
export type RetentionEvent =
  | RelationshipEnded
  | RetentionExtended
  | LegalHoldPlaced
  | LegalHoldReleased
  | ErasureRequested
  | ErasureStarted
  | ErasureCompleted
  | SubjectErasureRequested
  | SubjectErasureStarted
  | SubjectErasureCompleted;

export const retentionEventDefinitions = [
  defineEvent({ type: 'RelationshipEnded', schema: RelationshipEndedSchema }),
  defineEvent({ type: 'RetentionExtended', schema: RetentionExtendedSchema }),
  defineEvent({ type: 'LegalHoldPlaced', schema: LegalHoldPlacedSchema }),
  defineEvent({ type: 'LegalHoldReleased', schema: LegalHoldReleasedSchema }),
  defineEvent({ type: 'ErasureRequested', schema: ErasureRequestedSchema }),
  defineEvent({ type: 'ErasureStarted', schema: ErasureStartedSchema }),
  defineEvent({ type: 'ErasureCompleted', schema: ErasureCompletedSchema }),
  defineEvent({ type: 'SubjectErasureRequested', schema: SubjectErasureRequestedSchema }),
  defineEvent({ type: 'SubjectErasureStarted', schema: SubjectErasureStartedSchema }),
  defineEvent({ type: 'SubjectErasureCompleted', schema: SubjectErasureCompletedSchema }),
] as const;

export const createRetentionEventRegistry = (): EventRegistry<RetentionEvent> =>
  createEventRegistry(retentionEventDefinitions);

export const RETENTION_STREAM_PREFIX = 'retention-';
export const retentionStreamName = (caseId: string) => `${RETENTION_STREAM_PREFIX}${caseId}`;

/** How long records are kept after the relationship ends, and under which rule. */
export type RetentionRule = { rule: string; years: number; days?: number };

export type RetentionCommand =
  | {
      type: 'EndRelationship';
      data: { case_id: string; ended_at: string; retention: RetentionRule; at: string; actor: string };
    }
  | {
      type: 'ExtendRetention';
      data: { case_id: string; retain_until: string; reason_code: string; at: string; actor: string };
    }
  | {
      type: 'PlaceLegalHold';
      data: { case_id: string; hold_id: string; reason_code: string; at: string; actor: string };
    }
  | {
      type: 'ReleaseLegalHold';
      data: { case_id: string; hold_id: string; reason_code: string; at: string; actor: string };
    }
  | {
      type: 'RequestErasure';
      data: { case_id: string; request_id: string; channel: string; at: string; actor: string };
    }
  | { type: 'StartErasure'; data: { at: string; key_ids: readonly string[] } }
  | {
      type: 'RequestSubjectErasure';
      data: {
        case_id: string;
        subject_id: string;
        request_id: string;
        reason_code: string;
        at: string;
        actor: string;
      };
    }
  | { type: 'StartSubjectErasure'; data: { subject_id: string; at: string; key_ids: readonly string[] } }
  | {
      type: 'CompleteSubjectErasure';
      data: {
        subject_id: string;
        at: string;
        destroyed_key_ids: readonly string[];
        checks: ErasureCompleted['data']['checks'];
      };
    }
  | {
      type: 'CompleteErasure';
      data: { at: string; destroyed_key_ids: readonly string[]; checks: ErasureCompleted['data']['checks'] };
    };

export type ErasureRequest = {
  request_id: string;
  requested_at: string;
  status: 'requested' | 'executing' | 'completed';
  key_ids: readonly string[];
  completed: ErasureCompleted['data'] | null;
};

export type SubjectErasure = {
  request_id: string;
  reason_code: string;
  retention_applies: boolean;
  requested_at: string;
  status: 'requested' | 'executing' | 'completed';
  key_ids: readonly string[];
  completed: SubjectErasureCompleted['data'] | null;
};

export type RetentionState = {
  case_id: string | null;
  relationship: {
    ended_at: string;
    rule: string;
    retention_years: number;
    /** The rule's date: no extension goes below it. */
    rule_retain_until: string;
    /** The retention date in force: the rule's, or the last extension's. */
    retain_until: string;
  } | null;
  /** Holds in place, by hold id; `placed_by` is the caller who placed it (never the one to release it). */
  holds: Readonly<Record<string, { reason_code: string; placed_at: string; placed_by: string }>>;
  request: ErasureRequest | null;
  /** Erasures of one data subject each, by subject id. */
  subjects: Readonly<Record<string, SubjectErasure>>;
};

export const initialRetentionState = (): RetentionState => ({
  case_id: null,
  relationship: null,
  holds: {},
  request: null,
  subjects: {},
});

/**
 * Reason codes that let one subject's erasure run before the retention date (legal holds still
 * block it). `recorded_in_error`: the person was never a party of the customer (a director
 * wrongly added, a typo that named someone else), so the AML duty to keep the customer's due
 * diligence does not cover them and keeping them has no lawful basis. Any other code waits for
 * the case's retention date, as a whole-case erasure does.
 */
export const SUBJECT_ERASURE_REASONS: Readonly<Record<string, { retentionApplies: boolean }>> = {
  recorded_in_error: { retentionApplies: false },
  removed_from_case: { retentionApplies: true },
  data_subject_request: { retentionApplies: true },
};

/** `ended_at` plus whole calendar years (UTC); 29 February falls to 1 March in other years. */
export function retainUntil(endedAt: string, years: number, days = 0): string {
  const end = new Date(endedAt);
  if (Number.isNaN(end.getTime())) throw new DomainError('retention.invalid_date', `not a date: ${endedAt}`);
  const until = new Date(end.getTime());
  until.setUTCFullYear(end.getUTCFullYear() + years);
  return new Date(until.getTime() + days * 86_400_000).toISOString();
}

export type Blocker = 'relationship_active' | 'aml_retention' | 'legal_hold';

export type ErasureStatus =
  | { status: 'none' }
  | { status: 'deferred'; request_id: string; due_at: string | null; blocking: Blocker[] }
  | { status: 'due'; request_id: string; due_at: string }
  | { status: 'executing'; request_id: string }
  | { status: 'completed'; request_id: string; completed_at: string };

/**
 * Where the erasure request stands at `now`: deferred while the relationship runs, until the
 * retention date, or while a hold remains; due after that. `due_at` is null while unknown (no
 * relationship end yet).
 */
/** What keeps an erasure waiting at `now`; retention dates count only when `retentionApplies`. */
function blockersAt(state: RetentionState, now: string, retentionApplies: boolean): Blocker[] {
  const blocking: Blocker[] = [];
  const dueAt = state.relationship?.retain_until ?? null;
  if (retentionApplies) {
    if (dueAt === null) blocking.push('relationship_active');
    else if (Date.parse(now) < Date.parse(dueAt)) blocking.push('aml_retention');
  }
  if (Object.keys(state.holds).length > 0) blocking.push('legal_hold');
  return blocking;
}

/** Where the erasure of one subject stands at `now`; `due_at` is null when no date applies. */
export function subjectErasureStatus(state: RetentionState, subjectId: string, now: string): ErasureStatus {
  const request = state.subjects[subjectId];
  if (request === undefined) return { status: 'none' };
  const { request_id } = request;
  if (request.status === 'completed') {
    return { status: 'completed', request_id, completed_at: request.completed!.completed_at };
  }
  if (request.status === 'executing') return { status: 'executing', request_id };
  const dueAt = request.retention_applies ? (state.relationship?.retain_until ?? null) : request.requested_at;
  const blocking = blockersAt(state, now, request.retention_applies);
  return blocking.length > 0 || dueAt === null
    ? { status: 'deferred', request_id, due_at: dueAt, blocking }
    : { status: 'due', request_id, due_at: dueAt };
}

export function erasureStatus(state: RetentionState, now: string): ErasureStatus {
  const request = state.request;
  if (request === null) return { status: 'none' };
  if (request.status === 'completed') {
    return {
      status: 'completed',
      request_id: request.request_id,
      completed_at: request.completed!.completed_at,
    };
  }
  if (request.status === 'executing') return { status: 'executing', request_id: request.request_id };
  const dueAt = state.relationship?.retain_until ?? null;
  const blocking = blockersAt(state, now, true);
  return blocking.length > 0 || dueAt === null
    ? { status: 'deferred', request_id: request.request_id, due_at: dueAt, blocking }
    : { status: 'due', request_id: request.request_id, due_at: dueAt };
}

export const ERASURE_STATUSES = ['none', 'deferred', 'due', 'executing', 'completed'] as const;

/** Erasure requests by status, and how many have been due for longer than `overdueAfterMs`. */
export type ErasureSummary = {
  byStatus: Record<ErasureStatus['status'], number>;
  overdue: number;
};

/**
 * Counts requests by status; a request is overdue when it has been due (retention over, no hold)
 * for longer than `overdueAfterMs` at `now`: the due job is not running, or keeps failing.
 */
export function erasureSummary(
  statuses: readonly ErasureStatus[],
  now: string,
  overdueAfterMs: number,
): ErasureSummary {
  const byStatus = { none: 0, deferred: 0, due: 0, executing: 0, completed: 0 };
  let overdue = 0;
  for (const current of statuses) {
    byStatus[current.status]++;
    if (current.status === 'due' && Date.parse(now) - Date.parse(current.due_at) > overdueAfterMs) overdue++;
  }
  return { byStatus, overdue };
}

/** Throws unless an erasure in `status` may start: none was requested, or it is deferred. */
function refuseStartUnlessDue(
  status: ErasureStatus,
): asserts status is Exclude<ErasureStatus, { status: 'none' | 'deferred' }> {
  if (status.status === 'none') throw new DomainError('erasure.not_requested', 'no erasure was requested');
  if (status.status === 'deferred') {
    throw new DomainError('erasure.not_due', `the erasure is deferred: ${status.blocking.join(', ')}`, {
      blocking: status.blocking,
      due_at: status.due_at,
    });
  }
}

const tooLateOnceStarted = (state: RetentionState) => {
  if (state.request?.status === 'completed' || state.request?.status === 'executing') {
    throw new DomainError(
      'retention.erasure_under_way',
      'the erasure has started: too late to keep the records',
    );
  }
};

const sameCase = (state: RetentionState, caseId: string) => {
  if (state.case_id !== null && state.case_id !== caseId) {
    throw new DomainError(
      'retention.case_mismatch',
      `this retention stream belongs to case ${state.case_id}`,
    );
  }
};

/**
 * The retention decider. Idempotent by content: repeating a command that already took effect
 * decides nothing. Erasure runs in two steps around the key destruction (started, completed), so
 * a crash between them resumes: a second start is a no-op and the keys are destroyed again.
 */
export const retentionDecider: Decider<RetentionCommand, RetentionEvent, RetentionState> = {
  initialState: initialRetentionState,
  decide(command, state): RetentionEvent[] {
    switch (command.type) {
      case 'EndRelationship': {
        const { case_id, ended_at, retention, at, actor } = command.data;
        sameCase(state, case_id);
        const until = retainUntil(ended_at, retention.years, retention.days ?? 0);
        if (state.relationship !== null) {
          if (state.relationship.ended_at === new Date(ended_at).toISOString()) return [];
          throw new DomainError(
            'retention.relationship_already_ended',
            `the relationship already ended at ${state.relationship.ended_at}`,
          );
        }
        return [
          {
            type: 'RelationshipEnded',
            data: {
              case_id,
              ended_at: new Date(ended_at).toISOString(),
              rule: retention.rule,
              retention_years: retention.years,
              ...(retention.days === undefined ? {} : { retention_days: retention.days }),
              retain_until: until,
              recorded_at: at,
              actor,
            },
          },
        ];
      }
      case 'ExtendRetention': {
        const { case_id, reason_code, at, actor } = command.data;
        sameCase(state, case_id);
        tooLateOnceStarted(state);
        const relationship = state.relationship;
        if (relationship === null) {
          throw new DomainError(
            'retention.relationship_active',
            'the relationship has not ended: there is no retention date to extend yet',
          );
        }
        const until = Date.parse(command.data.retain_until);
        if (Number.isNaN(until)) {
          throw new DomainError('retention.invalid_date', `not a date: ${command.data.retain_until}`);
        }
        // An extension may replace an earlier one, shorter or longer, never below the rule.
        if (until < Date.parse(relationship.rule_retain_until)) {
          throw new DomainError(
            'retention.extension_before_rule_date',
            `the rule ${relationship.rule} keeps the records until ${relationship.rule_retain_until}`,
            { rule_retain_until: relationship.rule_retain_until },
          );
        }
        const retainUntil = new Date(until).toISOString();
        if (retainUntil === relationship.retain_until) return [];
        return [
          {
            type: 'RetentionExtended',
            data: {
              case_id,
              retain_until: retainUntil,
              previous_retain_until: relationship.retain_until,
              reason_code,
              extended_at: at,
              actor,
            },
          },
        ];
      }
      case 'PlaceLegalHold': {
        const { case_id, hold_id, reason_code, at, actor } = command.data;
        sameCase(state, case_id);
        tooLateOnceStarted(state);
        if (state.holds[hold_id]) return [];
        return [{ type: 'LegalHoldPlaced', data: { case_id, hold_id, reason_code, placed_at: at, actor } }];
      }
      case 'ReleaseLegalHold': {
        const { case_id, hold_id, reason_code, at, actor } = command.data;
        sameCase(state, case_id);
        const held = state.holds[hold_id];
        if (held === undefined) {
          throw new DomainError('retention.hold_not_found', `no legal hold ${hold_id} is in place`);
        }
        // Maker-checker: a hold keeps records a data subject asked to erase, so lifting it takes
        // a second person; whoever placed it cannot release it alone.
        if (held.placed_by === actor) {
          throw new DomainError(
            'retention.own_hold',
            `${actor} placed the legal hold ${hold_id}: another person must release it`,
            { hold_id, placed_by: actor },
          );
        }
        return [
          { type: 'LegalHoldReleased', data: { case_id, hold_id, reason_code, released_at: at, actor } },
        ];
      }
      case 'RequestErasure': {
        const { case_id, request_id, channel, at, actor } = command.data;
        sameCase(state, case_id);
        // One request per case: a second one is answered with the first.
        if (state.request !== null) return [];
        return [
          { type: 'ErasureRequested', data: { case_id, request_id, requested_at: at, channel, actor } },
        ];
      }
      case 'StartErasure': {
        const status = erasureStatus(state, command.data.at);
        if (status.status === 'executing' || status.status === 'completed') return [];
        refuseStartUnlessDue(status);
        return [
          {
            type: 'ErasureStarted',
            data: {
              case_id: state.case_id!,
              request_id: status.request_id,
              started_at: command.data.at,
              key_ids: [...command.data.key_ids],
            },
          },
        ];
      }
      case 'RequestSubjectErasure': {
        const { case_id, subject_id, request_id, reason_code, at, actor } = command.data;
        sameCase(state, case_id);
        const reason = SUBJECT_ERASURE_REASONS[reason_code];
        if (reason === undefined) {
          throw new DomainError(
            'erasure.reason_not_allowed',
            `no subject erasure for the reason ${reason_code}`,
            {
              allowed: Object.keys(SUBJECT_ERASURE_REASONS),
            },
          );
        }
        // One request per subject: a second one is answered with the first.
        if (state.subjects[subject_id] !== undefined) return [];
        return [
          {
            type: 'SubjectErasureRequested',
            data: {
              case_id,
              subject_id,
              request_id,
              reason_code,
              retention_applies: reason.retentionApplies,
              requested_at: at,
              actor,
            },
          },
        ];
      }
      case 'StartSubjectErasure': {
        const { subject_id, at, key_ids } = command.data;
        const status = subjectErasureStatus(state, subject_id, at);
        if (status.status === 'executing' || status.status === 'completed') return [];
        refuseStartUnlessDue(status);
        return [
          {
            type: 'SubjectErasureStarted',
            data: {
              case_id: state.case_id!,
              subject_id,
              request_id: status.request_id,
              started_at: at,
              key_ids: [...key_ids],
            },
          },
        ];
      }
      case 'CompleteSubjectErasure': {
        const { subject_id, at, destroyed_key_ids, checks } = command.data;
        const request = state.subjects[subject_id];
        if (request?.status === 'completed') return [];
        if (request?.status !== 'executing') {
          throw new DomainError('erasure.not_started', 'the erasure has not started');
        }
        const missing = request.key_ids.filter((id) => !destroyed_key_ids.includes(id));
        if (missing.length > 0) {
          throw new DomainError('erasure.keys_remain', `${missing.length} key(s) were not destroyed`, {
            key_ids: missing,
          });
        }
        return [
          {
            type: 'SubjectErasureCompleted',
            data: {
              case_id: state.case_id!,
              subject_id,
              request_id: request.request_id,
              completed_at: at,
              destroyed_key_ids: [...destroyed_key_ids],
              checks: checks.map((c) => ({ ...c })),
            },
          },
        ];
      }
      case 'CompleteErasure': {
        const request = state.request;
        if (request?.status === 'completed') return [];
        if (request?.status !== 'executing') {
          throw new DomainError('erasure.not_started', 'the erasure has not started');
        }
        const missing = request.key_ids.filter((id) => !command.data.destroyed_key_ids.includes(id));
        if (missing.length > 0) {
          throw new DomainError('erasure.keys_remain', `${missing.length} key(s) were not destroyed`, {
            key_ids: missing,
          });
        }
        return [
          {
            type: 'ErasureCompleted',
            data: {
              case_id: state.case_id!,
              request_id: request.request_id,
              completed_at: command.data.at,
              destroyed_key_ids: [...command.data.destroyed_key_ids],
              checks: command.data.checks.map((c) => ({ ...c })),
            },
          },
        ];
      }
      default: {
        const never: never = command;
        return never;
      }
    }
  },
  evolve(state, event): RetentionState {
    switch (event.type) {
      case 'RelationshipEnded': {
        const { case_id, ended_at, rule, retention_years, retain_until } = event.data;
        return {
          ...state,
          case_id,
          relationship: { ended_at, rule, retention_years, rule_retain_until: retain_until, retain_until },
        };
      }
      case 'RetentionExtended':
        return state.relationship === null
          ? state
          : { ...state, relationship: { ...state.relationship, retain_until: event.data.retain_until } };
      case 'LegalHoldPlaced':
        return {
          ...state,
          case_id: event.data.case_id,
          holds: {
            ...state.holds,
            [event.data.hold_id]: {
              reason_code: event.data.reason_code,
              placed_at: event.data.placed_at,
              placed_by: event.data.actor,
            },
          },
        };
      case 'LegalHoldReleased': {
        const { [event.data.hold_id]: _released, ...holds } = state.holds;
        return { ...state, holds };
      }
      case 'ErasureRequested':
        return {
          ...state,
          case_id: event.data.case_id,
          request: {
            request_id: event.data.request_id,
            requested_at: event.data.requested_at,
            status: 'requested',
            key_ids: [],
            completed: null,
          },
        };
      case 'ErasureStarted':
        return state.request === null
          ? state
          : { ...state, request: { ...state.request, status: 'executing', key_ids: event.data.key_ids } };
      case 'ErasureCompleted':
        return state.request === null
          ? state
          : { ...state, request: { ...state.request, status: 'completed', completed: event.data } };
      case 'SubjectErasureRequested': {
        const { case_id, subject_id, request_id, reason_code, retention_applies, requested_at } = event.data;
        const request: SubjectErasure = {
          request_id,
          reason_code,
          retention_applies,
          requested_at,
          status: 'requested',
          key_ids: [],
          completed: null,
        };
        return { ...state, case_id, subjects: { ...state.subjects, [subject_id]: request } };
      }
      case 'SubjectErasureStarted':
      case 'SubjectErasureCompleted': {
        const request = state.subjects[event.data.subject_id];
        if (request === undefined) return state;
        const next: SubjectErasure =
          event.type === 'SubjectErasureStarted'
            ? { ...request, status: 'executing', key_ids: event.data.key_ids }
            : { ...request, status: 'completed', completed: event.data };
        return { ...state, subjects: { ...state.subjects, [event.data.subject_id]: next } };
      }
      default: {
        const never: never = event;
        return never;
      }
    }
  },
};
