/** Error statuses a route can answer, each with the problem codes it may carry. */
export type ErrorCodes = Partial<Record<number, readonly string[]>>;

/** Every route behind an API key. */
export const AUTH: ErrorCodes = { 401: ['auth.unauthenticated'], 403: ['auth.forbidden'] };

/**
 * Every route, so every declaration has them: headers over 16 KiB (answered by the HTTP parser
 * before any route is chosen) and a bug (500, logged with the request id).
 */
const EVERY_ROUTE: ErrorCodes = { 431: ['request.headers_too_large'], 500: ['internal'] };

/** Routes with path, query or header parameters. */
export const PARAMETERS: ErrorCodes = { 400: ['request.invalid'] };

/** Routes that read a JSON body (or could be sent one): the edge checks before any schema. */
export const BODY: ErrorCodes = {
  400: ['request.invalid', 'request.invalid_json', 'request.invalid_utf8', 'request.invalid_content_length'],
  413: ['request.too_large'],
  415: ['request.unsupported_media_type'],
};

/** Routes that accept `min_position` and wait for the read models to reach it. */
export const READ_YOUR_WRITES: ErrorCodes = {
  400: ['request.invalid', 'read.position_beyond_head'],
  503: ['read_model.behind', 'eventstore.unavailable'],
};

/** Routes that read or write the event store. */
export const EVENT_STORE: ErrorCodes = { 503: ['eventstore.unavailable'] };

const headersOf: Record<number, Record<string, { type: 'string'; description: string }>> = {
  401: { 'WWW-Authenticate': { type: 'string', description: 'Bearer realm="kyc-case-service"' } },
  503: { 'Retry-After': { type: 'string', description: 'Seconds to wait before retrying' } },
};

/** Registered once by the server (`addSchema`), so the OpenAPI lists it once under components. */
export const PROBLEM_SCHEMA_ID = 'Problem';

const statusMeaning: Record<number, string> = {
  400: 'The request is invalid',
  401: 'No valid API key',
  403: 'The API key’s role is too low',
  404: 'Not found',
  409: 'Conflicts with the current state',
  410: 'Gone: the data was erased',
  412: 'The If-Match revision is not the current one',
  413: 'The body is larger than the limit',
  415: 'The body is not JSON (application/json, UTF-8)',
  422: 'A domain rule refused it',
  431: 'The request line and headers exceed 16 KiB',
  500: 'Internal error',
  503: 'Temporarily unavailable; retry',
};

/**
 * The OpenAPI response declarations for every error status in `declarations` (merged), each an
 * `application/problem+json` body whose description lists the `code` values it may carry.
 */
export function problemResponses(...declarations: ErrorCodes[]) {
  const merged = new Map<number, Set<string>>();
  for (const declaration of [...declarations, EVERY_ROUTE]) {
    for (const [status, codes] of Object.entries(declaration)) {
      const set = merged.get(Number(status)) ?? new Set<string>();
      for (const code of codes ?? []) set.add(code);
      merged.set(Number(status), set);
    }
  }
  const responses: Record<number, unknown> = {};
  for (const [status, codes] of [...merged].sort(([a], [b]) => a - b)) {
    responses[status] = {
      description: `${statusMeaning[status] ?? 'Error'} (problem+json); code: ${[...codes].map((c) => `\`${c}\``).join(', ')}`,
      ...(headersOf[status] === undefined ? {} : { headers: headersOf[status] }),
      content: { 'application/problem+json': { schema: { $ref: `${PROBLEM_SCHEMA_ID}#` } } },
    };
  }
  return responses;
}
