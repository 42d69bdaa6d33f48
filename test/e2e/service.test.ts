import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type RunningService, startService } from '../support/service-process.ts';

describe('the service as a process (make run)', () => {
  let dataDir: string;
  let service: RunningService;

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kyc-e2e-'));
    service = await startService({ DATA_DIR: dataDir });
  });

  after(async () => {
    await service?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('answers GET /health with 200', async () => {
    const response = await fetch(`${service.baseUrl}/health`);
    assert.equal(response.status, 200);
  });

  it('serves its OpenAPI document', async () => {
    const response = await fetch(`${service.baseUrl}/openapi.json`);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as { openapi: string }).openapi, '3.1.0');
  });

  it('stops cleanly on SIGTERM', async () => {
    const other = await startService({ DATA_DIR: join(dataDir, 'other') });
    assert.equal(await other.stop(), 0);
  });
});
