import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { CaseQueries, CommandContext, Page } from '../ports.ts';
import { HttpProblem, invalidRequest } from '../problem.ts';

export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' });

/** A `$all` position (`<commit>-<prepare>`) returned by commands; queries accept it back as `min_position`. */
export const PositionToken = Type.String({
  pattern: '^[0-9]{1,20}-[0-9]{1,20}$',
  description: 'Consistency token returned by commands: send it back as min_position to read your own write',
});

const DEFAULT_PAGE = { limit: 10, skip: 0 };

/** Optional with defaults: the OpenAPI must not call them required when the service does not. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: DEFAULT_PAGE.limit })),
  skip: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000, default: DEFAULT_PAGE.skip })),
};

/** The page a validated query asks for (the validator fills the defaults; this only types them). */
export const pageOf = (query: { limit?: number | undefined; skip?: number | undefined }): Page => ({
  limit: query.limit ?? DEFAULT_PAGE.limit,
  skip: query.skip ?? DEFAULT_PAGE.skip,
});

export const ReadModelQuery = { min_position: Type.Optional(PositionToken) };

export const Receipt = {
  position: PositionToken,
  revision: Type.String({
    pattern: '^[0-9]+$',
    description: 'Revision of the case stream after the command',
  }),
};

export const AnyDocument = Type.Object({ id: Type.String() }, { additionalProperties: true });

const readModelWaitMs = 2_000;
const MAX_POSITION_PART = 2n ** 64n - 1n;

/**
 * Read-your-writes: when the client sends back the position its command returned, wait briefly
 * for the read models to reach it; if they do not, say so instead of serving stale data.
 */
export async function awaitReadModel(queries: CaseQueries, minPosition: string | undefined): Promise<void> {
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
