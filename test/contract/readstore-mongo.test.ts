import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createMongoReadStore } from '../../src/eventsourcing/readstore/mongo.ts';
import { mongoUrl } from '../support/services.ts';
import { readStoreContract } from './readstore-contract.ts';

readStoreContract('MongoDB (FerretDB)', async (t) => {
  const url = mongoUrl(t);
  if (!url) return undefined;
  const database = `rs_contract_${randomUUID().slice(0, 8)}`;
  t.after(async () => {
    const client = new MongoClient(url);
    await client.db(database).dropDatabase();
    await client.close();
  });
  return createMongoReadStore({ url, database, aliasCacheMs: 0 });
});
