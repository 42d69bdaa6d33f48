import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createMongoKeyRecords } from '../../src/eventsourcing/protection/mongo-key-records.ts';
import { mongoUrl } from '../support/services.ts';
import { keyStoreContract } from './key-store-contract.ts';

keyStoreContract('MongoDB (FerretDB)', async (t) => {
  const url = mongoUrl(t);
  if (!url) return undefined;
  const database = `keys_${randomUUID().slice(0, 12).replaceAll('-', '')}`;
  t.after(async () => {
    const client = new MongoClient(url);
    await client.db(database).dropDatabase();
    await client.close();
  });
  return createMongoKeyRecords({ url, database });
});
