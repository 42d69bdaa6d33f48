import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { type RunningService, startService } from '../../../src/app/service.ts';
import { type RunningEmulator, startEmulator } from '../../../src/emulator/index.ts';
import { copyOf, kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { testPersonalDataEnv } from '../../support/personal-data.ts';
import { mongoUrlForSuite } from '../../support/services.ts';

// The review over HTTP with real people (API keys): a HIGH-risk KYB case through four eyes, a
// KYC case asked for more, resubmitted, rejected, closed and reopened, the queue, the roles, and
// the read model after a restart. Run against each event store and read store, as the case API.

type Json = Record<string, unknown>;

const people = {
  intake: 'intake-secret-0123456789',
  reader: 'reader-secret-0123456789',
  alice: 'alice-secret-0123456789',
  bob: 'bob-secret-0123456789',
  carol: 'carol-secret-0123456789',
};
const API_KEYS = [
  `intake:operator:${people.intake}`,
  `auditor:reader:${people.reader}`,
  `alice:reviewer:${people.alice}`,
  `bob:approver:${people.bob}`,
  `carol:approver:${people.carol}`,
].join(',');

const ferret = mongoUrlForSuite();
const modes: { name: string; env: Record<string, string>; grpc?: boolean; skip?: string }[] = [
  { name: 'embedded event store, in-memory read models', env: {} },
  'url' in ferret
    ? {
        name: 'embedded event store, read models in FerretDB',
        env: { MONGODB_URL: ferret.url, MONGODB_DATABASE: `review_${randomUUID().slice(0, 8)}` },
      }
    : { name: 'embedded event store, read models in FerretDB', env: {}, skip: ferret.skip },
  { name: 'event store over gRPC (EVENTSTORE_URL), in-memory read models', env: {}, grpc: true },
];

for (const mode of modes)
  describe(`review API over HTTP (${mode.name})`, { ...(mode.skip ? { skip: mode.skip } : {}) }, () => {
    let dataDir: string;
    let service: RunningService;
    let separateStore: RunningEmulator | undefined;
    let env: Record<string, string>;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'kyc-review-'));
      if (mode.grpc) separateStore = await startEmulator({ port: 0 });
      env = {
        DATA_DIR: dataDir,
        PORT: '0',
        API_KEYS,
        ...testPersonalDataEnv,
        ...mode.env,
        ...(separateStore ? { EVENTSTORE_URL: separateStore.connectionString } : {}),
      };
      service = await startService(loadConfig(env), pino({ level: 'silent' }));
    });

    after(async () => {
      await service?.stop();
      await separateStore?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    async function call(method: string, path: string, key: string, body?: unknown, headers: Json = {}) {
      const response = await fetch(`${service.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...(headers as Record<string, string>),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: JSON.parse(text || 'null') as Json & Json[],
      };
    }

    /** Opens a case and resolves every document, so it waits in PENDING_REVIEW; returns its id and position. */
    async function caseAwaitingReview(intake: unknown) {
      const opened = await call('POST', '/api/v1/cases', people.intake, intake, {
        'idempotency-key': randomUUID(),
      });
      assert.equal(opened.status, 202, JSON.stringify(opened.body));
      const caseId = String(opened.body.case_id);
      const documents = await call(
        'GET',
        `/api/v1/documents/case/${caseId}?min_position=${opened.body.position}`,
        people.reader,
      );
      let position = String(opened.body.position);
      for (const doc of documents.body) {
        for (const status of ['UPLOADED', 'VERIFIED_MANUAL']) {
          const changed = await call('PUT', `/api/v1/documents/${doc.id}/status`, people.intake, {
            new_status: status,
          });
          assert.equal(changed.status, 200, JSON.stringify(changed.body));
          position = String(changed.body.position);
        }
      }
      return { caseId, position, documents: documents.body };
    }

    const review = (caseId: string, action: string, key: string, body: unknown, headers: Json = {}) =>
      call('POST', `/api/v1/cases/${caseId}/${action}`, key, body, headers);
    const caseAt = async (caseId: string, position: unknown) =>
      (await call('GET', `/api/v1/cases/${caseId}?min_position=${String(position)}`, people.reader)).body;

    it('takes a HIGH-risk KYB case through four eyes: two approvals by two people', async () => {
      const intake = copyOf(kybIntakeExample);
      intake.company_profile.country_of_incorporation = 'IR';
      const { caseId, position } = await caseAwaitingReview(intake);
      const waiting = await caseAt(caseId, position);
      assert.equal(waiting.status, 'PENDING_REVIEW');
      const risk = waiting.risk as Json;
      assert.equal(risk.computed, 'HIGH');
      assert.equal(risk.effective, 'HIGH');
      assert.ok(
        (risk.factors as Json[]).some((f) => f.factor === 'country_of_incorporation' && f.input === 'IR'),
      );

      const queue = await call(
        'GET',
        `/api/v1/review-queue?risk=HIGH&limit=200&min_position=${position}`,
        people.reader,
      );
      assert.ok(queue.body.some((item) => item.id === caseId));

      const assigned = await review(caseId, 'assignment', people.alice, { assignee: 'alice' });
      assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
      assert.equal(assigned.body.status, 'IN_REVIEW');
      const mine = await call(
        'GET',
        `/api/v1/review-queue?assignee=alice&status=IN_REVIEW&limit=200&min_position=${assigned.body.position}`,
        people.reader,
      );
      assert.ok(mine.body.some((item) => item.id === caseId));

      const approve = { decision: 'APPROVE', reason_codes: ['DOCUMENTS_VERIFIED'] };
      const first = await review(caseId, 'decisions', people.alice, approve);
      assert.equal(first.body.status, 'IN_REVIEW');
      const twice = await review(caseId, 'decisions', people.alice, {
        ...approve,
        reason_codes: ['RISK_ACCEPTED'],
      });
      assert.equal(twice.status, 409);
      assert.equal(twice.body.code, 'review.already_approved');
      const second = await review(caseId, 'decisions', people.bob, approve);
      assert.equal(second.body.status, 'APPROVED');

      const decided = await caseAt(caseId, second.body.position);
      assert.equal(decided.status, 'APPROVED');
      assert.deepEqual(
        (decided.approvals as Json[]).map((a) => a.by),
        ['alice', 'bob'],
      );
      assert.equal(decided.in_review_queue, false);
      assert.equal(typeof (decided.time_in_status as Json).IN_REVIEW, 'number');
      assert.ok(Number((decided.time_in_status as Json).PENDING_REVIEW) >= 0);
      const events = await call('GET', `/api/v1/cases/${caseId}/events?limit=1000`, people.reader);
      const triggers = events.body
        .filter((e) => e.event_type === 'NotificationRequired')
        .map((e) => (e.payload as Json).event_trigger);
      assert.ok(triggers.includes('CASE_APPROVED_KYB_COMPANY_STANDARD'), String(triggers));

      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      assert.match(metrics, /kyc_case_review_duration_seconds_count \d+/);
      assert.match(metrics, /kyc_cases\{status="APPROVED"\}/);
    });

    it('asks for a document again, returns the resubmitted case to review, rejects, closes and reopens it', async () => {
      const { caseId, documents } = await caseAwaitingReview(copyOf(kycIntakeExample));
      await review(caseId, 'assignment', people.alice, { assignee: 'alice' });
      const passport = documents.find((d) => d.document_type === 'PASSPORT');
      assert.ok(passport);
      const asked = await review(caseId, 'decisions', people.alice, {
        decision: 'REQUEST_INFORMATION',
        reason_codes: ['DOCUMENT_EXPIRED'],
        comment: 'The passport expired',
        requested_documents: [passport.id],
        requested_fields: ['persons/0/birthdate'],
      });
      assert.equal(asked.body.status, 'MORE_INFORMATION_REQUESTED', JSON.stringify(asked.body));
      const document = await call(
        'GET',
        `/api/v1/documents/${passport.id}?min_position=${asked.body.position}`,
        people.reader,
      );
      assert.equal(document.body.status, 'AWAITING_UPLOAD');

      for (const status of ['UPLOADED', 'VERIFIED_MANUAL']) {
        await call('PUT', `/api/v1/documents/${passport.id}/status`, people.intake, { new_status: status });
      }
      const reassigned = await review(caseId, 'assignment', people.alice, { assignee: 'alice' });
      assert.equal(reassigned.body.status, 'IN_REVIEW');
      const rejected = await review(caseId, 'decisions', people.alice, {
        decision: 'REJECT',
        reason_codes: ['IDENTITY_MISMATCH'],
      });
      assert.equal(rejected.body.status, 'REJECTED');
      const late = await review(caseId, 'decisions', people.alice, {
        decision: 'APPROVE',
        reason_codes: ['DOCUMENTS_VERIFIED'],
      });
      assert.equal(late.status, 409);
      assert.equal(late.body.code, 'case.invalid_transition');
      assert.deepEqual(late.body.allowed, ['CLOSED']);

      const closed = await review(caseId, 'close', people.alice, { reason_code: 'DECISION_COMMUNICATED' });
      assert.equal(closed.body.status, 'CLOSED');
      const byReviewer = await review(caseId, 'reopen', people.alice, { reason_code: 'NEW_INFORMATION' });
      assert.equal(byReviewer.status, 403);
      const reopened = await review(caseId, 'reopen', people.bob, { reason_code: 'NEW_INFORMATION' });
      assert.equal(reopened.body.status, 'PENDING_REVIEW');
    });

    it('keeps a manual override beside the computed rating, and its author cannot approve', async () => {
      const { caseId } = await caseAwaitingReview(copyOf(kycIntakeExample));
      await review(caseId, 'assignment', people.alice, { assignee: 'alice' });
      const byReviewer = await review(caseId, 'risk-override', people.alice, { rating: 'HIGH', reason: 'x' });
      assert.equal(byReviewer.status, 403);
      const overridden = await review(caseId, 'risk-override', people.carol, {
        rating: 'HIGH',
        reason: 'Adverse media',
      });
      assert.equal(overridden.status, 200);
      const found = await caseAt(caseId, overridden.body.position);
      const risk = found.risk as Json;
      assert.equal(risk.computed, 'LOW');
      assert.equal(risk.effective, 'HIGH');
      assert.equal((risk.override as Json).by, 'carol');
      const own = await review(caseId, 'decisions', people.carol, {
        decision: 'APPROVE',
        reason_codes: ['RISK_ACCEPTED'],
      });
      assert.equal(own.status, 409);
      assert.equal(own.body.code, 'review.own_override');
    });

    it('answers a retried command with the same Idempotency-Key without writing again', async () => {
      const { caseId } = await caseAwaitingReview(copyOf(kycIntakeExample));
      const headers = { 'idempotency-key': 'assign-once' };
      const first = await review(caseId, 'assignment', people.alice, { assignee: 'alice' }, headers);
      const again = await review(caseId, 'assignment', people.alice, { assignee: 'alice' }, headers);
      assert.equal(first.body.changed, true);
      assert.equal(again.body.changed, false);
      assert.equal(again.body.revision, first.body.revision);
    });

    it('refuses review commands to readers and operators, and on unknown cases', async () => {
      const { caseId } = await caseAwaitingReview(copyOf(kycIntakeExample));
      for (const key of [people.reader, people.intake]) {
        const refused = await review(caseId, 'assignment', key, { assignee: 'alice' });
        assert.equal(refused.status, 403);
      }
      const unknown = await review('no-such-case', 'assignment', people.alice, { assignee: 'alice' });
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.code, 'case.not_found');
    });

    if (!mode.grpc && mode.env.MONGODB_URL === undefined) {
      it('rebuilds the same ratings, approvals and times after a restart (read models replayed from the log)', async () => {
        const { caseId, position } = await caseAwaitingReview(copyOf(kybIntakeExample));
        await review(caseId, 'assignment', people.alice, { assignee: 'alice' });
        await review(caseId, 'risk-override', people.carol, { rating: 'MEDIUM', reason: 'Sector' });
        const last = await review(caseId, 'decisions', people.alice, {
          decision: 'APPROVE',
          reason_codes: ['DOCUMENTS_VERIFIED'],
        });
        const before = await caseAt(caseId, last.body.position ?? position);
        await service.stop();
        service = await startService(loadConfig(env), pino({ level: 'silent' }));
        const after = await caseAt(caseId, last.body.position);
        assert.deepEqual(after, before);
      });
    }
  });
