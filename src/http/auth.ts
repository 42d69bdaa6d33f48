import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpProblem } from './problem.ts';

/**
 * What an API key may do, each role all that the ones before it may: reader (read) < operator
 * (intake and documents) < reviewer (assign, decide, close) < approver (reopen, override risk) <
 * admin (operations). The matrix of routes and roles is in README.md.
 */
export const ROLES = ['reader', 'operator', 'reviewer', 'approver', 'admin'] as const;
export type Role = (typeof ROLES)[number];
/** A named key with its role; the secret is what callers send. */
export type ApiKey = { name: string; role: Role; secret: string };

/** Who called: the API key's name is the actor recorded on every event a request causes. */
export type Caller = { name: string; role: Role };

const rank: Record<Role, number> = { reader: 0, operator: 1, reviewer: 2, approver: 3, admin: 4 };

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Resolves callers from `Authorization: Bearer <secret>` or `X-API-Key: <secret>`.
 * Secrets are compared as SHA-256 digests with timingSafeEqual, against every key (no early
 * exit), so neither the length nor the position of a match leaks through timing.
 * With no keys configured every caller is an anonymous admin (the config only allows that on
 * loopback).
 */
export function createAuthenticator(keys: readonly ApiKey[]) {
  const digests = keys.map((key) => ({ key, digest: digest(key.secret) }));

  function identify(request: FastifyRequest): Caller | undefined {
    if (digests.length === 0) return { name: 'anonymous', role: 'admin' };
    // The scheme is case-insensitive (RFC 7235 §2.1): "bearer", "Bearer" and "BEARER" all count.
    const bearer = /^bearer[ \t]+(.*)$/i.exec(request.headers.authorization ?? '');
    const presented = bearer !== null ? bearer[1]!.trim() : request.headers['x-api-key'];
    if (typeof presented !== 'string' || presented === '') return undefined;
    const candidate = digest(presented);
    let found: ApiKey | undefined;
    for (const entry of digests) {
      if (timingSafeEqual(entry.digest, candidate)) found = entry.key;
    }
    return found && { name: found.name, role: found.role };
  }

  /** Throws 401 without a valid key and 403 when the key's role is below `needed`. */
  function authorize(request: FastifyRequest, needed: Role): Caller {
    const caller = identify(request);
    if (caller === undefined) {
      throw new HttpProblem(
        401,
        'auth.unauthenticated',
        'A valid API key is required',
        { detail: 'Send the key as "Authorization: Bearer <key>" or "X-API-Key: <key>".' },
        { 'www-authenticate': 'Bearer realm="kyc-case-service"' },
      );
    }
    if (rank[caller.role] < rank[needed]) {
      throw new HttpProblem(403, 'auth.forbidden', `This operation needs the ${needed} role`, {
        detail: `The key "${caller.name}" has the ${caller.role} role.`,
      });
    }
    return caller;
  }

  return { authorize, enabled: digests.length > 0 };
}

export type Authenticator = ReturnType<typeof createAuthenticator>;
