import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { CaseCommands, CaseQueries, Doc, Paged } from '../../cases/application/ports.ts';
import { recordPersonalDataRead } from '../personal-data.ts';
import type { AccessLog, PersonalDataAccess } from '../ports.ts';
import { HttpProblem } from '../problem.ts';
import { AUTH, EVENT_STORE, PARAMETERS, problemResponses } from '../responses.ts';
import { ref } from '../schemas.ts';
import { Id, notFound } from './common.ts';
import { type ErasureOperations, ErasureView } from './erasure.ts';

/** Pages read to gather a whole list: the largest page the stores serve. */
const PAGE = 500;

async function everything(read: (page: { limit: number; skip: number }) => Promise<Paged>): Promise<Doc[]> {
  const all: Doc[] = [];
  for (let skip = 0; ; skip += PAGE) {
    const page = await read({ limit: PAGE, skip });
    all.push(...page.items);
    if (page.items.length < PAGE || all.length >= page.total) return all;
  }
}

const AnyDocs = (name: Parameters<typeof ref>[0]) => Type.Array(ref(name));

/**
 * The data export for authorities while retention runs: everything the service holds on one case,
 * decrypted — its events as stored (personal fields opened) and its read models — in one JSON
 * document. Approvers and admins only; the read is recorded in the personal-data access log like
 * any other. Once the case's personal data is erased there is nothing to export: 410.
 */
export function caseExportRoutes(
  commands: Pick<CaseCommands, 'caseEvents'>,
  queries: CaseQueries,
  erasure: Pick<ErasureOperations, 'status'>,
  access: AccessLog,
) {
  return async function caseExport(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    app.get(
      '/api/v1/cases/:case_id/export',
      {
        config: { role: 'approver' as const },
        schema: {
          operationId: 'exportCase',
          tags: ['Retention and erasure'],
          summary: 'Everything held on a case, decrypted, for an authority: events and read models',
          description:
            'For requests from authorities while the case is retained. The read is recorded in the personal-data access log. Refused with 410 once the case’s personal data is erased.',
          params: Type.Object({ case_id: Id }),
          response: {
            200: {
              description: 'The case export',
              content: {
                'application/json': {
                  schema: Type.Object({
                    export_version: Type.Literal(1),
                    case_id: Type.String(),
                    exported_at: Type.String({ format: 'date-time' }),
                    exported_by: Type.String(),
                    erasure: ErasureView,
                    case: ref('CaseDocument'),
                    company: Type.Union([ref('CompanyDocument'), Type.Null()]),
                    persons: AnyDocs('PersonDocument'),
                    beneficial_owners: AnyDocs('BeneficialOwnerDocument'),
                    documents: AnyDocs('DocumentRequirementDocument'),
                    events: AnyDocs('CaseEvent'),
                  }),
                },
              },
            },
            ...problemResponses(AUTH, PARAMETERS, EVENT_STORE, {
              404: ['case.not_found'],
              409: ['retention.erasure_under_way'],
              410: ['case.erased'],
            }),
          },
        },
      },
      async (request) => {
        const caseId = request.params.case_id;
        const found = await queries.getCase(caseId);
        if (found === undefined) throw notFound('case', caseId);
        const retention = await erasure.status(caseId);
        if (retention.status === 'completed') {
          throw new HttpProblem(410, 'case.erased', 'The personal data of this case has been erased', {
            detail: `case ${caseId} was erased at ${retention.completed_at}; its certificate is at /api/v1/cases/${caseId}/erasure`,
          });
        }
        if (retention.status === 'executing') {
          throw new HttpProblem(409, 'retention.erasure_under_way', 'The erasure of this case is under way');
        }
        const companyId = typeof found.company_id === 'string' ? found.company_id : null;
        const [company, persons, owners, documents, events] = await Promise.all([
          companyId === null ? undefined : queries.getCompany(companyId),
          everything((page) => queries.personsOfCase(caseId, page)),
          companyId === null ? [] : everything((page) => queries.ownersOfCompany(companyId, page)),
          everything((page) => queries.documentsOfCase(caseId, {}, page)),
          everything(async ({ limit, skip }) => {
            const page = await commands.caseEvents(caseId, { fromRevision: skip, limit });
            return { items: (page?.items ?? []) as Doc[], total: page?.total ?? 0 };
          }),
        ]);
        const subjects: PersonalDataAccess['subjects'] = [
          { type: 'CASE', id: caseId },
          ...persons.map((person) => ({ type: 'PERSON' as const, id: person.id })),
          ...owners.map((owner) => ({ type: 'BENEFICIAL_OWNER' as const, id: owner.id })),
        ];
        recordPersonalDataRead(access, request, caseId, subjects);
        return {
          export_version: 1 as const,
          case_id: caseId,
          exported_at: new Date().toISOString(),
          exported_by: request.caller.name,
          erasure: retention,
          case: found,
          company: company ?? null,
          persons,
          beneficial_owners: owners,
          documents,
          events,
        };
      },
    );
  };
}
