import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { MongoClient } from 'mongodb';
import { createMongoReadStore } from '../../src/eventsourcing/readstore/mongo.ts';
import type { ReadStore } from '../../src/eventsourcing/readstore/port.ts';
import { mongoUrl } from './services.ts';

/**
 * A MongoDB read store on its own fresh database (dropped after the test), or undefined after
 * skipping the test when no MongoDB-wire server is configured.
 */
export async function mongoReadStore(
  t: TestContext,
  options: { aliasCacheMs?: number } = {},
): Promise<ReadStore | undefined> {
  const url = mongoUrl(t);
  if (!url) return undefined;
  const database = `es_${randomUUID().slice(0, 12).replaceAll('-', '')}`;
  const store = createMongoReadStore({ url, database, aliasCacheMs: options.aliasCacheMs ?? 0 });
  t.after(async () => {
    await store.close();
    const client = new MongoClient(url);
    await client.db(database).dropDatabase();
    await client.close();
  });
  return store;
}
