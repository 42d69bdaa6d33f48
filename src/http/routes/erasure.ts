import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import type { CaseQueries } from '../../cases/application/ports.ts';
import { AUTH, BODY, EVENT_STORE, PARAMETERS, problemResponses } from '../responses.ts';
import { Id, notFound } from './common.ts';

/** Reasons a single data subject may be erased for; see SUBJECT_ERASURE_REASONS in src/cases/retention.ts. */
const SubjectReason = Type.Enum(['recorded_in_error', 'removed_from_case', 'data_subject_request'], {
  description:
    'recorded_in_error: never a party of the customer, erased at once (a hold still blocks); the others wait for the retention date',
});

const Blocker = Type.Enum(['relationship_active', 'aml_retention', 'legal_hold']);
const Check = Type.Object({ store: Type.String(), result: Type.String(), detail: Type.String() });

const Certificate = Type.Object(
  {
    certificate_version: Type.Literal(1),
    case_id: Type.String(),
    subject_id: Type.Optional(
      Type.String({ description: 'Set when one data subject of the case was erased' }),
    ),
    reason_code: Type.Optional(Type.String()),
    request_id: Type.String(),
    requested_at: Type.String(),
    rule: Type.Union([Type.String(), Type.Null()]),
    relationship_ended_at: Type.Union([Type.String(), Type.Null()]),
    retain_until: Type.Union([Type.String(), Type.Null()]),
    completed_at: Type.String(),
    method: Type.Literal('crypto-shred'),
    destroyed_key_ids: Type.Array(Type.String()),
    checks: Type.Array(Check),
    completing_event: Type.Object({
      stream: Type.String(),
      id: Type.String(),
      revision: Type.String(),
      sha256: Type.String(),
    }),
  },
  {
    description:
      'Proof of erasure without personal data: ids, rule, dates, destroyed keys, checks, event hash',
  },
);

/** Where a case's erasure request stands; the certificate once completed. */
export const ErasureView = Type.Object(
  {
    status: Type.Enum(['none', 'deferred', 'due', 'executing', 'completed']),
    request_id: Type.Optional(Type.String()),
    due_at: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    blocking: Type.Optional(Type.Array(Blocker)),
    completed_at: Type.Optional(Type.String()),
    certificate: Type.Optional(Certificate),
  },
  { additionalProperties: false },
);
export type ErasureViewData = Static<typeof ErasureView>;

const RetentionDates = Type.Object(
  {
    rule: Type.String(),
    rule_retain_until: Type.Union([Type.String(), Type.Null()]),
    retain_until: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false, description: "The rule's retention date and the one in force" },
);
export type RetentionDatesData = Static<typeof RetentionDates>;

const ErasureStatusName = Type.Enum(['deferred', 'due', 'executing', 'completed']);
const ListedErasure = Type.Object(
  {
    case_id: Type.String(),
    subject_id: Type.Union([Type.String(), Type.Null()], {
      description: 'The one person or beneficial owner to erase; null when the whole case is',
    }),
    requested_at: Type.String(),
    status: ErasureStatusName,
    request_id: Type.String(),
    due_at: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    blocking: Type.Optional(Type.Array(Blocker)),
    completed_at: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
type ListedErasureData = Static<typeof ListedErasure>;

/** What the routes need from the erasure service. */
export type ErasureOperations = {
  endRelationship(caseId: string, endedAt: string, actor: string): Promise<ErasureViewData>;
  extendRetention(
    caseId: string,
    retainUntil: string,
    reasonCode: string,
    actor: string,
    requestKey: string,
  ): Promise<RetentionDatesData>;
  placeHold(caseId: string, reasonCode: string, actor: string, requestKey: string): Promise<string>;
  releaseHold(caseId: string, holdId: string, reasonCode: string, actor: string): Promise<void>;
  requestErasure(caseId: string, actor: string, channel: string): Promise<ErasureViewData>;
  status(caseId: string): Promise<ErasureViewData>;
  requestSubjectErasure(
    caseId: string,
    subjectId: string,
    reasonCode: string,
    actor: string,
  ): Promise<ErasureViewData>;
  subjectStatus(caseId: string, subjectId: string): Promise<ErasureViewData>;
  list(status: ListedErasureData['status'] | undefined, limit: number): Promise<ListedErasureData[]>;
  /** The due job now: every erasure due or cut short; deferred and held ones stay as they are. */
  runDue(): Promise<string[]>;
  /** Destroys again every key the completed erasures destroyed (after a key-store restore). */
  replayLedger(): Promise<{
    erasures: number;
    keys: number;
    destroyedAgain: string[];
    tombstonesAdded: string[];
  }>;
};

const ReasonCode = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[a-z0-9_.-]+$',
  description: 'A code, never free text',
});
const IdempotencyKey = Type.String({ minLength: 1, maxLength: 128, pattern: '^[\\x21-\\x7e]+$' });
const json = (schema: Parameters<typeof Type.Object>[0], description: string) => ({
  description,
  content: { 'application/json': { schema: Type.Object(schema, { additionalProperties: false }) } },
});

/**
 * Retention and erasure of a case: the relationship's end, legal holds (admin), the erasure
 * request (accepted at once, run by the due job when retention ends and no hold remains) and its
 * status with the certificate. Everything here carries ids, codes and dates only.
 */
export function erasureRoutes(erasure: ErasureOperations, queries: CaseQueries) {
  return async function erasureOfCases(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['Retention and erasure'];
    const params = Type.Object({ case_id: Id });
    const caseMustExist = async (caseId: string) => {
      if ((await queries.getCase(caseId)) === undefined) throw notFound('case', caseId);
    };

    app.post(
      '/api/v1/cases/:case_id/relationship-end',
      {
        schema: {
          operationId: 'endRelationship',
          tags,
          summary: 'Record the end of the business relationship; the retention date follows from it',
          description:
            'Sets the retention date: `ended_at` plus RETENTION_YEARS calendar years, under RETENTION_RULE. The same date again changes nothing; another date is 409 `retention.relationship_already_ended`. A deferred erasure request then waits for that date.',
          params,
          body: Type.Object(
            { ended_at: Type.String({ format: 'date-time' }) },
            { additionalProperties: false },
          ),
          response: {
            200: {
              description: 'Recorded (or already, with this date)',
              content: { 'application/json': { schema: ErasureView } },
            },
            ...problemResponses(AUTH, PARAMETERS, BODY, EVENT_STORE, {
              404: ['case.not_found'],
              409: ['retention.relationship_already_ended'],
            }),
          },
        },
      },
      async (request) => {
        await caseMustExist(request.params.case_id);
        return erasure.endRelationship(request.params.case_id, request.body.ended_at, request.caller.name);
      },
    );

    app.post(
      '/api/v1/cases/:case_id/retention-extensions',
      {
        config: { role: 'admin' as const },
        schema: {
          operationId: 'extendRetention',
          tags,
          summary:
            'Move the retention date later (a regulator or an investigation needs the records); never below the rule',
          description:
            "For when a regulator or an investigation needs the records longer: records `RetentionExtended` and moves the due date to `retain_until`. A later extension may move it again, shorter or longer, but never below the rule's date (422 `retention.extension_before_rule_date`). 409 before the relationship ends (`retention.relationship_active`) or once the erasure started. Answers the rule's date and the one in force.",
          params,
          headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) }),
          body: Type.Object(
            { retain_until: Type.String({ format: 'date-time' }), reason_code: ReasonCode },
            { additionalProperties: false },
          ),
          response: {
            200: {
              description: 'The dates in force (unchanged when already so)',
              content: { 'application/json': { schema: RetentionDates } },
            },
            ...problemResponses(AUTH, PARAMETERS, BODY, EVENT_STORE, {
              404: ['case.not_found'],
              409: ['retention.relationship_active', 'retention.erasure_under_way'],
              422: ['retention.extension_before_rule_date'],
            }),
          },
        },
      },
      async (request) => {
        await caseMustExist(request.params.case_id);
        return erasure.extendRetention(
          request.params.case_id,
          request.body.retain_until,
          request.body.reason_code,
          request.caller.name,
          request.headers['idempotency-key'] ?? request.id,
        );
      },
    );

    app.post(
      '/api/v1/cases/:case_id/legal-holds',
      {
        config: { role: 'admin' as const },
        schema: {
          operationId: 'placeLegalHold',
          tags,
          summary: 'Place a legal hold: no erasure runs while it remains',
          description:
            'While any hold remains, no erasure of the case runs, whole or of one subject. Answers 201 with the `hold_id` to release it with; the same `Idempotency-Key` places it once.',
          params,
          headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) }),
          body: Type.Object({ reason_code: ReasonCode }, { additionalProperties: false }),
          response: {
            201: json({ hold_id: Type.String() }, 'Placed (or already, for a repeated Idempotency-Key)'),
            ...problemResponses(AUTH, PARAMETERS, BODY, EVENT_STORE, {
              404: ['case.not_found'],
              409: ['retention.erasure_under_way'],
            }),
          },
        },
      },
      async (request, reply) => {
        await caseMustExist(request.params.case_id);
        const key = request.headers['idempotency-key'] ?? request.id;
        const holdId = await erasure.placeHold(
          request.params.case_id,
          request.body.reason_code,
          request.caller.name,
          key,
        );
        return reply.code(201).send({ hold_id: holdId });
      },
    );

    app.post(
      '/api/v1/cases/:case_id/legal-holds/:hold_id/release',
      {
        config: { role: 'admin' as const },
        schema: {
          operationId: 'releaseLegalHold',
          tags,
          summary: 'Release a legal hold: another admin than the one who placed it',
          description:
            'Takes a `reason_code` like placing one. The admin who placed the hold cannot release it (409 `retention.own_hold`). Once no hold remains, a deferred erasure request runs when its retention date has passed.',
          params: Type.Object({ case_id: Id, hold_id: Id }),
          body: Type.Object({ reason_code: ReasonCode }, { additionalProperties: false }),
          response: {
            200: json({ hold_id: Type.String(), released: Type.Literal(true) }, 'Released'),
            ...problemResponses(AUTH, PARAMETERS, BODY, EVENT_STORE, {
              404: ['case.not_found', 'retention.hold_not_found'],
              409: ['retention.own_hold'],
            }),
          },
        },
      },
      async (request) => {
        await caseMustExist(request.params.case_id);
        await erasure.releaseHold(
          request.params.case_id,
          request.params.hold_id,
          request.body.reason_code,
          request.caller.name,
        );
        return { hold_id: request.params.hold_id, released: true as const };
      },
    );

    app.post(
      '/api/v1/cases/:case_id/erasure-request',
      {
        schema: {
          operationId: 'requestErasure',
          tags,
          summary: 'Request the erasure of the case’s personal data: accepted now, run when due',
          description:
            "No body. Recorded at once and answered 202 `deferred` with what blocks it (`relationship_active`, `aml_retention`, `legal_hold`) until it is due; the due job (every ERASURE_JOB_INTERVAL_SECONDS, or POST /api/v1/admin/erasures/run) then destroys the case's keys and records the certificate, readable at GET /api/v1/cases/{case_id}/erasure. A second request answers the first.",
          params,
          response: {
            202: {
              description: 'Accepted (one request per case)',
              content: { 'application/json': { schema: ErasureView } },
            },
            ...problemResponses(AUTH, PARAMETERS, BODY, EVENT_STORE, { 404: ['case.not_found'] }),
          },
        },
      },
      async (request, reply) => {
        await caseMustExist(request.params.case_id);
        const view = await erasure.requestErasure(request.params.case_id, request.caller.name, 'api');
        return reply.code(202).send(view);
      },
    );

    const admin = { role: 'admin' as const };
    const adminTags = ['Operations'];
    app.get(
      '/api/v1/admin/erasures',
      {
        config: admin,
        schema: {
          operationId: 'listErasures',
          tags: adminTags,
          summary:
            'Erasure requests, of whole cases and of single subjects, where they stand now, of one status when given',
          description:
            'Whole-case requests (and refused intake messages under INTAKE-REJECTED) and erasures of single subjects (`subject_id` set) from the `erasure_index` read model, with `due_at` and what blocks each.',
          querystring: Type.Object({
            status: Type.Optional(ErasureStatusName),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000, default: 100 })),
          }),
          response: {
            200: json({ erasures: Type.Array(ListedErasure) }, 'The requests, at most `limit`'),
            ...problemResponses(AUTH, PARAMETERS),
          },
        },
      },
      async (request) => ({
        erasures: await erasure.list(request.query.status, request.query.limit ?? 100),
      }),
    );

    app.post(
      '/api/v1/admin/erasures/run',
      {
        config: admin,
        schema: {
          operationId: 'runDueErasures',
          tags: adminTags,
          summary:
            'Run the erasure due job now: erasures whose retention ended with no hold left, and those cut short',
          description:
            'The same job as the one run every ERASURE_JOB_INTERVAL_SECONDS: a request still deferred or held stays as it is, whoever asks. Answers what this run completed (a subject as `<case_id>/subjects/<subject_id>`); an empty list when nothing was due.',
          response: {
            200: json({ completed: Type.Array(Type.String()) }, 'The cases whose erasure this run completed'),
            ...problemResponses(AUTH, EVENT_STORE),
          },
        },
      },
      async () => ({ completed: await erasure.runDue() }),
    );

    const subjectParams = Type.Object({ case_id: Id, subject_id: Id });
    app.post(
      '/api/v1/cases/:case_id/subjects/:subject_id/erasure-request',
      {
        config: { role: 'approver' as const },
        schema: {
          operationId: 'requestSubjectErasure',
          tags,
          summary:
            'Request the erasure of one person or beneficial owner of the case; the rest of the case stays readable',
          description:
            "`subject_id` is a person's or beneficial owner's id. Destroys that subject's key and the case's notification and raw-intake keys; every other person stays readable. `reason_code`: `recorded_in_error` (never a party of the customer) runs at once; `removed_from_case` and `data_subject_request` wait for the case's retention date. A legal hold blocks every one. 404 `subject.not_found` for a subject the case does not know.",
          params: subjectParams,
          body: Type.Object({ reason_code: SubjectReason }, { additionalProperties: false }),
          response: {
            202: {
              description: 'Accepted (one request per subject); completed at once when nothing blocks it',
              content: { 'application/json': { schema: ErasureView } },
            },
            ...problemResponses(AUTH, PARAMETERS, BODY, EVENT_STORE, {
              404: ['case.not_found', 'subject.not_found'],
            }),
          },
        },
      },
      async (request, reply) => {
        const { case_id, subject_id } = request.params;
        await caseMustExist(case_id);
        const view = await erasure.requestSubjectErasure(
          case_id,
          subject_id,
          request.body.reason_code,
          request.caller.name,
        );
        return reply.code(202).send(view);
      },
    );

    app.get(
      '/api/v1/cases/:case_id/subjects/:subject_id/erasure',
      {
        schema: {
          operationId: 'getSubjectErasure',
          tags,
          summary: 'Where the erasure of one subject of the case stands, and its certificate once completed',
          description:
            '`status` none, deferred, due, executing or completed; once completed, the certificate with `subject_id`, `reason_code` and the keys destroyed.',
          params: subjectParams,
          response: {
            200: {
              description: 'The erasure status',
              content: { 'application/json': { schema: ErasureView } },
            },
            ...problemResponses(AUTH, PARAMETERS, EVENT_STORE, { 404: ['case.not_found'] }),
          },
        },
      },
      async (request) => {
        await caseMustExist(request.params.case_id);
        return erasure.subjectStatus(request.params.case_id, request.params.subject_id);
      },
    );

    app.post(
      '/api/v1/admin/erasures/ledger/replay',
      {
        config: admin,
        schema: {
          operationId: 'replayErasureLedger',
          tags: adminTags,
          summary:
            'Destroy again every key that completed erasures destroyed: after the key store was restored from a backup',
          description:
            "The ledger is the completed erasures in the event store's `retention-` streams. Run it right after restoring the key store into a running deployment (the service also does it at every start). A key the restored store never had gets a tombstone, so its events read as erased.",
          response: {
            200: json(
              {
                erasures: Type.Integer(),
                keys: Type.Integer(),
                destroyed_again: Type.Array(Type.String()),
                tombstones_added: Type.Array(Type.String()),
              },
              'What the ledger lists, and the keys that were live again (restored) or missing',
            ),
            ...problemResponses(AUTH, EVENT_STORE),
          },
        },
      },
      async () => {
        const report = await erasure.replayLedger();
        return {
          erasures: report.erasures,
          keys: report.keys,
          destroyed_again: report.destroyedAgain,
          tombstones_added: report.tombstonesAdded,
        };
      },
    );

    app.get(
      '/api/v1/cases/:case_id/erasure',
      {
        schema: {
          operationId: 'getErasure',
          tags,
          summary: 'Where the erasure request stands, what blocks it, and its certificate once completed',
          description:
            '`status` none, deferred, due, executing or completed; `due_at` and `blocking` while deferred; once completed the certificate of erasure (request, rule and dates, destroyed key ids, the checks of the key, event and read stores, the SHA-256 of the completing event; no personal data).',
          params,
          response: {
            200: {
              description: 'The erasure status',
              content: { 'application/json': { schema: ErasureView } },
            },
            ...problemResponses(AUTH, PARAMETERS, EVENT_STORE, { 404: ['case.not_found'] }),
          },
        },
      },
      async (request) => {
        await caseMustExist(request.params.case_id);
        return erasure.status(request.params.case_id);
      },
    );
  };
}
