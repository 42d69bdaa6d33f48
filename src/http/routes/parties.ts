import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { CaseQueries } from '../ports.ts';
import { AUTH, PARAMETERS, problemResponses, READ_YOUR_WRITES } from '../responses.ts';
import { AnyDocument, awaitReadModel, Id, notFound, PageQuery, pageOf, ReadModelQuery } from './common.ts';

/** Persons, companies and their beneficial owners: read-only views of what cases recorded. */
export function partyRoutes(queries: CaseQueries) {
  return async function parties(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/v1/persons/case/:case_id',
      {
        schema: {
          tags: ['Persons'],
          summary: 'Persons of a case (KYC individuals and KYB directors and role holders), oldest first',
          params: Type.Object({ case_id: Id }),
          querystring: Type.Object({ ...PageQuery, ...ReadModelQuery }),
          response: {
            200: Type.Array(AnyDocument),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES),
          },
        },
      },
      async (request) => {
        const { min_position, limit, skip } = request.query;
        await awaitReadModel(queries, min_position);
        return queries.personsOfCase(request.params.case_id, pageOf({ limit, skip }));
      },
    );

    app.get(
      '/api/v1/companies/:company_id',
      {
        schema: {
          tags: ['Companies'],
          summary: 'A company profile (KYB)',
          params: Type.Object({ company_id: Id }),
          querystring: Type.Object(ReadModelQuery),
          response: {
            200: AnyDocument,
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES, { 404: ['company.not_found'] }),
          },
        },
      },
      async (request) => {
        await awaitReadModel(queries, request.query.min_position);
        const company = await queries.getCompany(request.params.company_id);
        if (company === undefined) throw notFound('company', request.params.company_id);
        return company;
      },
    );

    app.get(
      '/api/v1/companies/:company_id/beneficial-owners',
      {
        schema: {
          tags: ['Companies'],
          summary: 'Beneficial owners of a company',
          params: Type.Object({ company_id: Id }),
          querystring: Type.Object(ReadModelQuery),
          response: {
            200: Type.Array(AnyDocument),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES, { 404: ['company.not_found'] }),
          },
        },
      },
      async (request) => {
        await awaitReadModel(queries, request.query.min_position);
        if ((await queries.getCompany(request.params.company_id)) === undefined) {
          throw notFound('company', request.params.company_id);
        }
        return queries.ownersOfCompany(request.params.company_id);
      },
    );

    app.get(
      '/api/v1/events/raw',
      {
        schema: {
          tags: ['Events'],
          summary: 'Every intake received (Kafka or HTTP), valid or not, with its outcome; newest first',
          querystring: Type.Object({ ...PageQuery, ...ReadModelQuery }),
          response: {
            200: Type.Array(AnyDocument),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES),
          },
        },
      },
      async (request) => {
        const { min_position, limit, skip } = request.query;
        await awaitReadModel(queries, min_position);
        return queries.rawIntake(pageOf({ limit, skip }));
      },
    );
  };
}
