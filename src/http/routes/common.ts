import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import Type from 'typebox';
import type { CaseQueries, CommandContext } from '../ports.ts';
import { HttpProblem } from '../problem.ts';

export const Id = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_.:-]+$' });

/** A `$all` position (`<commit>-<prepare>`) returned by commands; queries accept it back as `min_position`. */
export const PositionToken = Type.String({
  pattern: '^[0-9]{1,20}-[0-9]{1,20}$',
  description: 'Consistency token returned by commands: send it back as min_position to read your own write',
});

export const PageQuery = {
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 10 }),
  skip: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
};

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

/**
 * Read-your-writes: when the client sends back the position its command returned, wait briefly
 * for the read models to reach it; if they do not, say so instead of serving stale data.
 */
export async function awaitReadModel(queries: CaseQueries, minPosition: string | undefined): Promise<void> {
  if (minPosition === undefined) return;
  if (await queries.waitForPosition(minPosition, readModelWaitMs)) return;
  throw new HttpProblem(
    503,
    'read_model.behind',
    'The read models have not reached the requested position yet',
    {
      detail: `min_position ${minPosition} not reached within ${readModelWaitMs} ms; retry shortly.`,
    },
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

export const ProblemResponse = Type.Object(
  { type: Type.String(), title: Type.String(), status: Type.Integer(), code: Type.String() },
  { additionalProperties: true },
);
