import { isUtf8 } from 'node:buffer';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { INPUT_LIMITS, inputLimitViolations } from '../cases/limits.ts';
import { HttpProblem, invalidRequest, type Violation } from './problem.ts';

/**
 * A body refused at the edge, with what was received (or null when nothing was read), so a route
 * that audits its refusals can record the text.
 */
export class BodyRefused extends HttpProblem {
  readonly raw: Buffer | null;
  constructor(problem: HttpProblem, raw: Buffer | null) {
    super(
      problem.problem.status,
      problem.problem.code,
      problem.problem.title,
      problem.problem,
      problem.headers,
    );
    this.raw = raw;
  }
}

const raws = new WeakMap<FastifyRequest, Buffer>();

/** The bytes of a JSON body this request was parsed from, if it had one. */
export const rawBodyOf = (request: FastifyRequest): Buffer | undefined => raws.get(request);

/**
 * The one body parser: JSON only, UTF-8 only, within INPUT_LIMITS, before any schema or handler
 * sees it. A value nested thousands of levels deep would otherwise overflow the stack of the
 * first recursive reader (the event store client's serialiser, and with it the process).
 * Everything else (text/plain, forms, unknown types) is refused with 415.
 */
export function registerJsonBody(app: FastifyInstance): void {
  const secureParse = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'buffer', bodyLimit: INPUT_LIMITS.maxBytes },
    (request, body, done) => {
      const raw = body as Buffer;
      try {
        const value = parseJsonBody(request, raw, secureParse);
        raws.set(request, raw);
        done(null, value);
      } catch (error) {
        done(error instanceof HttpProblem ? new BodyRefused(error, raw) : (error as Error), undefined);
      }
    },
  );
}

type Parse = (
  request: FastifyRequest,
  body: string,
  done: (error: Error | null, value?: unknown) => void,
) => void;

function parseJsonBody(request: FastifyRequest, raw: Buffer, secureParse: Parse): unknown {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(request.headers['content-type'] ?? '')?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new HttpProblem(415, 'request.unsupported_media_type', 'JSON bodies must be UTF-8', {
      detail: `charset=${charset.slice(0, 40)} is not accepted; send application/json in UTF-8.`,
    });
  }
  const invalidAt = firstInvalidUtf8(raw);
  if (invalidAt !== -1) {
    throw invalidRequest(
      [{ path: 'body', message: `is not valid UTF-8 (byte ${invalidAt} starts an invalid sequence)` }],
      'request.invalid_utf8',
    );
  }
  const text = raw.toString('utf8');
  if (text.trim() === '') {
    throw invalidRequest([{ path: 'body', message: 'is empty; send a JSON value' }], 'request.invalid_json');
  }
  let value: unknown;
  let failure: Error | null = null;
  secureParse(request, text, (error, parsed) => {
    failure = error;
    value = parsed;
  });
  if (failure !== null) {
    throw invalidRequest([{ path: 'body', message: jsonFailure(text) }], 'request.invalid_json');
  }
  // The input limits also refuse numbers JSON.parse turned into Infinity (1e400).
  const violations: Violation[] = inputLimitViolations(value).map((v) => ({
    path: `body${v.path}`,
    message: v.message,
  }));
  if (violations.length > 0) throw invalidRequest(violations);
  return value;
}

/** Why JSON.parse refused the text; when it did not, the text tried to set a prototype. */
function jsonFailure(text: string): string {
  try {
    JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
    return 'must not use "__proto__" or "constructor.prototype" as property names';
  } catch (error) {
    return `is not JSON: ${(error as Error).message.slice(0, 200)}`;
  }
}

/** Offset of the first byte that does not start or continue a well-formed UTF-8 sequence, or -1. */
export function firstInvalidUtf8(bytes: Uint8Array): number {
  if (isUtf8(bytes)) return -1;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i += 1;
      continue;
    }
    let length: number;
    let min: number;
    if (b >= 0xc2 && b <= 0xdf) [length, min] = [2, 0x80];
    else if (b >= 0xe0 && b <= 0xef) [length, min] = [3, 0x800];
    else if (b >= 0xf0 && b <= 0xf4) [length, min] = [4, 0x10000];
    else return i;
    if (i + length > bytes.length) return i;
    let code = b & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) {
      const next = bytes[i + k]!;
      if ((next & 0xc0) !== 0x80) return i;
      code = (code << 6) | (next & 0x3f);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (code < min || (code >= 0xd800 && code <= 0xdfff) || code > 0x10ffff) return i;
    i += length;
  }
  return -1;
}
