import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createFileKeyRecords } from '../../src/eventsourcing/protection/file-key-records.ts';
import { createKeyStore, createMemoryKeyRecords } from '../../src/eventsourcing/protection/key-store.ts';
import { keyStoreContract } from './key-store-contract.ts';

keyStoreContract('memory', async () => createMemoryKeyRecords());

keyStoreContract('file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return createFileKeyRecords(join(dir, 'keys.json'));
});

test('the key file keeps keys across a restart and loses a destroyed key’s bytes at once', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'keys.json');
  const kek = { id: 'kek-1', key: randomBytes(32) };
  const first = createKeyStore({ records: await createFileKeyRecords(path), kek });
  const kept = await first.obtain('case-1', 'kept');
  const shredded = await first.obtain('case-1', 'shredded');
  assert.ok(shredded.outcome === 'active');
  const wrappedBefore = JSON.stringify(
    (JSON.parse(await readFile(path, 'utf8')) as { keys: unknown[] }).keys[1],
  );
  await first.destroy(shredded.keyId);
  await first.close();

  const text = await readFile(path, 'utf8');
  assert.ok(!text.includes(JSON.parse(wrappedBefore).wrapped.ct), 'the wrapped bytes are gone from the file');
  const second = createKeyStore({ records: await createFileKeyRecords(path), kek });
  const found = await second.find(kept.keyId);
  assert.ok(found.status === 'active' && kept.outcome === 'active' && found.key.equals(kept.key));
  assert.equal((await second.find(shredded.keyId)).status, 'destroyed');
  await second.close();
});

test('a key file that is not ours stops the start instead of starting with no keys', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'keys.json');
  await writeFile(path, '{"something":"else"}');
  await assert.rejects(createFileKeyRecords(path), /not a key file of version 1/);
  await writeFile(path, '{"version":1,"keys":[');
  await assert.rejects(createFileKeyRecords(path), SyntaxError);
});
