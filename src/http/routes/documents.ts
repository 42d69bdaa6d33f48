import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { CaseCommands, CaseQueries } from '../../cases/application/ports.ts';
import { ENTITY_TYPES } from '../../cases/documents.ts';
import { HttpProblem } from '../problem.ts';
import { AUTH, BODY, EVENT_STORE, PARAMETERS, problemResponses, READ_YOUR_WRITES } from '../responses.ts';
import { DocumentStatus, EntityType, ref } from '../schemas.ts';
import {
  awaitReadModel,
  commandContext,
  Id,
  listResponse,
  notFound,
  pageOf,
  pageQuery,
  Query,
  ReadModelQuery,
  Receipt,
  setOffsetPageHeaders,
} from './common.ts';

/** Documents of a case are read whole by older clients: a larger default page. */
const DOCUMENTS_PAGE_LIMIT = 100;

/** Named examples of PUT …/status, each a valid transition (src/cases/documents.ts). */
const STATUS_CHANGE_EXAMPLES = {
  upload: {
    summary: 'AWAITING_UPLOAD → UPLOADED: a file arrived',
    value: {
      new_status: 'UPLOADED',
      updated_by_actor_type: 'USER',
      updated_by_actor_id: 'analyst-042',
      metadata_changes: { file_reference: 'files/2026/passport-john-doe.pdf', mime_type: 'application/pdf' },
      notes_to_add: ['Passport scan received from the client portal'],
    },
  },
  verify_manual: {
    summary: 'UPLOADED → VERIFIED_MANUAL: checked by a person',
    value: {
      new_status: 'VERIFIED_MANUAL',
      updated_by_actor_type: 'USER',
      updated_by_actor_id: 'analyst-042',
      notes_to_add: ['Photo, name and birth date match the intake; document valid until 2031'],
    },
  },
  verify_system: {
    summary: 'UPLOADED → VERIFIED_SYSTEM: checked by a machine',
    value: {
      new_status: 'VERIFIED_SYSTEM',
      updated_by_actor_type: 'SYSTEM',
      updated_by_actor_id: 'document-checker',
      metadata_changes: { check_reference: 'chk-7f3a', score: 0.97 },
    },
  },
  reject: {
    summary: 'UPLOADED (or VERIFIED_SYSTEM) → REJECTED, with the reason',
    value: {
      new_status: 'REJECTED',
      updated_by_actor_type: 'USER',
      updated_by_actor_id: 'analyst-042',
      metadata_changes: { rejection_reason: 'EXPIRED' },
      notes_to_add: ['The passport expired on 2024-05-31; ask the client for a valid one'],
    },
  },
  waive: {
    summary: 'AWAITING_UPLOAD (or REJECTED) → NOT_APPLICABLE: waived',
    value: {
      new_status: 'NOT_APPLICABLE',
      updated_by_actor_type: 'USER',
      updated_by_actor_id: 'compliance-officer-3',
      notes_to_add: ['Waived: proof of address was already verified in the previous case'],
    },
  },
  reopen: {
    summary: 'NOT_APPLICABLE → AWAITING_UPLOAD: the waiver was a mistake',
    value: {
      new_status: 'AWAITING_UPLOAD',
      updated_by_actor_type: 'USER',
      updated_by_actor_id: 'compliance-officer-3',
      notes_to_add: ['Waiver withdrawn: the policy requires a fresh document'],
    },
  },
};

const ETAG_HEADER = {
  ETag: { type: 'string', description: 'The document’s version, quoted: send it back as If-Match' },
} as const;

const StatusChange = Type.Object(
  {
    new_status: Type.Enum(DocumentStatus.enum, {
      description:
        'Allowed moves: AWAITING_UPLOAD → UPLOADED | NOT_APPLICABLE; UPLOADED → VERIFIED_SYSTEM | VERIFIED_MANUAL | REJECTED; VERIFIED_SYSTEM → VERIFIED_MANUAL | REJECTED; REJECTED → UPLOADED | NOT_APPLICABLE; NOT_APPLICABLE → AWAITING_UPLOAD. VERIFIED_MANUAL is final.',
    }),
    updated_by_actor_type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    updated_by_actor_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
    metadata_changes: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { maxProperties: 256 })),
    notes_to_add: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 2_000 }), { maxItems: 50 }),
    ),
  },
  { additionalProperties: false, 'x-examples': STATUS_CHANGE_EXAMPLES },
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
  {
    additionalProperties: false,
    'x-examples': {
      person: {
        summary: 'Documents the KYC individual of a case needs',
        value: {
          case_id: '6f1d2c3b-8a4e-5f60-9b7c-1d2e3f405162',
          entity_id: '0a1b2c3d-4e5f-5061-8273-94a5b6c7d8e9',
          entity_type: 'PERSON',
        },
      },
    },
  },
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
          operationId: 'determineRequirements',
          tags,
          summary: 'Determine the documents an entity of a case needs (idempotent)',
          body: RequirementRequest,
          response: {
            202: Type.Object(
              { ...Receipt, requirement_ids: Type.Array(Type.String()) },
              { additionalProperties: false },
            ),
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
          operationId: 'changeDocumentStatus',
          tags,
          summary: 'Move a document requirement to a new status',
          description:
            "Moves along the transition table (see the `new_status` field); any other move is 409 `document.invalid_transition` naming the allowed targets. Setting the current status again is a no-op: nothing is written, and notes or metadata sent with it are ignored. Send `If-Match` with the ETag of GET /api/v1/documents/{id} (the document's `version`) to update only if the document has not changed since (412 `document.version_mismatch` otherwise).",
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
            200: {
              description: 'The document after the change',
              headers: ETAG_HEADER,
              content: {
                'application/json': {
                  schema: Type.Object(
                    { ...Receipt, document: ref('DocumentRequirementDocument') },
                    { additionalProperties: false },
                  ),
                },
              },
            },
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
          operationId: 'getDocument',
          tags,
          summary: 'One document requirement; its ETag is its version',
          params: Type.Object({ id: Id }),
          querystring: Query(ReadModelQuery),
          response: {
            200: {
              description: 'The document requirement',
              headers: ETAG_HEADER,
              content: { 'application/json': { schema: ref('DocumentRequirementDocument') } },
            },
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
          operationId: 'listCaseDocuments',
          tags,
          summary: 'Document requirements of a case, oldest first',
          params: Type.Object({ case_id: Id }),
          querystring: Query({
            ...pageQuery(DOCUMENTS_PAGE_LIMIT),
            ...ReadModelQuery,
            entity_id: Type.Optional(Id),
            entity_type: Type.Optional(EntityType),
            status: Type.Optional(DocumentStatus),
            is_required: Type.Optional(Type.Boolean()),
          }),
          response: {
            200: listResponse(
              ref('DocumentRequirementDocument'),
              'A page of the case’s document requirements',
            ),
            ...problemResponses(AUTH, PARAMETERS, READ_YOUR_WRITES, { 404: ['case.not_found'] }),
          },
        },
      },
      async (request, reply) => {
        const { min_position, limit, skip, ...filter } = request.query;
        await awaitReadModel(queries, min_position);
        if ((await queries.getCase(request.params.case_id)) === undefined) {
          throw notFound('case', request.params.case_id);
        }
        const page = pageOf({ limit, skip }, DOCUMENTS_PAGE_LIMIT);
        const found = await queries.documentsOfCase(request.params.case_id, filter, page);
        setOffsetPageHeaders(request, reply, found.total, page);
        return found.items;
      },
    );
  };
}
