import {
  type Collection,
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoServerSelectionError,
} from 'mongodb';
import { ReadStoreUnavailableError } from '../readstore/port.ts';
import { checkLeaseIdentity, type Lease, type LeaseStore, type LeaseWrite } from './lease.ts';

const DUPLICATE_KEY = 11000;
/** Older versions of a lease kept after a write; the rest are deleted (only the newest is read). */
const VERSIONS_KEPT = 8;

type LeaseVersion = {
  _id: string;
  name: string;
  version: number;
  holder: string;
  token: number;
  expiresAt: number;
};

export type MongoLeaseStoreOptions = {
  url: string;
  database: string;
  /** Default `_leases`. */
  collection?: string;
};

/**
 * Leases in MongoDB (also FerretDB 1.x). Each write of a lease inserts its next version as a new
 * document whose `_id` is name and version: the unique `_id` makes the insert the compare-and-set,
 * so of two replicas writing version n + 1 exactly one succeeds. An update with a guard in its
 * filter would not do: FerretDB 1.x checks the filter and writes in separate steps, so two
 * concurrent guarded updates can both pass (measured on the test server). Reads take the newest
 * version; older ones are deleted after each write, keeping a few.
 */
export function createMongoLeaseStore(options: MongoLeaseStoreOptions): LeaseStore {
  const client = new MongoClient(options.url, { serverSelectionTimeoutMS: 5_000 });
  const versions: Collection<LeaseVersion> = client
    .db(options.database)
    .collection<LeaseVersion>(options.collection ?? '_leases');
  let prepared: Promise<unknown> | null = null;

  function prepare(): Promise<unknown> {
    prepared ??= versions.createIndex({ name: 1, version: -1 }).catch((error: unknown) => {
      prepared = null;
      throw error;
    });
    return prepared;
  }

  async function read(name: string): Promise<Lease | null> {
    const [newest] = await guarded(async () => {
      await prepare();
      return versions.find({ name }).sort({ version: -1 }).limit(1).toArray();
    });
    return newest ? leaseOf(newest) : null;
  }

  async function compareAndSet(expected: Lease | null, next: Omit<Lease, 'version'>): Promise<LeaseWrite> {
    const version = (expected?.version ?? 0) + 1;
    const document: LeaseVersion = { _id: `${next.name}@${version}`, ...next, version };
    try {
      await guarded(async () => {
        await prepare();
        await versions.insertOne(document);
      });
    } catch (error) {
      if (error instanceof MongoError && error.code === DUPLICATE_KEY) {
        return { outcome: 'conflict', current: await read(next.name) };
      }
      throw error;
    }
    // Housekeeping only: a failure here leaves extra versions behind, never a wrong lease.
    await versions
      .deleteMany({ name: next.name, version: { $lt: version - VERSIONS_KEPT } })
      .catch(() => undefined);
    return { outcome: 'written', lease: leaseOf(document) };
  }

  return {
    read,
    async acquire(name, holder, expected, expiresAt) {
      checkLeaseIdentity(name, holder);
      return compareAndSet(expected, { name, holder, token: (expected?.token ?? 0) + 1, expiresAt });
    },
    renew(lease, expiresAt) {
      return compareAndSet(lease, { ...withoutVersion(lease), expiresAt });
    },
    release(lease) {
      return compareAndSet(lease, { ...withoutVersion(lease), holder: '', expiresAt: 0 });
    },
    async close() {
      await client.close();
    },
  };
}

function leaseOf(document: LeaseVersion): Lease {
  const { name, holder, token, expiresAt, version } = document;
  return { name, holder, token, expiresAt, version };
}

function withoutVersion(lease: Lease): Omit<Lease, 'version'> {
  const { name, holder, token, expiresAt } = lease;
  return { name, holder, token, expiresAt };
}

/** Unreachable server: the read store's transient error, which callers already retry. */
async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) {
      throw new ReadStoreUnavailableError(`lease store unavailable: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
