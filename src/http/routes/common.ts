import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import Type, { type TSchema } from 'typebox';
import type { CaseQueries, CommandContext, Page } from '../../cases/application/ports.ts';
import { HttpProblem, invalidRequest } from '../problem.ts';

export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' });

/** A `$all` position (`<commit>-<prepare>`) returned by commands; queries accept it back as `min_position`. */
export const PositionToken = Type.String({
  pattern: '^[0-9]{1,20}-[0-9]{1,20}$',
  description: 'Consistency token returned by commands: send it back as min_position to read your own write',
});

const DEFAULT_PAGE = { limit: 10, skip: 0 };

/**
 * `limit` and `skip`, optional with their defaults: the OpenAPI must not call them required when
 * the service does not. Lists that older clients read whole (documents of a case, owners of a
 * company) default to a larger page.
 */
export const pageQuery = (defaultLimit = DEFAULT_PAGE.limit) => ({
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 500, default: defaultLimit, description: 'Page size' }),
  ),
  skip: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: DEFAULT_PAGE.skip,
      description: 'Items to skip; follow the `Link: rel="next"` header rather than counting',
    }),
  ),
});
export const PageQuery = pageQuery();

/** The page a validated query asks for (the validator fills the defaults; this only types them). */
export const pageOf = (
  query: { limit?: number | undefined; skip?: number | undefined },
  defaultLimit = DEFAULT_PAGE.limit,
): Page => ({
  limit: query.limit ?? defaultLimit,
  skip: query.skip ?? DEFAULT_PAGE.skip,
});

/** The headers of every list answer, declared once for the OpenAPI. */
const PAGE_HEADERS = {
  'X-Total-Count': {
    type: 'integer',
    minimum: 0,
    description: 'How many items the whole list holds (with the same filters)',
  },
  Link: {
    type: 'string',
    description:
      'RFC 8288 links to the neighbouring pages, `<…>; rel="next"` and `<…>; rel="prev"`, each present when that page exists; absent when there is no other page',
  },
} as const;

/** The 200 declaration of a list route: an array of `items` with the paging headers. */
export function listResponse(items: TSchema, description: string) {
  return {
    description,
    headers: PAGE_HEADERS,
    content: { 'application/json': { schema: Type.Array(items) } },
  };
}

/**
 * Sets `X-Total-Count` and the RFC 8288 `Link` header of a page. Each link is the request's own
 * path and query (filters kept) with the paging parameters replaced by those given.
 */
export function setPageHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  total: number,
  links: { rel: 'next' | 'prev'; params: Record<string, number> }[],
): void {
  reply.header('x-total-count', String(total));
  const [path = '', search = ''] = request.url.split('?', 2);
  const values = links.map(({ rel, params }) => {
    const query = new URLSearchParams(search);
    for (const [name, value] of Object.entries(params)) query.set(name, String(value));
    return `<${path}?${query.toString()}>; rel="${rel}"`;
  });
  if (values.length > 0) reply.header('link', values.join(', '));
}

/** Paging headers for a `limit`/`skip` page of a list of `total` items. */
export function setOffsetPageHeaders(
  request: FastifyRequest,
  reply: FastifyReply,
  total: number,
  page: Page,
) {
  const links: { rel: 'next' | 'prev'; params: Record<string, number> }[] = [];
  if (page.skip + page.limit < total)
    links.push({ rel: 'next', params: { skip: page.skip + page.limit, limit: page.limit } });
  if (page.skip > 0) {
    links.push({ rel: 'prev', params: { skip: Math.max(0, page.skip - page.limit), limit: page.limit } });
  }
  setPageHeaders(request, reply, total, links);
}

export const ReadModelQuery = { min_position: Type.Optional(PositionToken) };

export const Receipt = {
  position: PositionToken,
  revision: Type.String({
    pattern: '^[0-9]+$',
    description: 'Revision of the case stream after the command',
  }),
};

/** A query string that names an unknown parameter is refused, so a misspelt filter never widens a list. */
export const Query = <T extends Record<string, TSchema>>(properties: T) =>
  Type.Object(properties, { additionalProperties: false });

const readModelWaitMs = 2_000;
const MAX_POSITION_PART = 2n ** 64n - 1n;

/**
 * Read-your-writes: when the client sends back the position its command returned, wait briefly
 * for the read models to reach it; if they do not, say so instead of serving stale data.
 */
export async function awaitReadModel(
  queries: Pick<CaseQueries, 'waitForPosition'>,
  minPosition: string | undefined,
): Promise<void> {
  if (minPosition === undefined) return;
  // Twenty digits can exceed what a log position holds (64 bits): refused, never passed on.
  if (minPosition.split('-').some((part) => BigInt(part) > MAX_POSITION_PART)) {
    throw invalidRequest([
      { path: 'querystring/min_position', message: 'holds a number larger than a log position can be' },
    ]);
  }
  if (await queries.waitForPosition(minPosition, readModelWaitMs)) return;
  throw new HttpProblem(
    503,
    'read_model.behind',
    'The read models have not reached the requested position yet',
    { detail: `min_position ${minPosition} not reached within ${readModelWaitMs} ms; retry shortly.` },
    { 'retry-after': '1' },
  );
}

/** Builds the command context from the request: caller as actor, request id as correlation id. */
export function commandContext(request: FastifyRequest, idempotencyKey?: string): CommandContext {
  const traceparent = request.headers.traceparent;
  const correlation = request.headers['x-correlation-id'];
  return {
    idempotencyKey: idempotencyKey ?? randomUUID(),
    actor: request.caller.name,
    correlationId: typeof correlation === 'string' && correlation !== '' ? correlation : request.id,
    ...(typeof traceparent === 'string' ? { traceparent } : {}),
  };
}

export function notFound(what: string, id: string): HttpProblem {
  const code = `${what}.not_found`;
  return new HttpProblem(404, code, `No ${what.replace('_', ' ')} with id "${id}"`);
}
