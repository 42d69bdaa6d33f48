import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type, { type TSchema } from 'typebox';
import Compile from 'typebox/compile';
import { DomainError } from '../../eventsourcing/core/errors.ts';
import type { CaseCommands, CaseQueries } from '../ports.ts';
import { invalidRequest, type Violation } from '../problem.ts';
import {
  AnyDocument,
  awaitReadModel,
  commandContext,
  Id,
  notFound,
  PageQuery,
  ReadModelQuery,
  Receipt,
} from './common.ts';

const IdempotencyKey = Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' });

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
          response: { 202: Type.Object({ case_id: Type.String(), ...Receipt }) },
        },
        // The body is checked by validateIntake inside the command (schema and cross-field rules,
        // every violation, and an audit record of the refusal), not by the HTTP validator, which
        // would coerce types and stop at the schema.
        validatorCompiler: ({ schema, httpPart }) => {
          if (httpPart === 'body') return () => true;
          const validator = Compile(schema as TSchema);
          return (data: unknown) => validator.Check(data);
        },
      },
      async (request, reply) => {
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
          response: { 200: Type.Array(AnyDocument) },
        },
      },
      async (request) => {
        const { limit, skip, min_position, ...filter } = request.query;
        await awaitReadModel(queries, min_position);
        return queries.listCases(filter as Record<string, string>, { limit, skip });
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
          response: { 200: AnyDocument },
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
          response: { 200: Type.Array(Type.Object({}, { additionalProperties: true })) },
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
