import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { DOCUMENT_STATUSES, ENTITY_TYPES } from '../../cases/documents.ts';
import type { CaseCommands, CaseQueries } from '../ports.ts';
import { HttpProblem } from '../problem.ts';
import { AUTH, BODY, EVENT_STORE, PARAMETERS, problemResponses, READ_YOUR_WRITES } from '../responses.ts';
import {
  AnyDocument,
  awaitReadModel,
  commandContext,
  Id,
  notFound,
  ReadModelQuery,
  Receipt,
} from './common.ts';

const DocumentStatus = Type.Enum([...DOCUMENT_STATUSES]);

const StatusChange = Type.Object(
  {
    new_status: DocumentStatus,
    updated_by_actor_type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    updated_by_actor_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    metadata_changes: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { maxProperties: 256 })),
    notes_to_add: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 2_000 }), { maxItems: 50 }),
    ),
  },
  { additionalProperties: false },
);

const RequirementRequest = Type.Object(
  {
    case_id: Id,
    entity_id: Id,
    entity_type: Type.Enum([...ENTITY_TYPES]),
    traitement_type: Type.Optional(Type.String({ minLength: 3, maxLength: 3 })),
    case_type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    context_data: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { maxProperties: 256 })),
  },
  { additionalProperties: false },
);

/** Parses `If-Match: "3"` (or `W/"3"`, or `3`) into the document version it names. */
function ifMatchVersion(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const match = /^(?:W\/)?"?([1-9][0-9]{0,8})"?$/.exec(header.trim());
  if (!match) {
    throw new HttpProblem(400, 'request.invalid', 'If-Match must carry a document version, e.g. "3"', {
      violations: [{ path: 'headers/if-match', message: 'must be a quoted document version (the ETag)' }],
    });
  }
  return Number(match[1]);
}

export function documentRoutes(commands: CaseCommands, queries: CaseQueries) {
  return async function documents(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const tags = ['Document Requirements'];

    app.post(
      '/api/v1/documents/determine-requirements',
      {
        schema: {
          tags,
          summary: 'Determine the documents an entity of a case needs (idempotent)',
          body: RequirementRequest,
          response: {
            202: Type.Object({ ...Receipt, requirement_ids: Type.Array(Type.String()) }),
            ...problemResponses(AUTH, BODY, EVENT_STORE, {
              404: ['case.not_found', 'entity.not_found'],
              409: ['requirements.context_mismatch', 'case.busy'],
            }),
          },
        },
      },
      async (request, reply) => {
        const result = await commands.determineRequirements(request.body, commandContext(request));
        return reply.status(202).send(result);
      },
    );

    app.put(
      '/api/v1/documents/:id/status',
      {
        schema: {
          tags,
          summary: 'Move a document requirement to a new status',
          description:
            "Send `If-Match` with the ETag of GET /api/v1/documents/{id} (the document's `version`) to update only if the document has not changed since (412 `document.version_mismatch` otherwise).",
          params: Type.Object({ id: Id }),
          headers: Type.Object({
            'if-match': Type.Optional(
              Type.String({
                pattern: '^\\s*(W/)?"?[1-9][0-9]{0,8}"?\\s*$',
                description: 'The ETag (document version) this change expects, e.g. "3"',
              }),
            ),
          }),
          body: StatusChange,
          response: {
            200: Type.Object({ ...Receipt, document: AnyDocument }),
            ...problemResponses(AUTH, BODY, EVENT_STORE, {
              400: ['document.unknown_status'],
              404: ['document.not_found', 'case.not_found'],
              409: ['document.invalid_transition', 'case.busy'],
              412: ['document.version_mismatch'],
              503: ['read_model.behind'],
            }),
          },
        },
      },
      async (request, reply) => {
        const expectedVersion = ifMatchVersion(request.headers['if-match']);
        const receipt = await commands.changeDocumentStatus(request.params.id, request.body, {
          ...commandContext(request),
          ...(expectedVersion === undefined ? {} : { expectedVersion }),
        });
        await awaitReadModel(queries, receipt.position);
        const document = await queries.getDocument(request.params.id);
        if (document === undefined) throw notFound('document', request.params.id);
        reply.header('etag', `"${document.version}"`);
        return { ...receipt, document };
      },
    );

    app.get(
      '/api/v1/documents/:id',
      {
        schema: {
          tags,
          summary: 'One document requirement; its ETag is its version',
          params: Type.Object({ id: Id }),
          querystring: Type.Object(ReadModelQuery),
          response: {
            200: AnyDocument,
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES, {
              404: ['document.not_found'],
            }),
          },
        },
      },
      async (request, reply) => {
        await awaitReadModel(queries, request.query.min_position);
        const document = await queries.getDocument(request.params.id);
        if (document === undefined) throw notFound('document', request.params.id);
        // The ETag is the version of the body served, both from the same read model.
        reply.header('etag', `"${document.version}"`);
        return document;
      },
    );

    app.get(
      '/api/v1/documents/case/:case_id',
      {
        schema: {
          tags,
          summary: 'Document requirements of a case, oldest first',
          params: Type.Object({ case_id: Id }),
          querystring: Type.Object({
            ...ReadModelQuery,
            entity_id: Type.Optional(Id),
            entity_type: Type.Optional(Type.String({ maxLength: 32 })),
            status: Type.Optional(DocumentStatus),
            is_required: Type.Optional(Type.Boolean()),
          }),
          response: {
            200: Type.Array(AnyDocument),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES),
          },
        },
      },
      async (request) => {
        const { min_position, ...filter } = request.query;
        await awaitReadModel(queries, min_position);
        return queries.documentsOfCase(request.params.case_id, filter);
      },
    );
  };
}
