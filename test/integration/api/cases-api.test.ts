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
import { eventually } from '../../support/eventually.ts';
import { copyOf, kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { testPersonalDataEnv } from '../../support/personal-data.ts';
import { mongoUrlForSuite } from '../../support/services.ts';

type Json = Record<string, unknown>;

const ferret = mongoUrlForSuite();
// The embedded mode reaches its event store in process; with EVENTSTORE_URL the service talks to
// a separate server through the EventStoreDB client, as in production. Both run the same tests.
const readStores: { name: string; env: Record<string, string>; grpc?: boolean; skip?: string }[] = [
  { name: 'embedded event store, in-memory read models', env: {} },
  'url' in ferret
    ? {
        name: 'embedded event store, read models in FerretDB',
        env: { MONGODB_URL: ferret.url, MONGODB_DATABASE: `api_${randomUUID().slice(0, 8)}` },
      }
    : { name: 'embedded event store, read models in FerretDB', env: {}, skip: ferret.skip },
  { name: 'event store over gRPC (EVENTSTORE_URL), in-memory read models', env: {}, grpc: true },
];

for (const readStore of readStores)
  describe(`REST API over HTTP (${readStore.name})`, {
    ...(readStore.skip ? { skip: readStore.skip } : {}),
  }, () => {
    let dataDir: string;
    let service: RunningService;
    let base: string;

    let separateStore: RunningEmulator | undefined;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'kyc-api-'));
      if (readStore.grpc) separateStore = await startEmulator({ port: 0 });
      const eventStoreEnv = separateStore ? { EVENTSTORE_URL: separateStore.connectionString } : {};
      service = await startService(
        loadConfig({
          DATA_DIR: dataDir,
          PORT: '0',
          ...readStore.env,
          ...eventStoreEnv,
          ...testPersonalDataEnv,
        }),
        pino({ level: 'silent' }),
      );
      base = service.url;
    });

    after(async () => {
      await service?.stop();
      await separateStore?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await response.text();
      return {
        status: response.status,
        headers: response.headers,
        body: (text === '' ? null : JSON.parse(text)) as Json & Json[],
      };
    }

    async function openCase(intake: unknown, key: string) {
      const response = await call('POST', '/api/v1/cases', intake, { 'idempotency-key': key });
      assert.equal(response.status, 202, JSON.stringify(response.body));
      return response.body as unknown as { case_id: string; position: string; revision: string };
    }

    it('opens a KYC case and serves it, its person and its documents (read-your-writes)', async () => {
      const opened = await openCase(kycIntakeExample, 'kyc-1');
      const found = await call('GET', `/api/v1/cases/${opened.case_id}?min_position=${opened.position}`);
      assert.equal(found.status, 200);
      assert.equal(found.body.client_id, 'kyc-client-001');
      assert.equal(found.body.traitement_type, 'KYC');
      assert.equal(found.body.status, 'OPEN');
      const persons = await call('GET', `/api/v1/persons/case/${opened.case_id}`);
      assert.deepEqual(
        persons.body.map((p) => [p.firstname, p.lastname]),
        [['John', 'Doe']],
      );
      const documents = await call('GET', `/api/v1/documents/case/${opened.case_id}`);
      assert.deepEqual(documents.body.map((d) => d.document_type).sort(), ['PASSPORT', 'PROOF_OF_ADDRESS']);
      assert.ok(documents.body.every((d) => d.status === 'AWAITING_UPLOAD'));
    });

    it('opens a KYB case with its company, director, beneficial owner and documents', async () => {
      const opened = await openCase(kybIntakeExample, 'kyb-1');
      const found = await call('GET', `/api/v1/cases/${opened.case_id}?min_position=${opened.position}`);
      const companyId = String(found.body.company_id);
      const company = await call('GET', `/api/v1/companies/${companyId}`);
      assert.equal(company.status, 200);
      assert.equal(company.body.registered_name, 'Test Corp Ltd');
      const owners = await call('GET', `/api/v1/companies/${companyId}/beneficial-owners`);
      assert.equal(owners.body.length, 1);
      assert.equal(owners.body[0]?.ownership_percentage, 75);
      const persons = await call('GET', `/api/v1/persons/case/${opened.case_id}`);
      assert.deepEqual(
        persons.body.map((p) => p.role_in_company),
        ['Director'],
      );
      const documents = await call('GET', `/api/v1/documents/case/${opened.case_id}`);
      const types = documents.body.map((d) => `${d.entity_type}:${d.document_type}`).sort();
      assert.deepEqual(types, [
        'BENEFICIAL_OWNER:PASSPORT_DIRECTOR_BO',
        'COMPANY:ARTICLES_OF_ASSOCIATION',
        'COMPANY:COMPANY_REGISTRATION_CERTIFICATE',
        'PERSON:PASSPORT_DIRECTOR_BO',
      ]);
      const filtered = await call(
        'GET',
        `/api/v1/documents/case/${opened.case_id}?entity_type=COMPANY&is_required=true`,
      );
      assert.equal(filtered.body.length, 2);
    });

    it('gives one case for the same intake sent twice with the same Idempotency-Key', async () => {
      const first = await openCase(kycIntakeExample, 'twice');
      const second = await openCase(kycIntakeExample, 'twice');
      assert.equal(second.case_id, first.case_id);
      const events = await call('GET', `/api/v1/cases/${first.case_id}/events`);
      assert.equal(events.body.filter((e) => e.event_type === 'CaseOpened').length, 1);
      const cases = await call(
        'GET',
        `/api/v1/cases?client_id=kyc-client-001&limit=100&min_position=${second.position}`,
      );
      assert.equal(cases.body.filter((c) => c.id === first.case_id).length, 1);
    });

    it('refuses a different intake under a used Idempotency-Key with 409', async () => {
      await openCase(kycIntakeExample, 'reused');
      const other = copyOf(kycIntakeExample);
      other.client_id = 'someone-else';
      const response = await call('POST', '/api/v1/cases', other, { 'idempotency-key': 'reused' });
      assert.equal(response.status, 409);
      assert.equal(response.body.code, 'intake.idempotency_key_reused');
    });

    it('answers an invalid intake with 400 naming every violation, and audits it', async () => {
      const response = await call(
        'POST',
        '/api/v1/cases',
        {
          client_id: '',
          version: '2.0',
          type: 'COMPANY_STANDARD',
          traitement_type: 'KYB',
          persons: [],
        },
        { 'idempotency-key': 'invalid-intake' },
      );
      assert.equal(response.status, 400);
      assert.match(String(response.headers.get('content-type')), /application\/problem\+json/);
      const paths = (response.body.violations as { path: string }[]).map((v) => v.path);
      for (const expected of ['body/client_id', 'body/version', 'body/company_profile']) {
        assert.ok(paths.includes(expected), `${expected} in ${paths.join(', ')}`);
      }
      // The refusal carries no position; a later write's position comes after its audit record.
      const later = await openCase(kycIntakeExample, 'after-the-refusal');
      const raw = await call('GET', `/api/v1/events/raw?limit=50&min_position=${later.position}`);
      const audited = raw.body.find((entry) => entry.idempotency_key === 'invalid-intake');
      assert.equal(audited?.outcome, 'rejected', 'the refused intake is in the raw intake audit');
      assert.equal(audited?.error_code, 'intake.invalid');
    });

    it('walks a document through the transition table and moves the case to review when all are resolved', async () => {
      const opened = await openCase(kycIntakeExample, 'walk');
      const documents = await call(
        'GET',
        `/api/v1/documents/case/${opened.case_id}?min_position=${opened.position}`,
      );
      const [passport, address] = ['PASSPORT', 'PROOF_OF_ADDRESS'].map(
        (type) => documents.body.find((d) => d.document_type === type)!.id as string,
      );

      const invalid = await call('PUT', `/api/v1/documents/${passport}/status`, {
        new_status: 'VERIFIED_MANUAL',
      });
      assert.equal(invalid.status, 409);
      assert.equal(invalid.body.code, 'document.invalid_transition');
      assert.deepEqual([...(invalid.body.allowed as string[])].sort(), ['NOT_APPLICABLE', 'UPLOADED']);

      const uploaded = await call('PUT', `/api/v1/documents/${passport}/status`, {
        new_status: 'UPLOADED',
        notes_to_add: ['scan received'],
        metadata_changes: { file_reference: 'doc_xyz.pdf' },
      });
      assert.equal(uploaded.status, 200);
      const document = uploaded.body.document as Json;
      assert.equal(document.status, 'UPLOADED');
      assert.deepEqual(document.notes, ['scan received']);

      const again = await call('PUT', `/api/v1/documents/${passport}/status`, { new_status: 'UPLOADED' });
      assert.equal(again.status, 200);
      assert.equal(
        again.body.revision,
        uploaded.body.revision,
        'setting the current status again writes nothing',
      );

      const current = await call('GET', `/api/v1/documents/${passport}`);
      const etag = String(current.headers.get('etag'));
      assert.equal(etag, `"${current.body.version}"`, 'the ETag is the version of the body served');
      assert.equal(etag, '"2"');
      // A change to another document of the same case leaves this one's ETag valid.
      const otherUploaded = await call('PUT', `/api/v1/documents/${address}/status`, {
        new_status: 'UPLOADED',
      });
      assert.equal(otherUploaded.status, 200);
      const stale = await call(
        'PUT',
        `/api/v1/documents/${passport}/status`,
        { new_status: 'VERIFIED_MANUAL' },
        { 'if-match': '"1"' },
      );
      assert.equal(stale.status, 412);
      assert.equal(stale.body.code, 'document.version_mismatch');
      assert.equal(stale.body.actual_version, 2);
      const verified = await call(
        'PUT',
        `/api/v1/documents/${passport}/status`,
        { new_status: 'VERIFIED_MANUAL' },
        { 'if-match': etag },
      );
      assert.equal(verified.status, 200);
      assert.equal(verified.headers.get('etag'), '"3"');

      const notApplicable = await call('PUT', `/api/v1/documents/${address}/status`, {
        new_status: 'VERIFIED_SYSTEM',
      });
      assert.equal(notApplicable.status, 200);
      const found = await call(
        'GET',
        `/api/v1/cases/${opened.case_id}?min_position=${notApplicable.body.position}`,
      );
      assert.equal(found.body.status, 'PENDING_REVIEW');
      const history = await call('GET', `/api/v1/cases/${opened.case_id}/events`);
      assert.ok(history.body.some((e) => e.event_type === 'NotificationRequired'));
    });

    it('determines requirements on demand, idempotently', async () => {
      const opened = await openCase(kycIntakeExample, 'determine');
      const persons = await call(
        'GET',
        `/api/v1/persons/case/${opened.case_id}?min_position=${opened.position}`,
      );
      const request = { case_id: opened.case_id, entity_id: persons.body[0]!.id, entity_type: 'PERSON' };
      const first = await call('POST', '/api/v1/documents/determine-requirements', request);
      assert.equal(first.status, 202);
      assert.equal((first.body.requirement_ids as string[]).length, 2);
      const second = await call('POST', '/api/v1/documents/determine-requirements', request);
      assert.deepEqual(second.body.requirement_ids, first.body.requirement_ids);
      const unknown = await call('POST', '/api/v1/documents/determine-requirements', {
        ...request,
        entity_id: 'ghost',
      });
      assert.equal(unknown.status, 404);
    });

    it('lists cases newest first with paging, sorted and counted by the read store', async () => {
      const opened: string[] = [];
      let position = '';
      for (const key of ['paged-1', 'paged-2', 'paged-3']) {
        const receipt = await openCase({ ...copyOf(kycIntakeExample), client_id: 'paged' }, key);
        opened.push(receipt.case_id);
        position = receipt.position;
      }
      const first = await call('GET', `/api/v1/cases?client_id=paged&limit=2&min_position=${position}`);
      assert.equal(first.status, 200);
      assert.equal(first.headers.get('x-total-count'), '3');
      const rest = await call('GET', '/api/v1/cases?client_id=paged&limit=2&skip=2');
      const listed = [...first.body, ...rest.body];
      assert.deepEqual(listed.map((c) => c.id).sort(), [...opened].sort());
      const createdAt = listed.map((c) => String(c.created_at));
      assert.deepEqual(createdAt, [...createdAt].sort().reverse());
    });

    it('rebuilds a read model on request and serves the same documents after the swap', async () => {
      const before = await call('GET', '/api/v1/cases?limit=500');
      const targetOfCases = async () => {
        const status = await call('GET', '/api/v1/admin/projections');
        const projections = status.body.projections as unknown as { name: string; target: string }[];
        return projections.find((p) => p.name === 'cases')!.target;
      };
      const targetBefore = await targetOfCases();
      const started = await call('POST', '/api/v1/admin/projections/cases/rebuild');
      assert.equal(started.status, 202);
      // The swap to the rebuilt collection shows as a new target.
      await eventually(
        'the rebuild of cases to swap',
        async () => ((await targetOfCases()) !== targetBefore ? true : undefined),
        20_000,
      );
      const after = await call('GET', '/api/v1/cases?limit=500');
      assert.deepEqual(after.body, before.body);
      const unknown = await call('POST', '/api/v1/admin/projections/nothing/rebuild');
      assert.equal(unknown.status, 409);
    });

    it('exposes Prometheus metrics for commands, events, requests and the projector', async () => {
      const response = await fetch(`${base}/metrics`);
      assert.equal(response.status, 200);
      const text = await response.text();
      for (const metric of [
        'kyc_commands_total{type="OpenCase",outcome="appended"}',
        'kyc_command_duration_seconds_bucket',
        'kyc_events_appended_total{category="case"}',
        'kyc_http_requests_total{route="/api/v1/cases/:case_id",method="GET",status="200"}',
        'kyc_http_request_duration_seconds_bucket',
        'kyc_projection_lag_events{projector="read-models"}',
        'kyc_projection_lag_seconds{projector="read-models"}',
        'kyc_projector_healthy{projector="read-models"} 1',
      ]) {
        assert.ok(text.includes(metric), `${metric} in /metrics`);
      }
    });
  });
