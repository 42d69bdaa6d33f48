import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileKeyRecords } from '../../src/eventsourcing/protection/file-key-records.ts';
import { createMemoryKeyRecords } from '../../src/eventsourcing/protection/key-store.ts';
import { keyStoreContract } from './key-store-contract.ts';

keyStoreContract('memory', async () => createMemoryKeyRecords());

keyStoreContract('file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return createFileKeyRecords(join(dir, 'keys.json'));
});
