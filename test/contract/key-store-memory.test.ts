import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
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
  const journal = await readFile(`${path}.journal`, 'utf8');
  const wrapped = journal
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as { key_id: string; wrapped: { ct: string } })
    .find((record) => record.key_id === shredded.keyId)?.wrapped.ct;
  assert.ok(wrapped !== undefined, 'a new key is in the journal once obtained');
  await first.destroy(shredded.keyId);
  await first.close();

  for (const file of await readdir(dir)) {
    const text = await readFile(join(dir, file), 'utf8');
    assert.ok(!text.includes(wrapped), `the wrapped bytes are gone from ${file}`);
  }
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

test('keys only in the journal survive a restart, and the start folds the journal into the key file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'keys.json');
  const kek = { id: 'kek-1', key: randomBytes(32) };
  const first = createKeyStore({ records: await createFileKeyRecords(path), kek });
  const kept = await first.obtain('case-1', 'person-1');
  await first.close();
  assert.notEqual(await readFile(`${path}.journal`, 'utf8'), '');

  const second = createKeyStore({ records: await createFileKeyRecords(path), kek });
  const found = await second.find(kept.keyId);
  assert.ok(found.status === 'active' && kept.outcome === 'active' && found.key.equals(kept.key));
  assert.equal(await readFile(`${path}.journal`, 'utf8'), '');
  const snapshot = JSON.parse(await readFile(path, 'utf8')) as { keys: { key_id: string }[] };
  assert.deepEqual(
    snapshot.keys.map((k) => k.key_id),
    [kept.keyId],
  );
  await second.close();
});

test('a journal line cut short by a crash is dropped; a bad line before the last stops the start', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'keys.json');
  const kek = { id: 'kek-1', key: randomBytes(32) };
  const first = createKeyStore({ records: await createFileKeyRecords(path), kek });
  const kept = await first.obtain('case-1', 'person-1');
  await first.close();
  const whole = await readFile(`${path}.journal`, 'utf8');
  await writeFile(`${path}.journal`, `${whole}{"key_id":"cut-sho`);

  const second = createKeyStore({ records: await createFileKeyRecords(path), kek });
  assert.equal((await second.find(kept.keyId)).status, 'active');
  assert.equal(await readFile(`${path}.journal`, 'utf8'), '');
  await second.close();

  await writeFile(`${path}.journal`, `{"key_id":"cut-sho\n${whole}`);
  await assert.rejects(createFileKeyRecords(path), /line 1 is not a key record/);
});

test('a destroyed key’s bytes left in the journal by a crash are gone once the store starts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-keys-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'keys.json');
  const kek = { id: 'kek-1', key: randomBytes(32) };
  const first = createKeyStore({ records: await createFileKeyRecords(path), kek });
  const shredded = await first.obtain('case-1', 'person-1');
  await first.close();
  const journal = await readFile(`${path}.journal`, 'utf8');
  const wrapped = (JSON.parse(journal) as { wrapped: { ct: string } }).wrapped.ct;
  // The destroy rewrote the key file, then the process died before it emptied the journal.
  const records = await createFileKeyRecords(path);
  await records.markDestroyed(shredded.keyId, new Date().toISOString());
  await records.close();
  await writeFile(`${path}.journal`, journal);

  const second = createKeyStore({ records: await createFileKeyRecords(path), kek });
  assert.equal((await second.find(shredded.keyId)).status, 'destroyed');
  for (const file of await readdir(dir)) {
    assert.ok(
      !(await readFile(join(dir, file), 'utf8')).includes(wrapped),
      `the wrapped bytes are gone from ${file}`,
    );
  }
  await second.close();
});
