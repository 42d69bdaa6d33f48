import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type, { type TSchema } from 'typebox';
import Compile from 'typebox/compile';
import type { CaseCommands, CaseQueries } from '../../cases/application/ports.ts';
import { DomainError } from '../../eventsourcing/core/errors.ts';
import { BodyRefused, rawBodyOf } from '../body.ts';
import { recordPersonalDataRead } from '../personal-data.ts';
import type { AccessLog } from '../ports.ts';
import { invalidRequest, problemErrorHandler, problemFor, type Violation } from '../problem.ts';
import { AUTH, BODY, EVENT_STORE, PARAMETERS, problemResponses, READ_YOUR_WRITES } from '../responses.ts';
import { CaseStatus, ref, TraitementType } from '../schemas.ts';
import {
  awaitReadModel,
  commandContext,
  Id,
  listResponse,
  notFound,
  PageQuery,
  pageOf,
  Query,
  ReadModelQuery,
  Receipt,
  setOffsetPageHeaders,
  setPageHeaders,
} from './common.ts';

/** Named request examples of the intake, shown by the OpenAPI and Swagger UI. */
const INTAKE_EXAMPLES = {
  kyc: {
    summary: 'KYC: one individual',
    value: {
      client_id: 'kyc-client-001',
      version: '1.0',
      type: 'INDIVIDUAL_STANDARD',
      traitement_type: 'KYC',
      persons: [{ firstname: 'John', lastname: 'Doe', birthdate: '1990-01-15' }],
    },
  },
  kyb: {
    summary: 'KYB: a company with a director and an ultimate beneficial owner',
    value: {
      client_id: 'kyb-client-002',
      version: '1.0',
      type: 'COMPANY_STANDARD',
      traitement_type: 'KYB',
      company_profile: {
        registered_name: 'Test Corp Ltd',
        registration_number: 'C09876',
        country_of_incorporation: 'GB',
        registered_address: {
          street: '1 Business Park',
          city: 'London',
          country: 'GB',
          postal_code: 'E14 5HQ',
        },
      },
      persons: [
        { firstname: 'Jane', lastname: 'Director', birthdate: '1985-03-20', role_in_company: 'Director' },
      ],
      beneficial_owners: [
        {
          person_details: { firstname: 'Ultimate', lastname: 'Owner', birthdate: '1975-11-10' },
          ownership_percentage: 75,
          types_of_control: ['SHAREHOLDING_OVER_25'],
          is_ubo: true,
        },
      ],
    },
  },
};

const EVENTS_PAGE = { limit: 100, max: 1_000 };

const withoutExamples = (schema: TSchema): Record<string, unknown> => {
  const { examples: _examples, ...rest } = schema as TSchema & { examples?: unknown };
  return rest;
};

const IdempotencyKey = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[\\x21-\\x7e]+$',
  description: 'Printable ASCII without spaces, 1 to 200 characters',
});
const isIdempotencyKey = Compile(IdempotencyKey);

/** What the audit keeps of a refused body: its first 64 KiB, as valid UTF-8. */
const RAW_TEXT_BYTES = 64 * 1024;
const auditText = (raw: Buffer | undefined | null): string | null =>
  raw === undefined || raw === null ? null : raw.subarray(0, RAW_TEXT_BYTES).toString('utf8');

/**
 * Cases: intake over HTTP (the same contract as the Kafka message), listing, one case, and its
 * history. `intake` is the intake schema, the single source of truth for Kafka, HTTP and OpenAPI.
 */
export function caseRoutes(commands: CaseCommands, queries: CaseQueries, intake: TSchema, access: AccessLog) {
  return async function cases(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['Cases'];

    app.post(
      '/api/v1/cases',
      {
        schema: {
          operationId: 'openCase',
          tags,
          summary: 'Open a case from an intake message',
          description:
            'The body is the intake message producers publish to Kafka. With the same `Idempotency-Key` the same case is returned and nothing is written twice; without one, each call is a new intake.',
          headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) }),
          // The named examples replace the schema's single one (a media type may not carry both).
          body: { ...withoutExamples(intake), 'x-examples': INTAKE_EXAMPLES },
          response: {
            202: {
              description: 'Accepted: the case is opened (or was, for a repeated Idempotency-Key)',
              headers: { Location: { type: 'string', description: 'The case: /api/v1/cases/{case_id}' } },
              content: {
                'application/json': {
                  schema: Type.Object(
                    { case_id: Type.String(), ...Receipt },
                    { additionalProperties: false },
                  ),
                },
              },
            },
            ...problemResponses(AUTH, BODY, EVENT_STORE, {
              409: ['intake.idempotency_key_reused', 'case.already_exists', 'case.busy'],
            }),
          },
        },
        // The body is checked by validateIntake inside the command (schema and cross-field rules,
        // every violation, and an audit record of the refusal), not by the HTTP validator, which
        // would coerce types and stop at the schema.
        validatorCompiler: ({ schema, httpPart }) => {
          if (httpPart === 'body') return () => true;
          const validator = Compile(schema as TSchema);
          // Errors, not a bare false: fastify treats a false without errors as a pass.
          return (data: unknown) =>
            validator.Check(data)
              ? true
              : {
                  error: validator
                    .Errors(data)
                    .map((error) =>
                      error.keyword === 'pattern' && error.instancePath === '/idempotency-key'
                        ? { ...error, message: 'must be printable ASCII without spaces' }
                        : error,
                    ),
                };
        },
        errorHandler: (error, request, reply) => auditRefusal(commands, error, request, reply),
      },
      async (request, reply) => {
        if (request.body === undefined) {
          throw new BodyRefused(
            invalidRequest([{ path: 'body', message: 'is required: send the intake as application/json' }]),
            null,
          );
        }
        const result = await commands
          .openCase(request.body, commandContext(request, request.headers['idempotency-key']))
          .catch((error: unknown) => {
            if (error instanceof DomainError && error.code === 'intake.invalid') {
              const violations = (error.details.violations ?? []) as Violation[];
              throw invalidRequest(violations.map((v) => ({ path: `body${v.path}`, message: v.message })));
            }
            throw error;
          });
        reply.header('location', `/api/v1/cases/${result.case_id}`);
        return reply.status(202).send(result);
      },
    );

    app.get(
      '/api/v1/cases',
      {
        schema: {
          operationId: 'listCases',
          tags,
          summary: 'Cases, newest first',
          description:
            'A page of cases matching every filter given. `X-Total-Count` tells how many match; `Link` points to the next and previous pages.',
          querystring: Query({
            ...PageQuery,
            ...ReadModelQuery,
            status: Type.Optional(CaseStatus),
            client_id: Type.Optional(Type.String({ maxLength: 128 })),
            type: Type.Optional(
              Type.String({ maxLength: 64, description: 'Case type, e.g. INDIVIDUAL_STANDARD' }),
            ),
            traitement_type: Type.Optional(TraitementType),
          }),
          response: {
            200: listResponse(ref('CaseDocument'), 'A page of cases'),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES),
          },
        },
      },
      async (request, reply) => {
        const { limit, skip, min_position, ...filter } = request.query;
        await awaitReadModel(queries, min_position);
        const page = pageOf({ limit, skip });
        const found = await queries.listCases(filter as Record<string, string>, page);
        setOffsetPageHeaders(request, reply, found.total, page);
        return found.items;
      },
    );

    app.get(
      '/api/v1/cases/:case_id',
      {
        schema: {
          operationId: 'getCase',
          tags,
          summary: 'One case',
          params: Type.Object({ case_id: Id }),
          querystring: Query(ReadModelQuery),
          response: {
            200: ref('CaseDocument'),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES, { 404: ['case.not_found'] }),
          },
        },
      },
      async (request) => {
        await awaitReadModel(queries, request.query.min_position);
        const found = await queries.getCase(request.params.case_id);
        if (found === undefined) throw notFound('case', request.params.case_id);
        return found;
      },
    );

    app.get(
      '/api/v1/cases/:case_id/events',
      {
        schema: {
          operationId: 'listCaseEvents',
          tags,
          summary: 'The history of a case as stored in its stream, oldest first, by revision',
          description:
            'At most `limit` events from revision `from_revision` on; only that range of the stream is read. `X-Total-Count` is the number of events in the stream; `Link: rel="next"` continues after the last event served.',
          params: Type.Object({ case_id: Id }),
          querystring: Query({
            from_revision: Type.Optional(
              Type.Integer({
                minimum: 0,
                maximum: 1_000_000_000,
                default: 0,
                description: 'The first revision to return (0 is the CaseOpened event)',
              }),
            ),
            limit: Type.Optional(
              Type.Integer({
                minimum: 1,
                maximum: EVENTS_PAGE.max,
                default: EVENTS_PAGE.limit,
                description: 'Page size',
              }),
            ),
          }),
          response: {
            200: listResponse(ref('CaseEvent'), 'Events of the case, oldest first'),
            ...problemResponses(AUTH, PARAMETERS, EVENT_STORE, { 404: ['case.not_found'] }),
          },
        },
      },
      async (request, reply) => {
        const fromRevision = request.query.from_revision ?? 0;
        const limit = request.query.limit ?? EVENTS_PAGE.limit;
        const found = await commands.caseEvents(request.params.case_id, { fromRevision, limit });
        if (found === undefined) throw notFound('case', request.params.case_id);
        const next = fromRevision + found.items.length;
        const links: Parameters<typeof setPageHeaders>[3] = [];
        if (found.items.length > 0 && next < found.total) {
          links.push({ rel: 'next', params: { from_revision: next, limit } });
        }
        if (fromRevision > 0) {
          links.push({ rel: 'prev', params: { from_revision: Math.max(0, fromRevision - limit), limit } });
        }
        setPageHeaders(request, reply, found.total, links);
        recordPersonalDataRead(access, request, request.params.case_id, peopleIn(found.items));
        return found.items;
      },
    );
  };
}

/** The people whose names a page of case events holds. */
function peopleIn(events: readonly Record<string, unknown>[]) {
  return events.flatMap((event): { type: 'PERSON' | 'BENEFICIAL_OWNER'; id: string }[] => {
    const payload = (event.payload ?? {}) as Record<string, unknown>;
    if (event.event_type === 'PersonAdded' && typeof payload.person_id === 'string') {
      return [{ type: 'PERSON', id: payload.person_id }];
    }
    if (event.event_type === 'BeneficialOwnerAdded' && typeof payload.beneficial_owner_id === 'string') {
      return [{ type: 'BENEFICIAL_OWNER', id: payload.beneficial_owner_id }];
    }
    return [];
  });
}

/**
 * The intake route's error handler: a request refused before the command ran (a body that is
 * not JSON, not UTF-8, too large or past the input limits; an invalid header) is recorded in the
 * raw intake audit, then answered as any other problem. Refusals by the command are audited by
 * the command itself; callers without a valid key are never recorded.
 */
async function auditRefusal(
  commands: CaseCommands,
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply> {
  const beforeCommand =
    error instanceof BodyRefused ||
    error.validation !== undefined ||
    error.code?.startsWith('FST_ERR_CTP_') === true;
  if (beforeCommand && request.caller !== null) {
    const { problem } = problemFor(error);
    const key = request.headers['idempotency-key'];
    try {
      await commands.recordRefusedIntake(
        {
          raw_text: auditText(error instanceof BodyRefused ? error.raw : rawBodyOf(request)),
          error_code: problem.code,
          violations: problem.violations ?? [{ path: 'body', message: problem.title }],
        },
        commandContext(request, typeof key === 'string' && isIdempotencyKey.Check(key) ? key : undefined),
      );
    } catch (auditError) {
      // The caller still gets the refusal; the missing audit record is logged instead.
      request.log.error({ err: auditError }, 'could not audit a refused intake');
    }
  }
  return problemErrorHandler(error, request, reply);
}
