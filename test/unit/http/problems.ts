import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import Compile from 'typebox/compile';
import { ProblemSchema } from '../../../src/http/problem.ts';

const isProblem = Compile(ProblemSchema);

type Injected = { statusCode: number; headers: Record<string, unknown>; body: string; json(): unknown };

/**
 * Asserts a response is problem+json with this status and code, that its body matches the one
 * Problem schema, and returns the body.
 */
export function assertProblem(
  response: Injected,
  status: number,
  code: string,
): { code: string; violations?: { path: string; message: string }[] } & Record<string, unknown> {
  assert.equal(response.statusCode, status, response.body.slice(0, 500));
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  const body = response.json() as Record<string, unknown>;
  assert.ok(isProblem.Check(body), `not a Problem: ${response.body.slice(0, 300)}`);
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  assert.equal(body.type, `urn:kyc-case-service:problem:${code}`);
  return body as { code: string };
}

type Operation = { responses: Record<string, { description?: string; content?: Record<string, unknown> }> };

/**
 * Asserts the OpenAPI document declares `status` for the operation, and (for errors) lists `code`
 * in its description: every answer a test provokes must be in the contract.
 */
export async function assertDeclared(
  app: FastifyInstance,
  method: string,
  path: string,
  status: number,
  code?: string,
): Promise<void> {
  const document = (await app.inject({ method: 'GET', url: '/openapi.json' })).json() as {
    paths: Record<string, Record<string, Operation>>;
  };
  const operation = document.paths[path]?.[method.toLowerCase()];
  assert.ok(operation, `${method} ${path} is not in the OpenAPI document`);
  const response = operation.responses[String(status)];
  assert.ok(response, `${method} ${path} does not declare ${status}`);
  if (code !== undefined) {
    assert.ok(
      response.description?.includes(`\`${code}\``),
      `${method} ${path} ${status} does not list ${code}`,
    );
    assert.ok(
      response.content?.['application/problem+json'],
      `${method} ${path} ${status} is not problem+json`,
    );
  }
}
