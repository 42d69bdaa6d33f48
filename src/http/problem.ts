import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../eventsourcing/core/errors.ts';

/** One broken rule of a request: where (JSON pointer, prefixed by the part of the request) and why. */
export type Violation = { path: string; message: string };

/** RFC 9457 problem details, plus a stable `code` clients can switch on. */
export type Problem = {
  type: string;
  title: string;
  status: number;
  code: string;
  detail?: string;
  violations?: Violation[];
  [extension: string]: unknown;
};

/** An error that already knows its HTTP answer. */
export class HttpProblem extends Error {
  readonly problem: Problem;
  constructor(status: number, code: string, title: string, extra: Partial<Problem> = {}) {
    super(extra.detail ?? title);
    this.problem = { type: `urn:kyc-case-service:problem:${code}`, title, status, code, ...extra };
  }
}

/** Maps stable domain error codes to HTTP statuses; anything unlisted is a 422. */
const domainStatus: Record<string, number> = {
  'intake.invalid': 400,
  'document.unknown_status': 400,
  'case.not_found': 404,
  'document.not_found': 404,
  'entity.not_found': 404,
  'case.already_exists': 409,
  'case.busy': 409,
  'intake.idempotency_key_reused': 409,
  'document.invalid_transition': 409,
  'requirements.context_mismatch': 409,
  'projection.not_stopped_at_event': 409,
  'revision.mismatch': 412,
  'document.version_mismatch': 412,
  'read.position_beyond_head': 400,
  'eventstore.unavailable': 503,
};

type AjvError = { instancePath?: string; message?: string; params?: Record<string, unknown> };

function violationsOf(error: FastifyError): Violation[] {
  const context = error.validationContext ?? 'body';
  return ((error.validation ?? []) as AjvError[]).map((item) => {
    const missing = item.params?.missingProperty;
    const extra = item.params?.additionalProperty;
    const tail = typeof missing === 'string' ? `/${missing}` : typeof extra === 'string' ? `/${extra}` : '';
    return { path: `${context}${item.instancePath ?? ''}${tail}`, message: item.message ?? 'is invalid' };
  });
}

/** A 400 naming every violation, the same shape as the HTTP validator's. */
export function invalidRequest(violations: Violation[]): HttpProblem {
  return new HttpProblem(400, 'request.invalid', 'The request is invalid', {
    detail: `${violations.length} violation(s): ${violations.map((v) => `${v.path} ${v.message}`).join('; ')}`,
    violations,
  });
}

export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply.status(problem.status).type('application/problem+json').send(problem);
}

/** The one error handler: every failure leaves as problem+json with a stable code. */
export function problemErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  if (error instanceof HttpProblem) return sendProblem(reply, error.problem);
  if (error.validation) return sendProblem(reply, invalidRequest(violationsOf(error)).problem);
  if (error instanceof DomainError) {
    const retryAfter = error.details.retry_after_seconds;
    if (typeof retryAfter === 'number') reply.header('retry-after', String(retryAfter));
    return sendProblem(reply, {
      type: `urn:kyc-case-service:problem:${error.code}`,
      title: error.message,
      status: domainStatus[error.code] ?? 422,
      code: error.code,
      ...error.details,
    });
  }
  const status = error.statusCode ?? 500;
  if (status >= 500) request.log.error({ err: error }, 'request failed');
  return sendProblem(reply, {
    type: `urn:kyc-case-service:problem:${status >= 500 ? 'internal' : 'request.rejected'}`,
    title: status >= 500 ? 'Internal error' : error.message,
    status,
    code: status >= 500 ? 'internal' : (error.code ?? 'request.rejected').toLowerCase(),
  });
}
