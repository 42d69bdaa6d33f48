import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ApiKey, Role } from '../../../src/app/config.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import { ROLES } from '../../../src/http/auth.ts';
import { apiServer } from './api-server.ts';
import { assertProblem } from './problems.ts';

// The review routes over fake ports: the role each needs, for every role (the matrix README.md
// documents), what reaches the command, and how the domain's refusals are answered.

const keys: ApiKey[] = ROLES.map((role) => ({
  name: `${role}-person`,
  role,
  secret: `${role}-secret-0123456789`,
}));
const secretOf = (role: Role) => `${role}-secret-0123456789`;

type Route = { method: 'GET' | 'POST'; url: string; body?: Record<string, unknown>; needs: Role };

/** Every route of this part, with a body it accepts, and the least role it needs. */
export const REVIEW_ROUTES: Route[] = [
  { method: 'POST', url: '/api/v1/cases/case-1/assignment', body: { assignee: 'bob' }, needs: 'reviewer' },
  {
    method: 'POST',
    url: '/api/v1/cases/case-1/decisions',
    body: { decision: 'APPROVE', reason_codes: ['DOCUMENTS_VERIFIED'] },
    needs: 'reviewer',
  },
  {
    method: 'POST',
    url: '/api/v1/cases/case-1/close',
    body: { reason_code: 'CLIENT_WITHDREW' },
    needs: 'reviewer',
  },
  {
    method: 'POST',
    url: '/api/v1/cases/case-1/reopen',
    body: { reason_code: 'NEW_INFORMATION' },
    needs: 'approver',
  },
  {
    method: 'POST',
    url: '/api/v1/cases/case-1/risk-override',
    body: { rating: 'HIGH', reason: 'Adverse media' },
    needs: 'approver',
  },
  { method: 'GET', url: '/api/v1/review-queue', needs: 'reader' },
  { method: 'GET', url: '/api/v1/reason-codes', needs: 'reader' },
];

describe('review routes: roles', () => {
  for (const route of REVIEW_ROUTES) {
    for (const role of ROLES) {
      const allowed = ROLES.indexOf(role) >= ROLES.indexOf(route.needs);
      it(`${route.method} ${route.url} as ${role}: ${allowed ? '200' : '403'}`, async () => {
        const { app } = await apiServer({ keys });
        const response = await app.inject({
          method: route.method,
          url: route.url,
          headers: { authorization: `Bearer ${secretOf(role)}` },
          ...(route.body === undefined ? {} : { payload: route.body }),
        });
        if (allowed) assert.equal(response.statusCode, 200, response.body);
        else assertProblem(response, 403, 'auth.forbidden');
      });
    }
    it(`${route.method} ${route.url} without a key: 401`, async () => {
      const { app } = await apiServer({ keys });
      const response = await app.inject({
        method: route.method,
        url: route.url,
        ...(route.body === undefined ? {} : { payload: route.body }),
      });
      assertProblem(response, 401, 'auth.unauthenticated');
    });
  }

  it('keeps the older keys working: an operator still changes documents, a reader still reads', async () => {
    const { app } = await apiServer({ keys });
    const changed = await app.inject({
      method: 'PUT',
      url: '/api/v1/documents/doc-1/status',
      headers: { authorization: `Bearer ${secretOf('operator')}` },
      payload: { new_status: 'UPLOADED' },
    });
    assert.equal(changed.statusCode, 200, changed.body);
    const read = await app.inject({
      method: 'GET',
      url: '/api/v1/cases/case-1',
      headers: { authorization: `Bearer ${secretOf('reader')}` },
    });
    assert.equal(read.statusCode, 200);
  });
});

describe('review routes: requests and answers', () => {
  it('passes the caller as the person deciding, and an Idempotency-Key scoped to caller and route', async () => {
    const { app, recorded } = await apiServer({ keys });
    const response = await app.inject({
      method: 'POST',
      url: '/api/v1/cases/case-1/decisions',
      headers: { authorization: `Bearer ${secretOf('reviewer')}`, 'idempotency-key': 'k-1' },
      payload: { decision: 'REJECT', reason_codes: ['IDENTITY_MISMATCH'], comment: 'Name differs' },
    });
    assert.equal(response.statusCode, 200);
    assert.deepEqual(response.json(), {
      position: '10-10',
      revision: '0',
      case_id: 'case-1',
      status: 'IN_REVIEW',
      changed: true,
    });
    const [seen] = recorded.reviews;
    assert.equal(seen?.context.actor, 'reviewer-person');
    assert.equal(seen?.context.idempotencyKey, 'review:reviewer-person:/api/v1/cases/:case_id/decisions:k-1');
    assert.deepEqual(seen?.body, {
      decision: 'REJECT',
      reason_codes: ['IDENTITY_MISMATCH'],
      comment: 'Name differs',
    });
  });

  it('answers a transition the case does not allow with 409 and what is allowed', async () => {
    const { app } = await apiServer({
      review: {
        async closeCase() {
          throw new DomainError('case.invalid_transition', 'a case in CLOSED cannot close; allowed: reopen', {
            status: 'CLOSED',
            allowed: ['OPEN', 'PENDING_REVIEW'],
            allowed_actions: ['reopen'],
          });
        },
      },
    });
    const problem = assertProblem(
      await app.inject({
        method: 'POST',
        url: '/api/v1/cases/case-1/close',
        payload: { reason_code: 'CLIENT_WITHDREW' },
      }),
      409,
      'case.invalid_transition',
    );
    assert.deepEqual(problem.allowed, ['OPEN', 'PENDING_REVIEW']);
    assert.deepEqual(problem.allowed_actions, ['reopen']);
  });

  for (const [code, status] of [
    ['review.already_approved', 409],
    ['review.own_override', 409],
    ['review.documents_outstanding', 409],
    ['review.reason_code_invalid', 400],
    ['review.information_unspecified', 400],
    ['review.requested_document_not_found', 400],
  ] as const) {
    it(`answers ${code} with ${status}`, async () => {
      const { app } = await apiServer({
        review: {
          async recordDecision() {
            throw new DomainError(code, 'refused');
          },
        },
      });
      assertProblem(
        await app.inject({
          method: 'POST',
          url: '/api/v1/cases/case-1/decisions',
          payload: { decision: 'APPROVE', reason_codes: ['DOCUMENTS_VERIFIED'] },
        }),
        status,
        code,
      );
    });
  }

  it('refuses hostile bodies before any command: unknown fields, empty codes, a bad rating, no body', async () => {
    const { app, recorded } = await apiServer();
    const bad: [string, unknown][] = [
      ['/api/v1/cases/case-1/decisions', { decision: 'APPROVE', reason_codes: [] }],
      ['/api/v1/cases/case-1/decisions', { decision: 'APPROVE', reason_codes: ['ok lower'] }],
      ['/api/v1/cases/case-1/decisions', { decision: 'MAYBE', reason_codes: ['DOCUMENTS_VERIFIED'] }],
      ['/api/v1/cases/case-1/decisions', { decision: 'APPROVE', reason_codes: ['A'], extra: 1 }],
      ['/api/v1/cases/case-1/assignment', { assignee: '' }],
      ['/api/v1/cases/case-1/assignment', { assignee: 'x'.repeat(129) }],
      ['/api/v1/cases/case-1/risk-override', { rating: 'EXTREME', reason: 'x' }],
      ['/api/v1/cases/case-1/risk-override', { rating: 'HIGH', reason: '' }],
      ['/api/v1/cases/case-1/close', { reason_code: 'CLIENT_WITHDREW', comment: 'x'.repeat(2_001) }],
      ['/api/v1/cases/case-1/reopen', undefined],
    ];
    for (const [url, payload] of bad) {
      const response = await app.inject({
        method: 'POST',
        url,
        ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
      });
      assert.equal(response.statusCode, 400, `${url} ${JSON.stringify(payload)}: ${response.body}`);
    }
    assert.equal(recorded.reviews.length, 0);
  });

  it('serves the queue with paging by an opaque cursor, and refuses a forged one', async () => {
    const { app, recorded } = await apiServer({});
    const first = await app.inject({ method: 'GET', url: '/api/v1/review-queue?limit=1&risk=HIGH' });
    assert.equal(first.statusCode, 200);
    assert.equal(first.headers['x-total-count'], '1');
    const forged = await app.inject({ method: 'GET', url: '/api/v1/review-queue?cursor=bm90LWEtY3Vyc29y' });
    assertProblem(forged, 400, 'request.invalid');
    assert.deepEqual(recorded.pages, [{ limit: 1, skip: 0 }]);
  });

  it('lists the reason codes with the actions each may justify', async () => {
    const { app } = await apiServer();
    const response = await app.inject({ method: 'GET', url: '/api/v1/reason-codes' });
    const body = response.json() as { version: number; codes: { code: string; actions: string[] }[] };
    assert.equal(body.version, 1);
    assert.deepEqual(body.codes.find((c) => c.code === 'DOCUMENTS_VERIFIED')?.actions, ['APPROVE']);
  });
});
