import { MongoClient, MongoServerError } from 'mongodb';
import type { KeyRecord, KeyRecords } from './key-store.ts';

type KeyDocument = Omit<KeyRecord, 'key_id'> & { _id: string };

const toRecord = ({ _id, ...rest }: KeyDocument): KeyRecord => ({ key_id: _id, ...rest });

export type MongoKeyRecordsOptions = {
  url: string;
  database: string;
  /** Default `personal_data_keys`. */
  collection?: string;
};

/**
 * Key records in a MongoDB collection (the read store's database, its own client: the key store
 * is a separate concern with its own lifetime). One document per data key, `_id` = key id;
 * destroying unsets the wrapped key in place, so the tombstone keeps saying "erased".
 */
export async function createMongoKeyRecords(options: MongoKeyRecordsOptions): Promise<KeyRecords> {
  const client = new MongoClient(options.url, { serverSelectionTimeoutMS: 5_000 });
  const keys = client
    .db(options.database)
    .collection<KeyDocument>(options.collection ?? 'personal_data_keys');
  try {
    await keys.createIndex({ scope: 1 });
    // Replicas ask every second or so which keys were destroyed lately.
    await keys.createIndex({ destroyed_at: 1 });
  } catch (error) {
    await client.close();
    throw error;
  }
  return {
    async insertIfAbsent(record) {
      const { key_id, ...rest } = record;
      try {
        await keys.insertOne({ _id: key_id, ...rest });
        return record;
      } catch (error) {
        // Another replica stored this key first: theirs wins.
        if (!(error instanceof MongoServerError && error.code === 11000)) throw error;
        const stored = await keys.findOne({ _id: key_id });
        if (!stored) throw error;
        return toRecord(stored);
      }
    },
    async get(keyId) {
      const document = await keys.findOne({ _id: keyId });
      return document ? toRecord(document) : null;
    },
    async listByScope(scope) {
      return (await keys.find({ scope }).sort({ _id: 1 }).toArray()).map(toRecord);
    },
    async listWrappedOtherThan(kekId) {
      return (await keys.find({ destroyed_at: null, kek_id: { $ne: kekId } }).toArray()).map(toRecord);
    },
    async rewrap(keyId, fromKekId, to) {
      const result = await keys.updateOne(
        { _id: keyId, kek_id: fromKekId, destroyed_at: null },
        { $set: { kek_id: to.kekId, wrapped: to.wrapped } },
      );
      return result.modifiedCount === 1;
    },
    async destroyedSince(at) {
      const destroyed = await keys.find({ destroyed_at: { $gte: at } }, { projection: { _id: 1 } }).toArray();
      return destroyed.map((document) => document._id);
    },
    async markDestroyed(keyId, at) {
      await keys.updateOne(
        { _id: keyId, destroyed_at: null },
        { $set: { destroyed_at: at, kek_id: null, wrapped: null } },
      );
      // A second destroy finds it already destroyed: same answer, first date kept.
      const document = await keys.findOne({ _id: keyId });
      return document ? toRecord(document) : null;
    },
    close: () => client.close(),
  };
}
