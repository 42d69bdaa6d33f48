import { randomUUID } from 'node:crypto';
import type { CommandHandler, CommandResult } from '../../eventsourcing/command/handler.ts';
import { DomainError } from '../../eventsourcing/core/errors.ts';
import type { EventRegistry } from '../../eventsourcing/core/event-definitions.ts';
import type { AllPosition } from '../../eventsourcing/core/events.ts';
import { type EventStore, EventStoreUnavailableError } from '../../eventsourcing/eventstore/port.ts';
import type { FindQuery, ReadStore } from '../../eventsourcing/readstore/port.ts';
import { currentTraceparent, inSpan } from '../../observability/tracing.ts';
import {
  type Actor,
  type CaseCommand,
  type CaseDecider,
  CaseErrorCodes,
  type CaseEvent,
  type CaseState,
  caseIdFor,
  caseStreamName,
  type IdDeriver,
  type Intake,
  type IntakeAuditState,
  type IntakeReceived,
  type IntakeReceivedData,
  intakeFingerprintFor,
  type NotificationRules,
  type RecordIntake,
  resolveNotification,
  validateIntake,
} from '../index.ts';
import type {
  CaseCommands,
  CaseQueries,
  CommandContext,
  CommandReceipt,
  Doc,
  IntakeContext,
  IntakePort,
  NotificationRulesSource,
  ReasonRequest,
  Rejection,
  ReviewCommands,
  ReviewQueries,
  ReviewReceipt,
} from './ports.ts';

export type CaseServiceDependencies = {
  eventStore: EventStore;
  readStore: ReadStore;
  cases: CommandHandler<CaseCommand, CaseEvent, CaseState>;
  intakeAudit: CommandHandler<RecordIntake, IntakeReceived, IntakeAuditState>;
  decider: CaseDecider;
  caseEvents: EventRegistry<CaseEvent>;
  ids: IdDeriver;
  bundledRules: NotificationRules;
  /** Absent: the bundled rules decide every notification. */
  configService: NotificationRulesSource | undefined;
  /** Resolves true once the read models include `position`. */
  waitForPosition(position: AllPosition, timeoutMs: number): Promise<boolean>;
  clock: () => Date;
  /** Told of every command: its type, outcome (or error code) and duration; and of appended events. */
  observe?: {
    command(type: string, outcome: string, seconds: number): void;
    eventsAppended(category: string, count: number): void;
    /** A case left IN_REVIEW after this many seconds in it. */
    reviewEnded?(seconds: number): void;
  };
};

/** Seconds a client is told to wait before retrying while the event store is unreachable. */
const RETRY_AFTER_SECONDS = 5;

/**
 * The event store's loss as the adapters see it: a transient domain error with a stable code
 * (HTTP answers 503 with Retry-After; Kafka intake retries the message with backoff).
 */
async function eventStoreReachable<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof EventStoreUnavailableError) {
      throw new DomainError(
        'eventstore.unavailable',
        'The event store cannot be reached; retry later',
        { retry_after_seconds: RETRY_AFTER_SECONDS },
        { transient: true, cause: error },
      );
    }
    throw error;
  }
}

/** The consistency token: `<commit>-<prepare>` of the last event a command wrote. */
export function positionToken(position: AllPosition): string {
  return `${position.commit}-${position.prepare}`;
}

export function parsePositionToken(token: string): AllPosition {
  const [commit, prepare] = token.split('-');
  return { commit: BigInt(commit ?? '0'), prepare: BigInt(prepare ?? commit ?? '0') };
}

/**
 * The case service as the adapters see it: HTTP and Kafka call these, never the handlers.
 * Commands resolve notification rules before deciding (so replays never call the configuration
 * service), run through the command handler, and answer with a receipt whose position the
 * queries accept back for read-your-writes.
 */
export function createCaseService(deps: CaseServiceDependencies) {
  const { readStore } = deps;

  /**
   * Asks the configuration service about each trigger the command would raise in `state` (the
   * state the handler decides on: no read of its own) and records the answers in the command,
   * so a replay never asks again.
   */
  async function withRules(command: CaseCommand, state: CaseState): Promise<CaseCommand> {
    const configService = deps.configService;
    if (configService === undefined) return command;
    const resolutions: Record<string, ReturnType<typeof resolveNotification>> = {};
    for (const trigger of deps.decider.notificationTriggers(command, state)) {
      const lookup = await configService.match(trigger.trigger, trigger.context);
      resolutions[trigger.trigger] = resolveNotification(lookup, deps.bundledRules, trigger.trigger);
    }
    return { ...command, data: { ...command.data, notifications: resolutions } } as CaseCommand;
  }

  function receiptOf(
    result: CommandResult<CaseState, CaseEvent>,
    context: { expectedRevision?: bigint },
  ): CommandReceipt & { state: CaseState; wrote: boolean } {
    switch (result.outcome) {
      case 'appended':
      case 'already_handled':
        return {
          position: positionToken(result.position),
          revision: String(result.nextRevision),
          state: result.state,
          wrote: result.outcome === 'appended',
        };
      case 'unchanged':
        return {
          wrote: false,
          position: result.position === null ? '0-0' : positionToken(result.position),
          revision: result.nextRevision === null ? '0' : String(result.nextRevision),
          state: result.state,
        };
      case 'conflict':
        if (result.reason === 'pinned') {
          throw new DomainError('revision.mismatch', 'The case changed since the revision you sent', {
            expected_revision: String(context.expectedRevision ?? result.expectedRevision),
            actual_revision: String(result.actualRevision),
          });
        }
        throw new DomainError(
          'case.busy',
          'Concurrent changes to this case kept conflicting; retry shortly',
          { actual_revision: String(result.actualRevision) },
          { transient: true },
        );
      default: {
        const unknown: never = result;
        throw new Error(`unknown outcome ${JSON.stringify(unknown)}`);
      }
    }
  }

  async function run(
    caseId: string,
    command: CaseCommand,
    context: CommandContext & { expectedRevision?: bigint },
  ) {
    const started = performance.now();
    const seconds = () => (performance.now() - started) / 1000;
    try {
      // The command's span is the parent of everything its events cause downstream: the events
      // carry its traceparent in their metadata.
      const receipt = await inSpan(`command ${command.type}`, { attributes: { 'case.id': caseId } }, () => {
        const traceparent = currentTraceparent() ?? context.traceparent;
        return eventStoreReachable(() =>
          runUnobserved(caseId, command, {
            ...context,
            ...(traceparent === undefined ? {} : { traceparent }),
          }),
        );
      });
      deps.observe?.command(command.type, receipt.outcome, seconds());
      return receipt;
    } catch (error) {
      deps.observe?.command(command.type, error instanceof DomainError ? error.code : 'error', seconds());
      throw error;
    }
  }

  async function runUnobserved(
    caseId: string,
    command: CaseCommand,
    context: CommandContext & { expectedRevision?: bigint },
  ) {
    const result = await deps.cases.handle(
      caseId,
      command,
      {
        idempotencyKey: context.idempotencyKey,
        actor: context.actor,
        correlationId: context.correlationId,
        ...(context.traceparent === undefined ? {} : { traceparent: context.traceparent }),
        ...(context.expectedRevision === undefined ? {} : { expectedRevision: context.expectedRevision }),
      },
      withRules,
    );
    if (result.outcome === 'appended') {
      deps.observe?.eventsAppended('case', result.events.length);
      observeReviewTime(result.events, result.state);
    }
    return { ...receiptOf(result, context), outcome: result.outcome };
  }

  /** Time in review, measured from the case's own times, when a command takes it out of IN_REVIEW. */
  function observeReviewTime(events: readonly CaseEvent[], state: CaseState): void {
    if (deps.observe?.reviewEnded === undefined || state.status === 'NONE') return;
    const started = state.review_started_at;
    for (const event of events) {
      if (event.type !== 'CaseStatusChanged' || event.data.old_status !== 'IN_REVIEW' || started === null)
        continue;
      const seconds = (Date.parse(event.data.changed_at) - Date.parse(started)) / 1000;
      if (Number.isFinite(seconds) && seconds >= 0) deps.observe.reviewEnded(seconds);
    }
  }

  /** Runs a review command as the caller (a USER named by the API key) and tells the case's status after it. */
  /** Close and reopen carry the same data: a reason code and an optional comment. */
  const withReason =
    (type: 'CloseCase' | 'ReopenCase', caseId: string, request: ReasonRequest) =>
    (actor: Actor, at: string): CaseCommand => ({
      type,
      data: {
        case_id: caseId,
        reason_code: request.reason_code,
        comment: request.comment ?? null,
        actor,
        at,
      },
    });

  async function review(
    caseId: string,
    command: (actor: Actor, at: string) => CaseCommand,
    context: CommandContext,
  ): Promise<ReviewReceipt> {
    const receipt = await run(
      caseId,
      command({ type: 'USER', id: context.actor }, deps.clock().toISOString()),
      context,
    );
    const state = receipt.state;
    // A command on a case that does not exist has already failed with case.not_found.
    const status = state.status === 'NONE' ? 'OPEN' : state.status;
    return {
      case_id: caseId,
      position: receipt.position,
      revision: receipt.revision,
      status,
      changed: receipt.wrote,
    };
  }

  const reviewCommands: ReviewCommands = {
    assignCase: (caseId, assignee, context) =>
      review(
        caseId,
        (actor, at) => ({ type: 'AssignCase', data: { case_id: caseId, assignee, actor, at } }),
        context,
      ),
    recordDecision: (caseId, request, context) =>
      review(
        caseId,
        (actor, at) => ({
          type: 'RecordDecision',
          data: {
            case_id: caseId,
            decision: request.decision,
            reason_codes: request.reason_codes,
            comment: request.comment ?? null,
            requested_documents: request.requested_documents ?? [],
            requested_fields: request.requested_fields ?? [],
            actor,
            at,
          },
        }),
        context,
      ),
    closeCase: (caseId, request, context) =>
      review(caseId, withReason('CloseCase', caseId, request), context),
    reopenCase: (caseId, request, context) =>
      review(caseId, withReason('ReopenCase', caseId, request), context),
    overrideRisk: (caseId, request, context) =>
      review(
        caseId,
        (actor, at) => ({
          type: 'OverrideRisk',
          data: { case_id: caseId, rating: request.rating, reason: request.reason, actor, at },
        }),
        context,
      ),
  };

  async function openCase(intake: Intake, context: CommandContext) {
    const caseId = caseIdFor(deps.ids, context.idempotencyKey);
    const receipt = await run(
      caseId,
      {
        type: 'OpenCase',
        data: {
          idempotency_key: context.idempotencyKey,
          intake,
          at: deps.clock().toISOString(),
          actor: { type: 'INTAKE', id: context.actor },
        },
      },
      context,
    );
    // The handler answers a known key without deciding; a different intake under it is an error.
    if (
      receipt.state.status !== 'NONE' &&
      receipt.state.intake_fingerprint !== intakeFingerprintFor(deps.ids, intake)
    ) {
      throw new DomainError(
        CaseErrorCodes.IdempotencyKeyReused,
        'this idempotency key was already used for a different intake',
        {
          case_id: caseId,
        },
      );
    }
    return { case_id: caseId, position: receipt.position, revision: receipt.revision, opened: receipt.wrote };
  }

  /** Records one received intake in its own `intake-` stream; the same receipt twice writes nothing. */
  async function recordIntake(
    data: Omit<IntakeReceivedData, 'recorded_at'>,
    context: CommandContext,
  ): Promise<AllPosition | null> {
    const result = await eventStoreReachable(() =>
      deps.intakeAudit.handle(
        data.receipt_id,
        { type: 'RecordIntake', data: { ...data, recorded_at: deps.clock().toISOString() } },
        {
          idempotencyKey: `intake:${data.receipt_id}`,
          actor: context.actor,
          correlationId: context.correlationId,
        },
      ),
    );
    if (result.outcome === 'appended') deps.observe?.eventsAppended('intake', result.events.length);
    return result.outcome === 'conflict' ? null : result.position;
  }

  const commands: CaseCommands = {
    async openCase(body, context) {
      const checked = validateIntake(body, { today: deps.clock().toISOString().slice(0, 10) });
      // Every HTTP call is its own receipt: a retried POST is audited again, as a duplicate.
      const receiptId = randomUUID();
      const base = {
        receipt_id: receiptId,
        source: 'http' as const,
        transport: { method: 'POST', path: '/api/v1/cases' },
        idempotency_key: context.idempotencyKey,
        received_at: deps.clock().toISOString(),
        // No body at all is recorded as null: an absent key would not survive the round trip to JSON.
        payload: body ?? null,
        raw_text: null,
      };
      if (!checked.ok) {
        await recordIntake(
          {
            ...base,
            outcome: 'rejected',
            case_id: null,
            violations: checked.violations,
            error_code: 'intake.invalid',
          },
          context,
        );
        throw new DomainError('intake.invalid', 'The intake message is invalid', {
          violations: checked.violations,
        });
      }
      try {
        const { opened, ...receipt } = await openCase(checked.intake, context);
        const audited = await recordIntake(
          {
            ...base,
            outcome: opened ? 'case_opened' : 'duplicate',
            case_id: receipt.case_id,
            violations: [],
            error_code: null,
          },
          context,
        );
        // The audit record is written last: its position covers the case too.
        return audited === null ? receipt : { ...receipt, position: positionToken(audited) };
      } catch (error) {
        // Refused by a rule: audited. Not processed at all (store unreachable, busy): not audited,
        // the client retries and that attempt is.
        if (error instanceof DomainError && !error.transient) {
          await recordIntake(
            { ...base, outcome: 'rejected', case_id: null, violations: [], error_code: error.code },
            context,
          );
        }
        throw error;
      }
    },

    async determineRequirements(request, context) {
      const receipt = await run(
        request.case_id,
        {
          type: 'DetermineRequirements',
          data: {
            case_id: request.case_id,
            entity_id: request.entity_id,
            entity_type: request.entity_type as 'PERSON' | 'COMPANY' | 'BENEFICIAL_OWNER',
            ...(request.traitement_type === undefined ? {} : { traitement_type: request.traitement_type }),
            ...(request.case_type === undefined ? {} : { case_type: request.case_type }),
            at: deps.clock().toISOString(),
            actor: { type: 'USER', id: context.actor },
          },
        },
        context,
      );
      const state = receipt.state;
      const requirementIds =
        state.status === 'NONE'
          ? []
          : Object.entries(state.requirements)
              .filter(([, requirement]) => requirement.entity_id === request.entity_id)
              .map(([id]) => id);
      return { position: receipt.position, revision: receipt.revision, requirement_ids: requirementIds };
    },

    async changeDocumentStatus(documentId, change, context) {
      const document = await readStore.get('document_requirements', documentId);
      if (document === null) {
        throw new DomainError(
          CaseErrorCodes.DocumentNotFound,
          `No document requirement with id "${documentId}"`,
          {
            document_requirement_id: documentId,
          },
        );
      }
      const caseId = String(document.case_id);
      const receipt = await run(
        caseId,
        {
          type: 'ChangeDocumentStatus',
          data: {
            case_id: caseId,
            document_requirement_id: documentId,
            new_status: change.new_status,
            actor: {
              type: change.updated_by_actor_type ?? 'USER',
              id: change.updated_by_actor_id ?? context.actor,
            },
            ...(change.notes_to_add === undefined ? {} : { notes_to_add: change.notes_to_add }),
            ...(change.metadata_changes === undefined ? {} : { metadata_changes: change.metadata_changes }),
            ...(context.expectedVersion === undefined ? {} : { expected_version: context.expectedVersion }),
            at: deps.clock().toISOString(),
          },
        },
        context,
      );
      return { position: receipt.position, revision: receipt.revision };
    },

    async caseEvents(caseId, { fromRevision, limit }) {
      const stream = caseStreamName(caseId);
      // Reads only from the first revision asked for; the port has no count, so the page is cut here.
      const stored = await eventStoreReachable(() =>
        deps.eventStore.readStream(stream, { fromRevision: BigInt(fromRevision) }),
      );
      if (stored === null) return undefined;
      // Revisions are contiguous from 0, so the stream's length follows from the last one read;
      // past the end, one more read from the start tells it.
      const last = stored.at(-1);
      const total =
        last !== undefined
          ? Number(last.revision) + 1
          : ((await eventStoreReachable(() => deps.eventStore.readStream(stream)))?.length ?? 0);
      return {
        total,
        items: stored.slice(0, limit).map((event) => ({
          event_id: event.id,
          event_type: event.type,
          aggregate_id: caseId,
          revision: String(event.revision),
          position: positionToken(event.position),
          timestamp: event.created.toISOString(),
          payload: event.data as Record<string, unknown>,
          metadata: event.metadata as Record<string, unknown>,
        })),
      };
    },

    // An HTTP intake refused before it could be read (malformed JSON, not UTF-8, too large or
    // deep): audited like the Kafka bridge's refusals, with the text instead of a payload.
    async recordRefusedIntake(refusal, context) {
      await recordIntake(
        {
          receipt_id: randomUUID(),
          source: 'http',
          transport: { method: 'POST', path: '/api/v1/cases' },
          idempotency_key: context.idempotencyKey,
          received_at: deps.clock().toISOString(),
          payload: null,
          raw_text: refusal.raw_text,
          outcome: 'rejected',
          case_id: null,
          violations: refusal.violations,
          error_code: refusal.error_code,
        },
        context,
      );
    },
  };

  const page = (
    limit: number,
    skip: number,
    sort: FindQuery['sort'],
    filter: FindQuery['filter'] = {},
  ): FindQuery => ({
    filter,
    limit,
    skip,
    ...(sort === undefined ? {} : { sort }),
  });
  const orUndefined = (doc: Doc | null): Doc | undefined => doc ?? undefined;
  /** A page and the number of documents the filter matches, read side by side. */
  const paged = async (collection: string, query: FindQuery) => {
    const [items, total] = await Promise.all([
      readStore.find(collection, query),
      readStore.count(collection, query.filter),
    ]);
    return { items, total };
  };

  const queries: CaseQueries = {
    waitForPosition: (token, timeoutMs) => deps.waitForPosition(parsePositionToken(token), timeoutMs),
    listCases: (filter, { limit, skip }) => paged('cases', page(limit, skip, [['created_at', -1]], filter)),
    getCase: async (caseId) => orUndefined(await readStore.get('cases', caseId)),
    personsOfCase: (caseId, { limit, skip }) =>
      paged('persons', page(limit, skip, [['created_at', 1]], { case_id: caseId })),
    getCompany: async (companyId) => orUndefined(await readStore.get('companies', companyId)),
    ownersOfCompany: (companyId, { limit, skip }) =>
      paged('beneficial_owners', page(limit, skip, [['created_at', 1]], { company_id: companyId })),
    getDocument: async (documentId) => orUndefined(await readStore.get('document_requirements', documentId)),
    documentsOfCase: (caseId, filter, { limit, skip }) =>
      paged('document_requirements', page(limit, skip, [['created_at', 1]], { ...filter, case_id: caseId })),
    rawIntake: ({ limit, skip }) => paged('raw_events', page(limit, skip, [['received_at', -1]])),
    timelineOfCase: (caseId, filter, { limit, skip }) =>
      paged(
        'case_timeline',
        page(
          limit,
          skip,
          [
            ['at', 1],
            ['sequence', 1],
          ],
          { ...filter, case_id: caseId },
        ),
      ),
  };

  const reviewQueries: ReviewQueries = {
    reviewQueue: ({ assignee, risk, status }, { limit, skip }) =>
      paged(
        'cases',
        page(limit, skip, [['review_queue_since', 1]], {
          in_review_queue: true,
          ...(assignee === undefined ? {} : { assignee }),
          ...(risk === undefined ? {} : { 'risk.effective': risk }),
          ...(status === undefined ? {} : { status }),
        }),
      ),
  };

  /** The Kafka bridge's view: validation, opening, and the audit of what was refused. */
  const intake: IntakePort = {
    validate(value) {
      const checked = validateIntake(value, { today: deps.clock().toISOString().slice(0, 10) });
      return checked.ok ? { ok: true, intake: checked.intake } : checked;
    },
    async open(validated, context: IntakeContext) {
      const opened = await openCase(validated as Intake, context);
      await recordIntake(
        {
          ...kafkaReceipt(context),
          payload: validated,
          raw_text: null,
          outcome: opened.opened ? 'case_opened' : 'duplicate',
          case_id: opened.case_id,
          violations: [],
          error_code: null,
        },
        context,
      );
      return opened;
    },
    async recordRejected(rejection: Rejection, context: IntakeContext) {
      let payload: unknown = null;
      let rawText: string | null = rejection.raw;
      try {
        payload = JSON.parse(rejection.raw);
        rawText = null;
      } catch {
        // Not JSON: keep the text as received.
      }
      await recordIntake(
        {
          ...kafkaReceipt(context),
          payload,
          raw_text: rawText,
          outcome: 'rejected',
          case_id: null,
          violations: rejection.violations,
          error_code: rejection.code,
        },
        context,
      );
    },
  };

  function kafkaReceipt(context: IntakeContext) {
    const { topic, partition, offset, timestamp, key } = context.source;
    return {
      receipt_id: deps.ids('kafka-intake', topic, String(partition), offset, timestamp),
      source: 'kafka' as const,
      transport: { topic, partition: String(partition), offset, ...(key === undefined ? {} : { key }) },
      idempotency_key: context.idempotencyKey,
      received_at: deps.clock().toISOString(),
    };
  }

  return { commands, queries, intake, review: reviewCommands, reviewQueries };
}

export type CaseService = ReturnType<typeof createCaseService>;
