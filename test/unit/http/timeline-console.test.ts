import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiKey } from '../../../src/app/config.ts';
import { CONSOLE_CSP } from '../../../src/http/routes/console.ts';
import { apiServer, fixtures } from './api-server.ts';

const keys: ApiKey[] = [{ name: 'auditor', role: 'reader', secret: 'reader-secret-0123456789' }];
const asAuditor = { authorization: 'Bearer reader-secret-0123456789' };

describe('timeline route', () => {
  it('serves a page of the case timeline to a reader, with paging headers', async () => {
    const { app, recorded } = await apiServer({ keys });
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/cases/case-1/timeline?category=document&limit=10',
      headers: asAuditor,
    });
    assert.equal(response.statusCode, 200, response.body);
    assert.deepEqual(response.json(), [fixtures.timelineEntry]);
    assert.equal(response.headers['x-total-count'], '1');
    assert.deepEqual(recorded.pages.at(-1), { limit: 10, skip: 0 });
    // The timeline names people by id only: reading it is not a personal-data read.
    assert.deepEqual(recorded.reads, []);
  });

  it('refuses paging past its limits and ids past 128 characters', async () => {
    const { app } = await apiServer({ keys });
    for (const url of [
      '/api/v1/cases/case-1/timeline?limit=0',
      '/api/v1/cases/case-1/timeline?limit=501',
      '/api/v1/cases/case-1/timeline?skip=-1',
      '/api/v1/cases/case-1/timeline?limit=1e3',
      '/api/v1/cases/case-1/timeline?unknown=1',
      `/api/v1/cases/${'x'.repeat(129)}/timeline`,
    ]) {
      const response = await app.inject({ method: 'GET', url, headers: asAuditor });
      assert.equal(response.statusCode, 400, url);
      assert.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8', url);
    }
  });

  it('answers 404 for an unknown case and 400 for an unknown category', async () => {
    const { app } = await apiServer({ keys });
    const missing = await app.inject({
      method: 'GET',
      url: '/api/v1/cases/nope/timeline',
      headers: asAuditor,
    });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json().code, 'case.not_found');
    const bad = await app.inject({
      method: 'GET',
      url: '/api/v1/cases/case-1/timeline?category=gossip',
      headers: asAuditor,
    });
    assert.equal(bad.statusCode, 400);
  });

  it('needs a key', async () => {
    const { app } = await apiServer({ keys });
    const response = await app.inject({ method: 'GET', url: '/api/v1/cases/case-1/timeline' });
    assert.equal(response.statusCode, 401);
  });
});

describe('personal-data reads', () => {
  it('records who read which persons of which case, through which route', async () => {
    const { app, recorded } = await apiServer({ keys });
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/persons/case/case-1',
      headers: { ...asAuditor, 'x-correlation-id': 'corr-1' },
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(recorded.reads, [
      {
        caseId: 'case-1',
        reader: 'auditor',
        route: 'GET /api/v1/persons/case/:case_id',
        subjects: [{ type: 'PERSON', id: fixtures.person.id }],
        correlationId: 'corr-1',
      },
    ]);
  });

  it('records reads of beneficial owners under the company’s case', async () => {
    const { app, recorded } = await apiServer({ keys });
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/companies/company-1/beneficial-owners',
      headers: asAuditor,
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(
      recorded.reads.map((read) => [read.caseId, read.subjects]),
      [[fixtures.company.case_id, [{ type: 'BENEFICIAL_OWNER', id: fixtures.owner.id }]]],
    );
  });

  it('records nothing when the read fails or returns nobody', async () => {
    const { app, recorded } = await apiServer({
      keys,
      queries: { personsOfCase: async () => ({ items: [], total: 0 }) },
    });
    await app.inject({ method: 'GET', url: '/api/v1/persons/case/case-1', headers: asAuditor });
    await app.inject({ method: 'GET', url: '/api/v1/persons/case/nope', headers: asAuditor });
    assert.deepEqual(recorded.reads, []);
  });

  it('answers the read even when recording throws', async () => {
    const { app } = await apiServer({
      keys,
      access: {
        record() {
          throw new Error('audit store broken');
        },
      },
    });
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/persons/case/case-1',
      headers: asAuditor,
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), [fixtures.person]);
  });
});

describe('console files', () => {
  for (const [path, type] of [
    ['/console', 'text/html; charset=utf-8'],
    ['/console/console.js', 'text/javascript; charset=utf-8'],
    ['/console/console.css', 'text/css; charset=utf-8'],
  ] as const) {
    it(`serves ${path} without a key, as ${type.split(';')[0]}, under the strict policy`, async () => {
      const { app } = await apiServer({ keys });
      const response = await app.inject({ method: 'GET', url: path });
      assert.equal(response.statusCode, 200);
      assert.equal(response.headers['content-type'], type);
      assert.equal(response.headers['content-security-policy'], CONSOLE_CSP);
      assert.equal(response.headers['x-content-type-options'], 'nosniff');
    });
  }

  it('has no inline script or style in the page', async () => {
    const { app } = await apiServer({ keys });
    const html = (await app.inject({ method: 'GET', url: '/console' })).body;
    assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
    assert.doesNotMatch(html, /\sstyle=|<style|\son[a-z]+=/i);
    assert.match(CONSOLE_CSP, /script-src 'self'(;|$)/);
  });
});
