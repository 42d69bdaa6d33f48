import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type, { type TSchema } from 'typebox';
import Compile from 'typebox/compile';
import { DomainError } from '../../eventsourcing/core/errors.ts';
import { BodyRefused, rawBodyOf } from '../body.ts';
import type { CaseCommands, CaseQueries } from '../ports.ts';
import { invalidRequest, problemErrorHandler, problemFor, type Violation } from '../problem.ts';
import { AUTH, BODY, EVENT_STORE, PARAMETERS, problemResponses, READ_YOUR_WRITES } from '../responses.ts';
import {
  AnyDocument,
  awaitReadModel,
  commandContext,
  Id,
  notFound,
  PageQuery,
  pageOf,
  ReadModelQuery,
  Receipt,
} from './common.ts';

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
export function caseRoutes(commands: CaseCommands, queries: CaseQueries, intake: TSchema) {
  return async function cases(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['Cases'];

    app.post(
      '/api/v1/cases',
      {
        schema: {
          tags,
          summary: 'Open a case from an intake message',
          description:
            'The body is the intake message producers publish to Kafka. With the same `Idempotency-Key` the same case is returned and nothing is written twice; without one, each call is a new intake.',
          headers: Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKey) }),
          body: intake,
          response: {
            202: Type.Object({ case_id: Type.String(), ...Receipt }),
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
          tags,
          summary: 'Cases, newest first',
          querystring: Type.Object({
            ...PageQuery,
            ...ReadModelQuery,
            status: Type.Optional(Type.String({ maxLength: 32 })),
            client_id: Type.Optional(Type.String({ maxLength: 128 })),
            type: Type.Optional(Type.String({ maxLength: 64 })),
            traitement_type: Type.Optional(Type.Enum(['KYC', 'KYB'])),
          }),
          response: {
            200: Type.Array(AnyDocument),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES),
          },
        },
      },
      async (request) => {
        const { limit, skip, min_position, ...filter } = request.query;
        await awaitReadModel(queries, min_position);
        return queries.listCases(filter as Record<string, string>, pageOf({ limit, skip }));
      },
    );

    app.get(
      '/api/v1/cases/:case_id',
      {
        schema: {
          tags,
          summary: 'One case',
          params: Type.Object({ case_id: Id }),
          querystring: Type.Object(ReadModelQuery),
          response: {
            200: AnyDocument,
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
          tags,
          summary: 'The history of a case as stored in its stream, oldest first',
          params: Type.Object({ case_id: Id }),
          response: {
            200: Type.Array(Type.Object({}, { additionalProperties: true })),
            ...problemResponses(AUTH, PARAMETERS, EVENT_STORE, { 404: ['case.not_found'] }),
          },
        },
      },
      async (request) => {
        const events = await commands.caseEvents(request.params.case_id);
        if (events === undefined) throw notFound('case', request.params.case_id);
        return events;
      },
    );
  };
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
