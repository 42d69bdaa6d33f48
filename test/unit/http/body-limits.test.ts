import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INPUT_LIMITS } from '../../../src/cases/limits.ts';
import { firstInvalidUtf8 } from '../../../src/http/body.ts';
import { apiServer } from './api-server.ts';
import { assertDeclared, assertProblem } from './problems.ts';

const STATUS_URL = '/api/v1/documents/doc-1/status';
const STATUS_PATH = '/api/v1/documents/{id}/status';

/** A status change whose free-form `metadata_changes` carries `metadata` (body depth 1, it depth 2). */
const statusChange = (metadata: unknown) =>
  JSON.stringify({ new_status: 'UPLOADED', metadata_changes: metadata });

/** Objects nested `levels` deep: nest(1) is `{}`. */
function nest(levels: number): unknown {
  let value: unknown = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

const json = { 'content-type': 'application/json' };

async function putStatus(payload: string | Buffer, headers: Record<string, string> = json) {
  const { app, recorded } = await apiServer();
  const response = await app.inject({ method: 'PUT', url: STATUS_URL, headers, payload });
  return { app, recorded, response };
}

function pathsOf(problem: { violations?: { path: string }[] }): string[] {
  return (problem.violations ?? []).map((v) => v.path);
}

describe('JSON bodies at the HTTP edge', () => {
  it('accepts metadata nested exactly to the depth limit', async () => {
    // The body is depth 1 and metadata_changes depth 2, so it may hold maxDepth - 1 levels.
    const { response, recorded } = await putStatus(statusChange(nest(INPUT_LIMITS.maxDepth - 1)));
    assert.equal(response.statusCode, 200, response.body);
    assert.equal(recorded.statusChanges.length, 1);
  });

  it('refuses metadata one level deeper than the limit, naming the path, before the command runs', async () => {
    const { app, response, recorded } = await putStatus(statusChange(nest(INPUT_LIMITS.maxDepth)));
    const problem = assertProblem(response, 400, 'request.invalid');
    assert.deepEqual(pathsOf(problem), [`body/metadata_changes${'/a'.repeat(INPUT_LIMITS.maxDepth - 1)}`]);
    assert.match(problem.violations![0]!.message, /deeper than 16/);
    assert.equal(recorded.statusChanges.length, 0);
    await assertDeclared(app, 'PUT', STATUS_PATH, 400, 'request.invalid');
  });

  it('refuses JSON nested 100,000 levels without overflowing any stack', async () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    const { response, recorded } = await putStatus(
      `{"new_status":"UPLOADED","metadata_changes":{"a":${deep}}}`,
    );
    assertProblem(response, 400, 'request.invalid');
    assert.equal(recorded.statusChanges.length, 0);
  });

  it('accepts a string of exactly the maximum length and refuses one character more', async () => {
    const atLimit = await putStatus(statusChange({ note: 'x'.repeat(INPUT_LIMITS.maxStringLength) }));
    assert.equal(atLimit.response.statusCode, 200, atLimit.response.body);
    const past = await putStatus(statusChange({ note: 'x'.repeat(INPUT_LIMITS.maxStringLength + 1) }));
    const problem = assertProblem(past.response, 400, 'request.invalid');
    assert.deepEqual(pathsOf(problem), ['body/metadata_changes/note']);
  });

  it('accepts an array of exactly the maximum items and refuses one more', async () => {
    const atLimit = await putStatus(statusChange({ list: new Array(INPUT_LIMITS.maxArrayItems).fill(1) }));
    assert.equal(atLimit.response.statusCode, 200, atLimit.response.body);
    const past = await putStatus(statusChange({ list: new Array(INPUT_LIMITS.maxArrayItems + 1).fill(1) }));
    assert.deepEqual(pathsOf(assertProblem(past.response, 400, 'request.invalid')), [
      'body/metadata_changes/list',
    ]);
  });

  it('accepts an object of exactly the maximum properties and refuses one more', async () => {
    const properties = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    const atLimit = await putStatus(statusChange(properties(INPUT_LIMITS.maxObjectProperties)));
    assert.equal(atLimit.response.statusCode, 200, atLimit.response.body);
    const past = await putStatus(statusChange(properties(INPUT_LIMITS.maxObjectProperties + 1)));
    assert.deepEqual(pathsOf(assertProblem(past.response, 400, 'request.invalid')), [
      'body/metadata_changes',
    ]);
  });

  it('accepts a property name of exactly the maximum length and refuses one character more', async () => {
    const atLimit = await putStatus(statusChange({ ['k'.repeat(INPUT_LIMITS.maxKeyLength)]: 1 }));
    assert.equal(atLimit.response.statusCode, 200, atLimit.response.body);
    const past = await putStatus(statusChange({ ['k'.repeat(INPUT_LIMITS.maxKeyLength + 1)]: 1 }));
    const problem = assertProblem(past.response, 400, 'request.invalid');
    assert.equal(pathsOf(problem)[0], `body/metadata_changes/${'k'.repeat(INPUT_LIMITS.maxKeyLength)}`);
  });

  it('accepts a body of exactly the byte limit and answers 413 to one byte more', async () => {
    const exactly = bodyOfBytes(INPUT_LIMITS.maxBytes);
    assert.equal(Buffer.byteLength(exactly), INPUT_LIMITS.maxBytes);
    const atLimit = await putStatus(exactly);
    assert.equal(atLimit.response.statusCode, 200, atLimit.response.body.slice(0, 300));
    const past = await putStatus(bodyOfBytes(INPUT_LIMITS.maxBytes + 1));
    assertProblem(past.response, 413, 'request.too_large');
    assert.equal(past.recorded.statusChanges.length, 0);
    await assertDeclared(past.app, 'PUT', STATUS_PATH, 413, 'request.too_large');
  });

  it('refuses a number JSON cannot hold (1e400 parses as Infinity and would be stored as null)', async () => {
    const { response } = await putStatus(
      '{"new_status":"UPLOADED","metadata_changes":{"n":1e400,"m":-1E+999}}',
    );
    const problem = assertProblem(response, 400, 'request.invalid');
    assert.deepEqual(pathsOf(problem), ['body/metadata_changes/n', 'body/metadata_changes/m']);
    const fine = await putStatus('{"new_status":"UPLOADED","metadata_changes":{"n":1e300,"m":1e-400}}');
    assert.equal(fine.response.statusCode, 200, fine.response.body);
  });

  it('refuses a body that is not valid UTF-8, naming the byte, instead of storing U+FFFD', async () => {
    const bytes = Buffer.concat([
      Buffer.from('{"new_status":"UPLOADED","metadata_changes":{"n":"'),
      Buffer.from([0xc3, 0x28]),
      Buffer.from('"}}'),
    ]);
    const { app, response, recorded } = await putStatus(bytes);
    const problem = assertProblem(response, 400, 'request.invalid_utf8');
    assert.deepEqual(pathsOf(problem), ['body']);
    assert.match(problem.violations![0]!.message, /byte 50/);
    assert.equal(recorded.statusChanges.length, 0);
    await assertDeclared(app, 'PUT', STATUS_PATH, 400, 'request.invalid_utf8');
  });

  it('finds the first invalid UTF-8 byte: stray, truncated, overlong, surrogate and past U+10FFFF', () => {
    assert.equal(firstInvalidUtf8(Buffer.from('héllo €𝄞', 'utf8')), -1);
    assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0x80])), 1);
    assert.equal(firstInvalidUtf8(Buffer.from([0x61, 0xe2, 0x82])), 1);
    assert.equal(firstInvalidUtf8(Buffer.from([0xc0, 0xaf])), 0);
    assert.equal(firstInvalidUtf8(Buffer.from([0xe0, 0x80, 0xaf])), 0);
    assert.equal(firstInvalidUtf8(Buffer.from([0xed, 0xa0, 0x80])), 0);
    assert.equal(firstInvalidUtf8(Buffer.from([0xf4, 0x90, 0x80, 0x80])), 0);
    assert.equal(firstInvalidUtf8(Buffer.alloc(0)), -1);
  });

  it('refuses a lone surrogate written as a JSON escape', async () => {
    const { response } = await putStatus('{"new_status":"UPLOADED","metadata_changes":{"n":"\\ud800"}}');
    assert.deepEqual(pathsOf(assertProblem(response, 400, 'request.invalid')), ['body/metadata_changes/n']);
  });

  it('answers malformed and empty JSON with request.invalid_json naming the body', async () => {
    for (const payload of ['{', '{"new_status":', 'nul', '   ', '']) {
      const { app, response } = await putStatus(payload);
      const problem = assertProblem(response, 400, 'request.invalid_json');
      assert.deepEqual(pathsOf(problem), ['body'], payload);
      await assertDeclared(app, 'PUT', STATUS_PATH, 400, 'request.invalid_json');
    }
  });

  it('refuses __proto__ and constructor.prototype keys', async () => {
    for (const payload of ['{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}']) {
      const { response } = await putStatus(payload);
      assert.match(assertProblem(response, 400, 'request.invalid_json').violations![0]!.message, /__proto__/);
    }
  });

  it('answers 415 to a body that is not JSON, or JSON in another charset', async () => {
    for (const type of [
      'text/plain',
      'application/xml',
      'application/x-www-form-urlencoded',
      'application/json; charset=latin1',
    ]) {
      const { app, response, recorded } = await putStatus('{"new_status":"UPLOADED"}', {
        'content-type': type,
      });
      assertProblem(response, 415, 'request.unsupported_media_type');
      assert.equal(recorded.statusChanges.length, 0, type);
      await assertDeclared(app, 'PUT', STATUS_PATH, 415, 'request.unsupported_media_type');
    }
    const utf8 = await putStatus('{"new_status":"UPLOADED"}', {
      'content-type': 'application/json; charset=UTF-8',
    });
    assert.equal(utf8.response.statusCode, 200, utf8.response.body);
  });

  it('answers a body without a content type with 415', async () => {
    const { response } = await putStatus('{"new_status":"UPLOADED"}', {});
    assertProblem(response, 415, 'request.unsupported_media_type');
  });

  it('checks the limits on every route that takes a body, not only the intake', async () => {
    const { app } = await apiServer();
    const deep = JSON.stringify(nest(INPUT_LIMITS.maxDepth + 1));
    for (const url of [
      '/api/v1/documents/determine-requirements',
      '/api/v1/admin/projections/skip',
      '/api/v1/admin/projections/retry',
    ]) {
      const response = await app.inject({ method: 'POST', url, headers: json, payload: deep });
      assertProblem(response, 400, 'request.invalid');
    }
  });
});

/** A valid status change of exactly `bytes` bytes, its metadata padded with strings within limits. */
function bodyOfBytes(bytes: number): string {
  const metadata: Record<string, string> = {};
  const frame = (m: Record<string, string>) => Buffer.byteLength(statusChange(m));
  let i = 0;
  while (frame(metadata) < bytes) {
    const key = `k${i++}`;
    metadata[key] = '';
    const room = bytes - frame(metadata);
    metadata[key] = 'x'.repeat(Math.max(0, Math.min(INPUT_LIMITS.maxStringLength, room)));
  }
  return statusChange(metadata);
}
