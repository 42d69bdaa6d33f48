import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { CaseQueries } from '../../cases/application/ports.ts';
import { recordPersonalDataRead } from '../personal-data.ts';
import type { AccessLog } from '../ports.ts';
import { AUTH, PARAMETERS, problemResponses, READ_YOUR_WRITES } from '../responses.ts';
import { ref } from '../schemas.ts';
import {
  awaitReadModel,
  Id,
  listResponse,
  notFound,
  PageQuery,
  pageOf,
  pageQuery,
  Query,
  ReadModelQuery,
  setOffsetPageHeaders,
} from './common.ts';

/** Owners of a company are read whole by older clients: a larger default page. */
const OWNERS_PAGE_LIMIT = 100;

/**
 * Persons, companies and their beneficial owners: read-only views of what cases recorded. Every
 * answer holding names of people (persons, owners, raw intake) is reported to `access`.
 */
export function partyRoutes(queries: CaseQueries, access: AccessLog) {
  return async function parties(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/v1/persons/case/:case_id',
      {
        schema: {
          operationId: 'listCasePersons',
          tags: ['Persons'],
          summary: 'Persons of a case (KYC individuals and KYB directors and role holders), oldest first',
          params: Type.Object({ case_id: Id }),
          querystring: Query({ ...PageQuery, ...ReadModelQuery }),
          response: {
            200: listResponse(ref('PersonDocument'), 'A page of the case’s persons'),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES, { 404: ['case.not_found'] }),
          },
        },
      },
      async (request, reply) => {
        const { min_position, limit, skip } = request.query;
        await awaitReadModel(queries, min_position);
        if ((await queries.getCase(request.params.case_id)) === undefined) {
          throw notFound('case', request.params.case_id);
        }
        const page = pageOf({ limit, skip });
        const found = await queries.personsOfCase(request.params.case_id, page);
        setOffsetPageHeaders(request, reply, found.total, page);
        recordPersonalDataRead(
          access,
          request,
          request.params.case_id,
          found.items.map((person) => ({ type: 'PERSON', id: person.id })),
        );
        return found.items;
      },
    );

    app.get(
      '/api/v1/companies/:company_id',
      {
        schema: {
          operationId: 'getCompany',
          tags: ['Companies'],
          summary: 'A company profile (KYB)',
          params: Type.Object({ company_id: Id }),
          querystring: Query(ReadModelQuery),
          response: {
            200: ref('CompanyDocument'),
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
          operationId: 'listBeneficialOwners',
          tags: ['Companies'],
          summary: 'Beneficial owners of a company',
          params: Type.Object({ company_id: Id }),
          querystring: Query({ ...pageQuery(OWNERS_PAGE_LIMIT), ...ReadModelQuery }),
          response: {
            200: listResponse(ref('BeneficialOwnerDocument'), 'A page of the company’s beneficial owners'),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES, { 404: ['company.not_found'] }),
          },
        },
      },
      async (request, reply) => {
        const { min_position, limit, skip } = request.query;
        await awaitReadModel(queries, min_position);
        const company = await queries.getCompany(request.params.company_id);
        if (company === undefined) throw notFound('company', request.params.company_id);
        const page = pageOf({ limit, skip }, OWNERS_PAGE_LIMIT);
        const found = await queries.ownersOfCompany(request.params.company_id, page);
        setOffsetPageHeaders(request, reply, found.total, page);
        recordPersonalDataRead(
          access,
          request,
          String(company.case_id),
          found.items.map((owner) => ({ type: 'BENEFICIAL_OWNER', id: owner.id })),
        );
        return found.items;
      },
    );

    app.get(
      '/api/v1/events/raw',
      {
        schema: {
          operationId: 'listRawIntake',
          tags: ['Events'],
          summary: 'Every intake received (Kafka or HTTP), valid or not, with its outcome; newest first',
          querystring: Query({ ...PageQuery, ...ReadModelQuery }),
          response: {
            200: listResponse(ref('RawIntakeDocument'), 'A page of the intake audit'),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES),
          },
        },
      },
      async (request, reply) => {
        const { min_position, limit, skip } = request.query;
        await awaitReadModel(queries, min_position);
        const page = pageOf({ limit, skip });
        const found = await queries.rawIntake(page);
        setOffsetPageHeaders(request, reply, found.total, page);
        // A payload holds the names of the case's people: one record per case served.
        const cases = new Set(
          found.items.flatMap((item) => (typeof item.case_id === 'string' ? [item.case_id] : [])),
        );
        for (const caseId of cases)
          recordPersonalDataRead(access, request, caseId, [{ type: 'CASE', id: caseId }]);
        return found.items;
      },
    );
  };
}
