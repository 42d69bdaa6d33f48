import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningEmulator, startEmulator } from '../../src/emulator/index.ts';
import { kybIntakeExample, kycIntakeExample } from '../support/intake-examples.ts';
import { type RunningService, startService } from '../support/service-process.ts';

type Json = Record<string, unknown>;

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  assert.equal(response.status, 200, `${url} answered ${response.status}`);
  return response.json();
}

async function post(url: string, body: unknown, key: string): Promise<Json> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 202);
  return (await response.json()) as Json;
}

/** Everything the API knows about a case, to compare before and after a restart. */
async function snapshot(base: string, caseId: string, minPosition: string): Promise<unknown> {
  const found = (await getJson(`${base}/api/v1/cases/${caseId}?min_position=${minPosition}`)) as Json;
  const companyId = found.company_id;
  return {
    case: found,
    events: await getJson(`${base}/api/v1/cases/${caseId}/events`),
    persons: await getJson(`${base}/api/v1/persons/case/${caseId}?limit=100`),
    documents: await getJson(`${base}/api/v1/documents/case/${caseId}`),
    company: typeof companyId === 'string' ? await getJson(`${base}/api/v1/companies/${companyId}`) : null,
    owners:
      typeof companyId === 'string'
        ? await getJson(`${base}/api/v1/companies/${companyId}/beneficial-owners`)
        : null,
  };
}

// `make run` as it is (embedded event store), and as in production: EVENTSTORE_URL to a separate
// event store, which outlives the service's restart.
for (const mode of [
  { name: 'embedded event store', grpc: false },
  { name: 'EVENTSTORE_URL', grpc: true },
])
  describe(`the service as a process (make run, ${mode.name})`, () => {
    let dataDir: string;
    let service: RunningService;
    let store: RunningEmulator | undefined;
    let env: Record<string, string>;

    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'kyc-e2e-'));
      store = mode.grpc ? await startEmulator({ port: 0, dataDir: join(dataDir, 'store') }) : undefined;
      env = { DATA_DIR: dataDir, ...(store ? { EVENTSTORE_URL: store.connectionString } : {}) };
      service = await startService(env);
    });

    after(async () => {
      await service?.stop();
      await store?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('answers GET /health with 200 and serves its OpenAPI document', async () => {
      assert.equal((await fetch(`${service.baseUrl}/health`)).status, 200);
      const openapi = (await getJson(`${service.baseUrl}/openapi.json`)) as { openapi: string; paths: Json };
      assert.equal(openapi.openapi, '3.1.0');
      assert.ok(openapi.paths['/api/v1/cases']);
    });

    it('keeps every case identical across a restart (read models rebuilt from the log)', async () => {
      const kyc = await post(`${service.baseUrl}/api/v1/cases`, kycIntakeExample, 'e2e-kyc');
      const kyb = await post(`${service.baseUrl}/api/v1/cases`, kybIntakeExample, 'e2e-kyb');
      const documents = (await getJson(
        `${service.baseUrl}/api/v1/documents/case/${kyc.case_id}?min_position=${kyc.position}`,
      )) as Json[];
      const change = await fetch(`${service.baseUrl}/api/v1/documents/${documents[0]!.id}/status`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ new_status: 'UPLOADED', notes_to_add: ['received by post'] }),
      });
      assert.equal(change.status, 200);
      const changed = (await change.json()) as Json;

      const before = {
        kyc: await snapshot(service.baseUrl, String(kyc.case_id), String(changed.position)),
        kyb: await snapshot(service.baseUrl, String(kyb.case_id), String(kyb.position)),
      };
      assert.equal(await service.stop(), 0);

      service = await startService(env);
      const after = {
        kyc: await snapshot(service.baseUrl, String(kyc.case_id), String(changed.position)),
        kyb: await snapshot(service.baseUrl, String(kyb.case_id), String(kyb.position)),
      };
      assert.deepEqual(after, before);
    });

    it('stops cleanly on SIGTERM', async () => {
      const other = await startService({ ...env, DATA_DIR: join(dataDir, 'other') });
      assert.equal(await other.stop(), 0);
    });
  });
