import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it, type TestContext } from 'node:test';
import {
  type AnyBulkWriteOperation,
  type Collection,
  MongoBulkWriteError,
  MongoClient,
  MongoServerError,
} from 'mongodb';
import { mongoUrl } from '../../support/services.ts';

// Smoke tests for the MongoDB-wire test server (FerretDB) started by scripts/services.sh: the
// driver features the read store relies on work against it. Every test uses its own database.

type ReadModel = { _id: string; position: number; name: string };

async function collection(t: TestContext): Promise<Collection<ReadModel> | undefined> {
  const url = mongoUrl(t);
  if (url === undefined) return undefined;
  const client = new MongoClient(url, { serverSelectionTimeoutMS: 5_000 });
  const db = client.db(`smoke_${randomBytes(6).toString('hex')}`);
  t.after(async () => {
    try {
      await db.dropDatabase();
    } finally {
      await client.close();
    }
  });
  await client.connect();
  return db.collection<ReadModel>('read_model');
}

const duplicateKey = 11000;

function guardedUpsert({ _id, position, name }: ReadModel): AnyBulkWriteOperation<ReadModel> {
  return {
    updateOne: {
      filter: { _id, position: { $lt: position } },
      update: { $set: { position, name } },
      upsert: true,
    },
  };
}

function onlyDuplicateKeys(error: unknown): boolean {
  if (!(error instanceof MongoBulkWriteError)) return false;
  const writeErrors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
  return writeErrors.every((writeError) => writeError.code === duplicateKey);
}

/**
 * Writes each document unless the stored one was built from the same or a later position. The
 * filter only matches an older document; when none matches, the upsert inserts and fails with a
 * duplicate key because the document exists: that means "already applied".
 *
 * FerretDB v1 ignores `ordered: false` on `update`: it stops at the first failing statement,
 * reports it at index 0 and drops the counts of the statements before it. So after a duplicate
 * key the whole batch is replayed one statement at a time, which is safe because every statement
 * is idempotent; MongoDB takes the same path.
 */
async function applyGuarded(target: Collection<ReadModel>, documents: readonly ReadModel[]): Promise<void> {
  const operations = documents.map(guardedUpsert);
  try {
    await target.bulkWrite(operations, { ordered: false });
    return;
  } catch (error) {
    if (!onlyDuplicateKeys(error)) throw error;
  }
  for (const operation of operations) {
    try {
      await target.bulkWrite([operation]);
    } catch (error) {
      if (!onlyDuplicateKeys(error)) throw error;
    }
  }
}

describe('MongoDB test server', () => {
  it('finds a document that was inserted', async (t) => {
    const target = await collection(t);
    if (target === undefined) return;

    await target.insertOne({ _id: 'case-1', position: 1, name: 'Ada' });

    assert.deepEqual(await target.findOne({ _id: 'case-1' }), { _id: 'case-1', position: 1, name: 'Ada' });
    assert.equal(await target.findOne({ _id: 'case-2' }), null);
  });

  it('reports a unique index violation as E11000 with code 11000', async (t) => {
    const target = await collection(t);
    if (target === undefined) return;
    await target.createIndex({ name: 1 }, { unique: true });
    await target.insertOne({ _id: 'case-1', position: 1, name: 'Ada' });

    await assert.rejects(target.insertOne({ _id: 'case-2', position: 1, name: 'Ada' }), (error: unknown) => {
      assert.ok(error instanceof MongoServerError, `expected a MongoServerError, got ${String(error)}`);
      assert.equal(error.code, duplicateKey);
      assert.match(error.message, /E11000/);
      return true;
    });
  });

  it('rejects a guarded upsert from an older or the same position as a duplicate key', async (t) => {
    const target = await collection(t);
    if (target === undefined) return;
    await target.insertOne({ _id: 'case-1', position: 5, name: 'at 5' });

    for (const position of [4, 5]) {
      await assert.rejects(
        target.bulkWrite([guardedUpsert({ _id: 'case-1', position, name: 'stale' })]),
        (error) => onlyDuplicateKeys(error),
      );
    }

    assert.deepEqual(await target.findOne({ _id: 'case-1' }), { _id: 'case-1', position: 5, name: 'at 5' });
  });

  it('applies a bulk of guarded upserts and leaves documents at a later position unchanged', async (t) => {
    const target = await collection(t);
    if (target === undefined) return;

    const first = await target.bulkWrite(
      [
        guardedUpsert({ _id: 'case-a', position: 5, name: 'a@5' }),
        guardedUpsert({ _id: 'case-b', position: 3, name: 'b@3' }),
      ],
      { ordered: false },
    );
    assert.equal(first.upsertedCount, 2);

    // case-a: an older position, then a replay of the stored one; case-b: a newer position.
    await applyGuarded(target, [
      { _id: 'case-a', position: 4, name: 'a@4' },
      { _id: 'case-a', position: 5, name: 'a@5 replayed' },
      { _id: 'case-b', position: 7, name: 'b@7' },
    ]);

    assert.deepEqual(await target.find().sort({ _id: 1 }).toArray(), [
      { _id: 'case-a', position: 5, name: 'a@5' },
      { _id: 'case-b', position: 7, name: 'b@7' },
    ]);
  });
});
