import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import type {
  CaseQueries,
  CommandContext,
  ReviewCommands,
  ReviewQueries,
  ReviewReceipt,
} from '../../cases/application/ports.ts';
import { DECISIONS, RISK_RATINGS } from '../../cases/events.ts';
import { AWAITING_REVIEW_STATUSES, type ReasonCodes } from '../../cases/review.ts';
import type { Role } from '../auth.ts';
import { invalidRequest } from '../problem.ts';
import { AUTH, BODY, EVENT_STORE, PARAMETERS, problemResponses, READ_YOUR_WRITES } from '../responses.ts';
import { CaseStatus, ref } from '../schemas.ts';
import {
  awaitReadModel,
  commandContext,
  Id,
  listResponse,
  Query,
  ReadModelQuery,
  Receipt,
} from './common.ts';

// The review of a case: assignment, decisions (with four eyes on HIGH risk), closing and
// reopening, the manual risk override, the reviewers' queue and the reason codes. The rules live
// in the decider (src/cases/decider.ts, review.ts); these routes only translate HTTP.

const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[\\x21-\\x7e]+$',
  description:
    'Optional. The same key again returns the first answer and writes nothing; without one, the same request again is recognised by comparing it with the last one',
});

const Comment = Type.String({
  minLength: 1,
  maxLength: 2_000,
  description: 'Free text, kept with the event',
});
const ReasonCode = Type.String({
  pattern: '^[A-Z][A-Z0-9_]{0,63}$',
  description: 'A code of GET /api/v1/reason-codes accepted for this action',
});

const ReviewAnswer = Type.Object(
  {
    ...Receipt,
    case_id: Type.String(),
    status: CaseStatus,
    changed: Type.Boolean({ description: 'False when nothing was written (the same request again)' }),
  },
  { additionalProperties: false },
);

const TRANSITION_CODES = ['case.invalid_transition', 'case.busy'];

const Assignment = Type.Object(
  { assignee: Type.String({ minLength: 1, maxLength: 128, description: "The reviewer's API key name" }) },
  { additionalProperties: false },
);

const DecisionBody = Type.Object(
  {
    decision: Type.Enum([...DECISIONS]),
    reason_codes: Type.Array(ReasonCode, { minItems: 1, maxItems: 20, uniqueItems: true }),
    comment: Type.Optional(Comment),
    requested_documents: Type.Optional(
      Type.Array(Id, {
        maxItems: 100,
        uniqueItems: true,
        description: 'REQUEST_INFORMATION: document_requirement_ids to send back to AWAITING_UPLOAD',
      }),
    ),
    requested_fields: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: 100,
        uniqueItems: true,
        description:
          'REQUEST_INFORMATION: fields the client must complete or correct, e.g. "persons/0/birthdate"',
      }),
    ),
  },
  {
    additionalProperties: false,
    'x-examples': {
      approve: { summary: 'Approve', value: { decision: 'APPROVE', reason_codes: ['DOCUMENTS_VERIFIED'] } },
      reject: {
        summary: 'Reject',
        value: { decision: 'REJECT', reason_codes: ['IDENTITY_MISMATCH'], comment: 'Passport name differs' },
      },
      request: {
        summary: 'Ask for a new document and a field',
        value: {
          decision: 'REQUEST_INFORMATION',
          reason_codes: ['DOCUMENT_EXPIRED'],
          comment: 'The passport expired in 2024',
          requested_documents: ['0a1b2c3d-4e5f-5061-8273-94a5b6c7d8e9'],
          requested_fields: ['persons/0/birthdate'],
        },
      },
    },
  },
);

const ReasonBody = Type.Object(
  { reason_code: ReasonCode, comment: Type.Optional(Comment) },
  { additionalProperties: false },
);

const OverrideBody = Type.Object(
  {
    rating: Type.Enum([...RISK_RATINGS]),
    reason: Type.String({
      minLength: 1,
      maxLength: 2_000,
      description: 'Why the computed rating is set aside',
    }),
  },
  { additionalProperties: false },
);

const QUEUE_PAGE = { limit: 20, max: 200 };

/** The queue's cursor: an opaque token over the position in the queue. */
const encodeCursor = (skip: number): string => Buffer.from(`q1:${skip}`).toString('base64url');

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const match = /^q1:([0-9]{1,9})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (match === null) {
    throw invalidRequest([{ path: 'querystring/cursor', message: 'is not a cursor this service returned' }]);
  }
  return Number(match[1]);
}

export function reviewRoutes(
  commands: ReviewCommands,
  queries: ReviewQueries & Pick<CaseQueries, 'waitForPosition'>,
  reasonCodes: ReasonCodes,
) {
  return async function review(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['Review'];
    const params = Type.Object({ case_id: Id });
    const headers = Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) });
    const context = (request: Parameters<typeof commandContext>[0]): CommandContext => {
      const key = request.headers['idempotency-key'];
      // Scoped by caller and route, so one person's key never answers another's request.
      return commandContext(
        request,
        typeof key === 'string'
          ? `review:${request.caller.name}:${request.routeOptions.url}:${key}`
          : undefined,
      );
    };

    /** One POST route of the review: same params, headers, answer and error declarations. */
    function command<
      Body extends typeof DecisionBody | typeof ReasonBody | typeof OverrideBody | typeof Assignment,
    >(
      path: string,
      options: {
        operationId: string;
        summary: string;
        description: string;
        role: Role;
        body: Body;
        errors: Partial<Record<number, string[]>>;
        run: (caseId: string, body: Static<Body>, context: CommandContext) => Promise<ReviewReceipt>;
      },
    ) {
      app.post(
        path,
        {
          config: { role: options.role },
          schema: {
            operationId: options.operationId,
            tags,
            summary: options.summary,
            description: `${options.description} Needs the ${options.role} role.`,
            params,
            headers,
            body: options.body,
            response: {
              200: ReviewAnswer,
              ...problemResponses(AUTH, BODY, EVENT_STORE, { 404: ['case.not_found'] }, options.errors),
            },
          },
        },
        async (request) => {
          const { case_id } = request.params as { case_id: string };
          return options.run(case_id, request.body as Static<Body>, context(request));
        },
      );
    }

    command('/api/v1/cases/:case_id/assignment', {
      operationId: 'assignCase',
      summary: 'Assign the case to a reviewer (PENDING_REVIEW → IN_REVIEW)',
      description:
        'From PENDING_REVIEW or MORE_INFORMATION_REQUESTED the case goes IN_REVIEW; IN_REVIEW it is reassigned. The same assignee again changes nothing.',
      role: 'reviewer',
      body: Assignment,
      errors: { 409: TRANSITION_CODES },
      run: (caseId, body, ctx) => commands.assignCase(caseId, body.assignee, ctx),
    });

    command('/api/v1/cases/:case_id/decisions', {
      operationId: 'recordDecision',
      summary: 'Approve, reject, or ask for more information (IN_REVIEW only)',
      description:
        'Every decision carries reason codes (GET /api/v1/reason-codes) and may carry a comment. A HIGH-risk case (effective rating) needs two APPROVE decisions by two different people; nobody approves twice or approves their own risk override. REQUEST_INFORMATION names documents (sent back to AWAITING_UPLOAD) or fields; the case returns to PENDING_REVIEW once every document is resolved again.',
      role: 'reviewer',
      body: DecisionBody,
      errors: {
        400: [
          'review.reason_code_invalid',
          'review.unknown_decision',
          'review.information_unspecified',
          'review.requested_document_not_found',
        ],
        409: [
          ...TRANSITION_CODES,
          'review.documents_outstanding',
          'review.already_approved',
          'review.own_override',
        ],
      },
      run: (caseId, body, ctx) => commands.recordDecision(caseId, body, ctx),
    });

    command('/api/v1/cases/:case_id/close', {
      operationId: 'closeCase',
      summary: 'Close the case, with a reason code',
      description: 'Any status but CLOSED may be closed.',
      role: 'reviewer',
      body: ReasonBody,
      errors: { 400: ['review.reason_code_invalid'], 409: TRANSITION_CODES },
      run: (caseId, body, ctx) => commands.closeCase(caseId, body, ctx),
    });

    command('/api/v1/cases/:case_id/reopen', {
      operationId: 'reopenCase',
      summary: 'Reopen a closed case, with a reason code',
      description:
        'The case goes back to PENDING_REVIEW when every document is resolved, else to OPEN. Its history stays.',
      role: 'approver',
      body: ReasonBody,
      errors: { 400: ['review.reason_code_invalid'], 409: TRANSITION_CODES },
      run: (caseId, body, ctx) => commands.reopenCase(caseId, body, ctx),
    });

    command('/api/v1/cases/:case_id/risk-override', {
      operationId: 'overrideRisk',
      summary: 'Override the computed risk rating, with a reason',
      description:
        'Kept beside the computed rating, which stays visible and keeps being recomputed; the override is the effective rating for four eyes. Allowed before a final decision (OPEN, PENDING_REVIEW, IN_REVIEW, MORE_INFORMATION_REQUESTED). Whoever overrides cannot approve the case.',
      role: 'approver',
      body: OverrideBody,
      errors: { 400: ['risk.unknown_rating'], 409: TRANSITION_CODES },
      run: (caseId, body, ctx) => commands.overrideRisk(caseId, body, ctx),
    });

    app.get(
      '/api/v1/review-queue',
      {
        schema: {
          operationId: 'reviewQueue',
          tags,
          summary: 'Cases awaiting review, the longest waiting first',
          description:
            'Cases in PENDING_REVIEW or IN_REVIEW, ordered by when they became ready for review. Follow `Link: rel="next"` (a `cursor`) for the next page; `X-Total-Count` is the length of the filtered queue.',
          querystring: Query({
            ...ReadModelQuery,
            assignee: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
            risk: Type.Optional(Type.Enum([...RISK_RATINGS], { description: 'The effective rating' })),
            status: Type.Optional(Type.Enum([...AWAITING_REVIEW_STATUSES])),
            limit: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: QUEUE_PAGE.max,
                default: QUEUE_PAGE.limit,
                description: 'Page size',
              }),
            ),
            cursor: Type.Optional(
              Type.String({ minLength: 1, maxLength: 64, description: 'From the `Link: rel="next"` header' }),
            ),
          }),
          response: {
            200: listResponse(ref('CaseDocument'), 'A page of the queue'),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES),
          },
        },
      },
      async (request, reply) => {
        const { limit = QUEUE_PAGE.limit, cursor, min_position, ...filter } = request.query;
        const skip = decodeCursor(cursor);
        await awaitReadModel(queries, min_position);
        const found = await queries.reviewQueue(filter, { limit, skip });
        reply.header('x-total-count', String(found.total));
        if (skip + limit < found.total) {
          // The request's own path and filters, with the next cursor.
          const [path = '', search = ''] = request.url.split('?', 2);
          const next = new URLSearchParams(search);
          next.set('cursor', encodeCursor(skip + limit));
          next.set('limit', String(limit));
          reply.header('link', `<${path}?${next.toString()}>; rel="next"`);
        }
        return found.items;
      },
    );

    app.get(
      '/api/v1/reason-codes',
      {
        schema: {
          operationId: 'listReasonCodes',
          tags,
          summary: 'The reason codes decisions, closures and reopenings accept',
          response: {
            200: Type.Object(
              {
                version: Type.Integer(),
                codes: Type.Array(
                  Type.Object(
                    {
                      code: Type.String(),
                      description: Type.String(),
                      actions: Type.Array(Type.String()),
                      retired: Type.Boolean(),
                    },
                    { additionalProperties: false },
                  ),
                ),
              },
              { additionalProperties: false },
            ),
            ...problemResponses(AUTH),
          },
        },
      },
      async () => ({
        version: reasonCodes.version,
        codes: reasonCodes.codes.map((entry) => ({
          code: entry.code,
          description: entry.description,
          actions: [...entry.actions],
          retired: entry.retired === true,
        })),
      }),
    );
  };
}
