import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiKey } from '../../../src/app/config.ts';
import { INPUT_LIMITS } from '../../../src/cases/limits.ts';
import { apiServer } from './api-server.ts';
import { assertDeclared, assertProblem } from './problems.ts';

const keys: ApiKey[] = [{ name: 'ops', role: 'operator', secret: 'operator-secret-0123456789' }];
const json = { 'content-type': 'application/json' };

async function postIntake(payload: string | Buffer | undefined, headers: Record<string, string> = json) {
  const { app, recorded } = await apiServer();
  const response = await app.inject({
    method: 'POST',
    url: '/api/v1/cases',
    headers,
    ...(payload === undefined ? {} : { payload }),
  });
  return { app, recorded, response };
}

describe('HTTP intakes refused before the command are audited', () => {
  it('records malformed JSON with its text, code and violation', async () => {
    const { app, response, recorded } = await postIntake('{"client_id":');
    assertProblem(response, 400, 'request.invalid_json');
    assert.equal(recorded.refused.length, 1);
    const { refusal, context } = recorded.refused[0]!;
    assert.equal(refusal.raw_text, '{"client_id":');
    assert.equal(refusal.error_code, 'request.invalid_json');
    assert.deepEqual(
      refusal.violations.map((v) => v.path),
      ['body'],
    );
    assert.equal(context.actor, 'anonymous');
    assert.equal(recorded.opened.length, 0);
    await assertDeclared(app, 'POST', '/api/v1/cases', 400, 'request.invalid_json');
  });

  it('records a body nested past the depth limit as text, never as a payload', async () => {
    const deep = `{"client_id":${'['.repeat(1_000)}${']'.repeat(1_000)}}`;
    const { response, recorded } = await postIntake(deep);
    const problem = assertProblem(response, 400, 'request.invalid');
    assert.match(problem.violations![0]!.path, /^body\/client_id(\/0)+$/);
    const { refusal } = recorded.refused[0]!;
    assert.equal(refusal.raw_text, deep);
    assert.equal(refusal.error_code, 'request.invalid');
    assert.deepEqual(refusal.violations, problem.violations);
  });

  it('records a body that is not UTF-8 as valid text with the bad bytes replaced', async () => {
    const { response, recorded } = await postIntake(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
    assertProblem(response, 400, 'request.invalid_utf8');
    const { refusal } = recorded.refused[0]!;
    assert.equal(refusal.error_code, 'request.invalid_utf8');
    assert.ok(refusal.raw_text?.isWellFormed());
    assert.equal(refusal.raw_text, '{"\ufffd\ufffd"}');
  });

  it('records a body over the byte limit without its text', async () => {
    const { response, recorded } = await postIntake(`"${'x'.repeat(INPUT_LIMITS.maxBytes)}"`);
    assertProblem(response, 413, 'request.too_large');
    assert.deepEqual(recorded.refused[0]?.refusal.raw_text, null);
    assert.equal(recorded.refused[0]?.refusal.error_code, 'request.too_large');
  });

  it('records a body that is not JSON (415) and an empty one', async () => {
    const xml = await postIntake('<intake/>', { 'content-type': 'application/xml' });
    assertProblem(xml.response, 415, 'request.unsupported_media_type');
    assert.equal(xml.recorded.refused[0]?.refusal.error_code, 'request.unsupported_media_type');
    const empty = await postIntake('');
    assertProblem(empty.response, 400, 'request.invalid_json');
    assert.equal(empty.recorded.refused[0]?.refusal.raw_text, '');
    const none = await postIntake(undefined, {});
    assertProblem(none.response, 400, 'request.invalid');
    assert.equal(none.recorded.refused[0]?.refusal.raw_text, null);
    assert.equal(none.recorded.opened.length, 0);
  });

  it('keeps only the first 64 KiB of a refused body', async () => {
    const { response, recorded } = await postIntake(`{"a":"${'é'.repeat(100_000)}`);
    assertProblem(response, 400, 'request.invalid_json');
    const text = recorded.refused[0]!.refusal.raw_text!;
    assert.ok(Buffer.byteLength(text) <= 64 * 1024 + 2, `${Buffer.byteLength(text)} bytes`);
    assert.ok(text.startsWith('{"a":"éé'));
    assert.ok(text.isWellFormed());
  });

  it('records an invalid Idempotency-Key with the body text, under a key of its own', async () => {
    const { response, recorded } = await postIntake('{"client_id":"c"}', {
      ...json,
      'idempotency-key': 'has space',
    });
    assertProblem(response, 400, 'request.invalid');
    const { refusal, context } = recorded.refused[0]!;
    assert.equal(refusal.raw_text, '{"client_id":"c"}');
    assert.deepEqual(
      refusal.violations.map((v) => v.path),
      ['headers/idempotency-key'],
    );
    assert.notEqual(context.idempotencyKey, 'has space');
  });

  it('passes a valid Idempotency-Key on with the refusal', async () => {
    const { recorded } = await postIntake('{', { ...json, 'idempotency-key': 'retry-7' });
    assert.equal(recorded.refused[0]?.context.idempotencyKey, 'retry-7');
  });

  it('does not record what a caller without a valid key sends', async () => {
    const { app, recorded } = await apiServer({ keys });
    const response = await app.inject({ method: 'POST', url: '/api/v1/cases', headers: json, payload: '{' });
    assertProblem(response, 401, 'auth.unauthenticated');
    assert.equal(recorded.refused.length, 0);
  });

  it('names the caller of a refused intake as its actor', async () => {
    const { app, recorded } = await apiServer({ keys });
    await app.inject({
      method: 'POST',
      url: '/api/v1/cases',
      headers: { ...json, authorization: 'Bearer operator-secret-0123456789' },
      payload: '{',
    });
    assert.equal(recorded.refused[0]?.context.actor, 'ops');
  });

  it('still answers the refusal when the audit cannot be written', async () => {
    const { app } = await apiServer({
      commands: {
        recordRefusedIntake: async () => {
          throw new Error('event store away');
        },
      },
    });
    const response = await app.inject({ method: 'POST', url: '/api/v1/cases', headers: json, payload: '{' });
    assertProblem(response, 400, 'request.invalid_json');
  });

  it('leaves refusals by the command to the command (no second record)', async () => {
    const { response, recorded } = await postIntake('{"client_id":"c"}');
    assertProblem(response, 400, 'request.invalid');
    assert.equal(recorded.refused.length, 0);
  });

  it('does not audit refusals on other routes', async () => {
    const { app, recorded } = await apiServer();
    await app.inject({ method: 'PUT', url: '/api/v1/documents/doc-1/status', headers: json, payload: '{' });
    assert.equal(recorded.refused.length, 0);
  });
});
