import { randomUUID } from 'node:crypto';
import { MongoClient } from 'mongodb';
import { createMongoLeaseStore } from '../../src/eventsourcing/leadership/mongo.ts';
import { mongoUrl } from '../support/services.ts';
import { leaseStoreContract } from './lease-store-contract.ts';

// Each test on its own database (dropped afterwards). The racing tests send concurrent writes
// through one store, whose client runs them on separate pooled connections, as replicas would.
leaseStoreContract('MongoDB (FerretDB)', async (t) => {
  const url = mongoUrl(t);
  if (!url) return undefined;
  const database = `lease_${randomUUID().slice(0, 12).replaceAll('-', '')}`;
  t.after(async () => {
    const client = new MongoClient(url);
    await client.db(database).dropDatabase();
    await client.close();
  });
  return createMongoLeaseStore({ url, database });
});
