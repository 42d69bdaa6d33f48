import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { TIMELINE_CATEGORIES } from '../../../projections/timeline.ts';
import type { CaseQueries } from '../../cases/application/ports.ts';
import { AUTH, PARAMETERS, problemResponses, READ_YOUR_WRITES } from '../responses.ts';
import { ref } from '../schemas.ts';
import {
  awaitReadModel,
  Id,
  listResponse,
  notFound,
  pageOf,
  pageQuery,
  Query,
  ReadModelQuery,
  setOffsetPageHeaders,
} from './common.ts';

/** A case's story is read whole more often than not: a larger default page. */
const TIMELINE_PAGE_LIMIT = 200;

/** The audit timeline of a case, from its read model. */
export function timelineRoutes(queries: CaseQueries) {
  return async function timeline(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();

    app.get(
      '/api/v1/cases/:case_id/timeline',
      {
        schema: {
          operationId: 'getCaseTimeline',
          tags: ['Cases'],
          summary:
            'The audit timeline of a case: every change and every read of its personal data, oldest first',
          description:
            'One entry per event: who (`actor`), when (`at`), what (`summary`, `subject`, `before`, `after`) and why (`reason_codes`, `comment`, `why`). Intake, parties, document requirements and status changes, case status, assignments, risk ratings, decisions and notifications come from the case stream; reads of personal data (category `access`) from the case’s access stream, recorded in batches a moment after the read. Entries name people by id only.',
          params: Type.Object({ case_id: Id }),
          querystring: Query({
            category: Type.Optional(
              Type.Enum([...TIMELINE_CATEGORIES], { description: 'Only entries of this kind' }),
            ),
            ...pageQuery(TIMELINE_PAGE_LIMIT),
            ...ReadModelQuery,
          }),
          response: {
            200: listResponse(ref('TimelineEntry'), 'A page of the case’s timeline'),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES, { 404: ['case.not_found'] }),
          },
        },
      },
      async (request, reply) => {
        const { min_position, limit, skip, category } = request.query;
        await awaitReadModel(queries, min_position);
        if ((await queries.getCase(request.params.case_id)) === undefined) {
          throw notFound('case', request.params.case_id);
        }
        const page = pageOf({ limit, skip }, TIMELINE_PAGE_LIMIT);
        const found = await queries.timelineOfCase(
          request.params.case_id,
          category === undefined ? {} : { category },
          page,
        );
        setOffsetPageHeaders(request, reply, found.total, page);
        return found.items;
      },
    );
  };
}
