import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, it } from 'node:test';
import { MongoClient } from 'mongodb';
import { createKeyStore, type KeyStore } from '../../../src/eventsourcing/protection/key-store.ts';
import { createMongoKeyRecords } from '../../../src/eventsourcing/protection/mongo-key-records.ts';
import { eventually } from '../../support/eventually.ts';
import { mongoUrl } from '../../support/services.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const kek = { id: 'kek-1', key: randomBytes(32) };

/** Two replicas' key stores on one database, each with its own client and cache. */
async function twoReplicas(url: string, options: { revalidateMs: number }): Promise<[KeyStore, KeyStore]> {
  const database = `keycache_${randomUUID().slice(0, 12).replaceAll('-', '')}`;
  cleanups.push(async () => {
    const client = new MongoClient(url);
    await client.db(database).dropDatabase();
    await client.close();
  });
  const open = async () => {
    const store = createKeyStore({
      records: await createMongoKeyRecords({ url, database }),
      kek,
      cacheMs: 60_000,
      revalidateMs: options.revalidateMs,
    });
    cleanups.push(() => store.close());
    return store;
  };
  return [await open(), await open()];
}

it('a key destroyed on one replica stops opening on another within the revalidation time, not the 60 s cache', async (t) => {
  const url = mongoUrl(t);
  if (!url) return;
  const revalidateMs = 300;
  const [one, other] = await twoReplicas(url, { revalidateMs });
  const obtained = await one.obtain(`case-${randomUUID()}`, 'person-1');
  assert.equal(obtained.outcome, 'active');
  assert.equal((await other.find(obtained.keyId)).status, 'active', "now in the other replica's cache");

  await one.destroy(obtained.keyId);
  const destroyedAt = Date.now();
  await eventually(
    'the other replica to see the key destroyed',
    async () => ((await other.find(obtained.keyId)).status === 'destroyed' ? true : undefined),
    10_000,
  );
  const seenAfterMs = Date.now() - destroyedAt;
  // The bound: the revalidation interval plus one query (generous for a shared, busy machine).
  assert.ok(seenAfterMs < revalidateMs + 2_000, `seen after ${seenAfterMs} ms`);
});

it('without revalidation the other replica keeps opening the destroyed key from its cache (the fault fixed above)', async (t) => {
  const url = mongoUrl(t);
  if (!url) return;
  const [one, other] = await twoReplicas(url, { revalidateMs: 3_600_000 });
  const obtained = await one.obtain(`case-${randomUUID()}`, 'person-1');
  assert.equal((await other.find(obtained.keyId)).status, 'active');
  await one.destroy(obtained.keyId);
  assert.equal((await one.find(obtained.keyId)).status, 'destroyed');
  assert.equal((await other.find(obtained.keyId)).status, 'active');
});
