import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { INPUT_LIMITS } from '../cases/limits.ts';
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

/** The one schema of every error body; the OpenAPI declares it for each error status of each route. */
export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'urn:kyc-case-service:problem:<code>' }),
    title: Type.String(),
    status: Type.Integer({ minimum: 400, maximum: 599 }),
    code: Type.String({ description: 'Stable error code clients can switch on' }),
    detail: Type.Optional(Type.String()),
    violations: Type.Optional(
      Type.Array(
        Type.Object({
          path: Type.String({
            description: 'Part of the request, then a JSON pointer: body/persons/0/lastname',
          }),
          message: Type.String(),
        }),
      ),
    ),
  },
  { additionalProperties: true, description: 'RFC 9457 problem details; extension members vary by code' },
);

/** An error that already knows its HTTP answer; `headers` go on the response, not in the body. */
export class HttpProblem extends Error {
  readonly problem: Problem;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    status: number,
    code: string,
    title: string,
    extra: Partial<Problem> = {},
    headers: Record<string, string> = {},
  ) {
    super(extra.detail ?? title);
    const base = { type: `urn:kyc-case-service:problem:${code}`, title, status, code };
    // Spread twice: the fixed members come first in the body and cannot be overridden by extras.
    this.problem = { ...base, ...extra, ...base };
    this.headers = headers;
  }
}

/** Maps stable domain error codes to HTTP statuses; anything unlisted is a 422. */
const domainStatus: Record<string, number> = {
  'intake.invalid': 400,
  'document.unknown_status': 400,
  'review.reason_code_invalid': 400,
  'review.unknown_decision': 400,
  'review.information_unspecified': 400,
  'review.requested_document_not_found': 400,
  'risk.unknown_rating': 400,
  'case.invalid_transition': 409,
  'review.documents_outstanding': 409,
  'review.already_approved': 409,
  'review.own_override': 409,
  'read.position_beyond_head': 400,
  'case.not_found': 404,
  'document.not_found': 404,
  'entity.not_found': 404,
  'case.already_exists': 409,
  'case.busy': 409,
  'intake.idempotency_key_reused': 409,
  'document.invalid_transition': 409,
  'requirements.context_mismatch': 409,
  'projection.not_stopped_at_event': 409,
  'processor.not_failed_at_event': 409,
  'processor.rebuild_not_supported': 409,
  'revision.mismatch': 412,
  'document.version_mismatch': 412,
  'eventstore.unavailable': 503,
  // Personal data: no new data for an erased subject; a stored ciphertext that fails
  // authentication is the service's fault (or an attacker's), never the client's.
  'personal_data.subject_erased': 409,
  'personal_data.tampered': 500,
  'retention.hold_not_found': 404,
  'retention.own_hold': 409,
  'retention.relationship_already_ended': 409,
  'retention.erasure_under_way': 409,
  'retention.relationship_active': 409,
  'retention.invalid_date': 400,
  'erasure.reason_not_allowed': 400,
  'subject.not_found': 404,
};

/** Seconds a client is told to wait when the event store is unavailable and did not say. */
const DEFAULT_RETRY_AFTER_SECONDS = 5;

/**
 * Fastify's own refusals, under our codes: its FST_ERR_* names are not part of the contract.
 * Unlisted 4xx errors become `request.rejected` with fastify's status.
 */
const frameworkCodes: Record<string, { status: number; code: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'request.too_large' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'request.unsupported_media_type' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'request.invalid_content_length' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'request.invalid_json' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'request.invalid_json' },
  FST_ERR_BAD_URL: { status: 400, code: 'request.bad_url' },
};

type AjvError = { instancePath?: string; message?: string; params?: Record<string, unknown> };

function violationsOf(error: FastifyError): Violation[] {
  const context = error.validationContext ?? 'body';
  return ((error.validation ?? []) as AjvError[]).map((item) => {
    const missing = item.params?.missingProperty;
    const extra = item.params?.additionalProperty;
    const tail = typeof missing === 'string' ? `/${missing}` : typeof extra === 'string' ? `/${extra}` : '';
    return { path: `${context}${item.instancePath ?? ''}${tail}`, message: messageOf(item, context) };
  });
}

/** The validator's message, made to say what would have been accepted where it can. */
function messageOf(item: AjvError, context: string): string {
  const allowed = item.params?.allowedValues;
  if (Array.isArray(allowed)) {
    return `must be one of: ${allowed.map((value) => (typeof value === 'string' ? value : JSON.stringify(value))).join(', ')}`;
  }
  if (typeof item.params?.additionalProperty === 'string') {
    return context === 'querystring' ? 'is not a parameter of this route' : 'is not a known field';
  }
  return item.message ?? 'is invalid';
}

/** A request may not make its own error unbounded: the first 50 violations are named. */
const MAX_VIOLATIONS = 50;

/** A 400 naming every violation (up to 50), the same shape as the HTTP validator's. */
export function invalidRequest(violations: Violation[], code = 'request.invalid'): HttpProblem {
  const shown = violations.slice(0, MAX_VIOLATIONS);
  const more = violations.length > shown.length ? ` (the first ${shown.length} are listed)` : '';
  return new HttpProblem(400, code, 'The request is invalid', {
    detail: `${violations.length} violation(s)${more}: ${shown.map((v) => `${v.path} ${v.message}`).join('; ')}`,
    violations: shown,
  });
}

// Domain details may carry bigints (revisions); a problem must never fail to serialise.
const jsonSafe = (_key: string, value: unknown) => (typeof value === 'bigint' ? value.toString() : value);

/** Sends a problem already serialised, so no route's response schema can reshape or reject it. */
export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply
    .status(problem.status)
    .type('application/problem+json; charset=utf-8')
    .send(JSON.stringify(problem, jsonSafe));
}

/** The problem (and response headers) for any error a request can raise. */
export function problemFor(error: unknown): { problem: Problem; headers: Record<string, string> } {
  if (error instanceof HttpProblem) return { problem: error.problem, headers: { ...error.headers } };
  if (error instanceof DomainError) return domainProblem(error);
  const fastifyError = error as Partial<FastifyError>;
  if (fastifyError.validation) {
    return { problem: invalidRequest(violationsOf(fastifyError as FastifyError)).problem, headers: {} };
  }
  const known = frameworkCodes[fastifyError.code ?? ''];
  const status = known?.status ?? fastifyError.statusCode ?? 500;
  if (status < 400 || status >= 500) {
    return {
      problem: {
        type: 'urn:kyc-case-service:problem:internal',
        title: 'Internal error',
        status: 500,
        code: 'internal',
        detail: 'The failure is logged with this request id; it is not the caller’s fault.',
      },
      headers: {},
    };
  }
  const code = known?.code ?? 'request.rejected';
  const message = typeof fastifyError.message === 'string' ? fastifyError.message : 'Rejected';
  return {
    problem: {
      type: `urn:kyc-case-service:problem:${code}`,
      title: message,
      status,
      code,
      ...(status === 400 ? { violations: [{ path: 'body', message }] } : {}),
      ...(status === 413 ? { detail: `A body may have at most ${INPUT_LIMITS.maxBytes} bytes.` } : {}),
      ...(status === 415 ? { detail: 'Send the body as application/json in UTF-8.' } : {}),
    },
    headers: {},
  };
}

function domainProblem(error: DomainError): { problem: Problem; headers: Record<string, string> } {
  const status = domainStatus[error.code] ?? 422;
  const base = {
    type: `urn:kyc-case-service:problem:${error.code}`,
    title: error.message,
    status,
    code: error.code,
  };
  const problem: Problem = { ...base, ...error.details, ...base };
  const headers: Record<string, string> = {};
  if (error.code === 'eventstore.unavailable') {
    const given = Number(error.details.retry_after_seconds);
    const seconds = Number.isInteger(given) && given > 0 ? given : DEFAULT_RETRY_AFTER_SECONDS;
    headers['retry-after'] = String(seconds);
    problem.retry_after_seconds = seconds;
    problem.detail ??= `The event store cannot be reached; nothing was written. Retry in ${seconds} s.`;
  }
  if (error.code === 'read.position_beyond_head' && !Array.isArray(problem.violations)) {
    problem.violations = [
      {
        path: 'querystring/min_position',
        message: 'names a position past the end of the event log; send back a position a command returned',
      },
    ];
  }
  return { problem, headers };
}

/** The one error handler: every failure leaves as problem+json with a stable code. */
export function problemErrorHandler(
  error: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const { problem, headers } = problemFor(error);
  // A bug is an error; a dependency that is away (503) is a warning the health checks also show.
  if (problem.status === 500) request.log.error({ err: error }, 'request failed');
  else if (problem.status >= 500) request.log.warn({ code: problem.code }, problem.title);
  return sendProblem(reply.headers(headers), problem);
}
