// Prints the service's OpenAPI document as it serves it at /openapi.json: the service is started
// in process (embedded event store, in-memory read models, a throwaway data directory, any free
// port on loopback) and stopped again. Used by scripts/lint-openapi.sh.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../src/app/config.ts';
import { startService } from '../src/app/service.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'kyc-openapi-'));
const service = await startService(
  loadConfig({ DATA_DIR: dataDir, PORT: '0', HOST: '127.0.0.1' }),
  pino({ level: 'silent' }),
);
try {
  const response = await fetch(`${service.url}/openapi.json`);
  if (!response.ok) throw new Error(`/openapi.json answered ${response.status}`);
  process.stdout.write(`${JSON.stringify(await response.json(), null, 2)}\n`);
} finally {
  await service.stop();
  await rm(dataDir, { recursive: true, force: true });
}
