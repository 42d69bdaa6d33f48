import { createHash } from 'node:crypto';
import { generateKey, KEY_BYTES, open, seal } from './envelope.ts';

// Data keys (one per scope and subject) live apart from the event log, each wrapped by a
// key-encryption key (KEK) from configuration: a copy of the key store alone opens nothing, and
// destroying a data key is deleting its wrapped bytes. A destroyed key leaves a tombstone, so a
// reader can tell "erased" from "this key store never had it" (a wrong database, a lost file).

/** A key-encryption key and the id recorded beside everything it wraps. */
export type Kek = { id: string; key: Buffer };

/** What the key store keeps per data key. `wrapped` and `kek_id` are null once destroyed. */
export type KeyRecord = {
  key_id: string;
  scope: string;
  subject: string;
  kek_id: string | null;
  /** The data key sealed under the KEK (see {@link wrap}). */
  wrapped: { iv: string; ct: string } | null;
  created_at: string;
  destroyed_at: string | null;
};

/**
 * Where key records are kept (memory, a file, a MongoDB collection). Every method is atomic per
 * record; unexpected storage errors propagate.
 */
export type KeyRecords = {
  /** Stores `record` unless one with its key_id exists; returns the stored one either way. */
  insertIfAbsent(record: KeyRecord): Promise<KeyRecord>;
  get(keyId: string): Promise<KeyRecord | null>;
  listByScope(scope: string): Promise<KeyRecord[]>;
  /** Records still wrapped by a KEK other than `kekId`. */
  listWrappedOtherThan(kekId: string): Promise<KeyRecord[]>;
  /** Replaces the wrapping when the record is still wrapped by `fromKekId`; false otherwise. */
  rewrap(
    keyId: string,
    fromKekId: string,
    to: { kekId: string; wrapped: KeyRecord['wrapped'] },
  ): Promise<boolean>;
  /**
   * Ids of the keys destroyed at or after `at` (ISO time), whoever destroyed them: how a replica
   * learns, cheaply, that a key it holds in its cache was destroyed by another one.
   */
  destroyedSince(at: string): Promise<string[]>;
  /** Drops the wrapped key and sets destroyed_at (kept when already set); null when unknown. */
  markDestroyed(keyId: string, at: string): Promise<KeyRecord | null>;
  close(): Promise<void>;
};

export type ObtainedKey =
  | { outcome: 'active'; keyId: string; key: Buffer }
  | { outcome: 'destroyed'; keyId: string };

export type KeyLookup =
  | { status: 'active'; key: Buffer }
  | { status: 'destroyed'; destroyedAt: string }
  | { status: 'unknown' };

export type KeySummary = {
  keyId: string;
  scope: string;
  subject: string;
  status: 'active' | 'destroyed';
  kekId: string | null;
  createdAt: string;
  destroyedAt: string | null;
};

export type KeyStore = {
  /**
   * The data key of (scope, subject), created and stored on first use, before it returns: an
   * event sealed with it is never written before its key. Safe when replicas race (one key wins).
   * `destroyed` once the subject was erased: nothing new may be sealed for it.
   * `likelyNew` (the first events of a new stream): store a new key straight away instead of
   * looking for one first; an existing key still wins, so the answer is the same either way.
   */
  obtain(scope: string, subject: string, options?: { likelyNew?: boolean }): Promise<ObtainedKey>;
  find(keyId: string): Promise<KeyLookup>;
  /** Shreds a data key; idempotent. Readers of this process see it at once, other replicas within `revalidateMs` plus a query. */
  destroy(keyId: string): Promise<'destroyed' | 'already_destroyed' | 'unknown'>;
  listByScope(scope: string): Promise<KeySummary[]>;
  /**
   * Makes sure `keyId` reads as destroyed: destroys it when present, and when this store never
   * had it (restored from a backup older than the key) records its tombstone, so its ciphertexts
   * read as erased rather than tampered. Idempotent.
   */
  entomb(keyId: string, scope: string): Promise<'destroyed' | 'already_destroyed' | 'tombstone_added'>;
  /** Rewraps every key still under an older KEK with the current one; returns how many. */
  rewrapAll(): Promise<number>;
  close(): Promise<void>;
};

/** Namespace of key ids (fixed once: changing it changes every key id). */
const KEY_ID_NAMESPACE = Buffer.from('3d1f9a4c7b2e4e0a8c5d6f1b2a3e4d5c', 'hex');

/** The id of the data key of (scope, subject): a name-based UUID, the same on every replica. */
export function keyIdOf(scope: string, subject: string): string {
  const bytes = createHash('sha1')
    .update(KEY_ID_NAMESPACE)
    .update(`${scope}\u0000${subject}`, 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// The wrapping binds the data key to its id and KEK: a wrapped key moved to another record fails.
const wrappingData = (keyId: string, kekId: string) => `kyc-data-key/v1|${keyId}|${kekId}`;

export function wrap(kek: Kek, keyId: string, key: Buffer): NonNullable<KeyRecord['wrapped']> {
  return seal(kek.key, key.toString('base64'), wrappingData(keyId, kek.id));
}

/** Thrown when a stored key cannot be unwrapped: an unknown KEK id, or a record that was altered. */
export class KeyUnwrapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KeyUnwrapError';
  }
}

export type KeyStoreOptions = {
  records: KeyRecords;
  /** The KEK new keys are wrapped with. */
  kek: Kek;
  /** Older KEKs still able to unwrap, until {@link KeyStore.rewrapAll} moved every key off them. */
  previousKeks?: readonly Kek[];
  /** How long an unwrapped key is reused before its record is read again. */
  cacheMs?: number;
  /**
   * How often, at most, a cached key in use is checked against the keys destroyed since the last
   * check (one query for the whole cache), so a key another replica destroyed stops opening here
   * within this time plus that query's. Default 1 s; 0 checks before every use of the cache.
   */
  revalidateMs?: number;
  /** How far back each check looks, beyond the last one: covers clock skew between replicas. */
  clockSkewMs?: number;
  cacheMaxEntries?: number;
  clock?: () => Date;
};

/** A key store over any {@link KeyRecords}: wrapping, unwrapping and a small cache of unwrapped keys. */
export function createKeyStore(options: KeyStoreOptions): KeyStore {
  const { records, kek } = options;
  const keks = new Map<string, Kek>([...(options.previousKeks ?? []), kek].map((k) => [k.id, k]));
  for (const k of keks.values()) {
    if (k.key.length !== KEY_BYTES) throw new Error(`KEK ${k.id} must have ${KEY_BYTES} bytes`);
  }
  const cacheMs = options.cacheMs ?? 60_000;
  const cacheMaxEntries = options.cacheMaxEntries ?? 10_000;
  const clock = options.clock ?? (() => new Date());
  const cache = new Map<string, { lookup: KeyLookup; at: number }>();
  const revalidateMs = options.revalidateMs ?? 1_000;
  const clockSkewMs = options.clockSkewMs ?? 60_000;
  // When the cache was last checked against destroyed keys, and the check under way if any.
  let checkedAt = Date.now();
  let checking: Promise<void> | null = null;

  /** Drops from the cache every key destroyed since the last check (one query, shared by callers). */
  function revalidate(): Promise<void> {
    if (checking) return checking;
    const startedAt = Date.now();
    const since = new Date(clock().getTime() - (startedAt - checkedAt) - clockSkewMs).toISOString();
    checking = records
      .destroyedSince(since)
      .then((destroyed) => {
        for (const keyId of destroyed) {
          if (cache.get(keyId)?.lookup.status === 'active') cache.delete(keyId);
        }
        checkedAt = startedAt;
      })
      .finally(() => {
        checking = null;
      });
    return checking;
  }

  function remember(keyId: string, lookup: KeyLookup): void {
    if (cache.size >= cacheMaxEntries) cache.delete(cache.keys().next().value!);
    cache.set(keyId, { lookup, at: Date.now() });
  }

  function unwrap(record: KeyRecord): Buffer {
    const wrapping = record.kek_id === null ? undefined : keks.get(record.kek_id);
    if (!wrapping || !record.wrapped) {
      throw new KeyUnwrapError(
        `data key ${record.key_id} is wrapped by KEK "${record.kek_id}", which is not configured`,
      );
    }
    const opened = open(wrapping.key, record.wrapped, wrappingData(record.key_id, wrapping.id));
    if (opened.outcome !== 'ok')
      throw new KeyUnwrapError(`data key ${record.key_id} cannot be unwrapped: ${opened.reason}`);
    const key = Buffer.from(opened.plaintext, 'base64');
    if (key.length !== KEY_BYTES) throw new KeyUnwrapError(`data key ${record.key_id} has the wrong size`);
    return key;
  }

  function lookupOf(record: KeyRecord | null): KeyLookup {
    if (record === null) return { status: 'unknown' };
    if (record.destroyed_at !== null) return { status: 'destroyed', destroyedAt: record.destroyed_at };
    return { status: 'active', key: unwrap(record) };
  }

  async function find(keyId: string): Promise<KeyLookup> {
    let cached = cache.get(keyId);
    if (cached?.lookup.status === 'active' && Date.now() - checkedAt >= revalidateMs) {
      await revalidate();
      cached = cache.get(keyId);
    }
    // Destruction is final, so a destroyed lookup never expires.
    if (cached && (cached.lookup.status === 'destroyed' || Date.now() - cached.at < cacheMs))
      return cached.lookup;
    const lookup = lookupOf(await records.get(keyId));
    if (lookup.status !== 'unknown') remember(keyId, lookup);
    return lookup;
  }

  async function destroy(keyId: string): Promise<'destroyed' | 'already_destroyed' | 'unknown'> {
    const before = await records.get(keyId);
    if (before === null) return 'unknown';
    const after = await records.markDestroyed(keyId, clock().toISOString());
    if (after?.destroyed_at) remember(keyId, { status: 'destroyed', destroyedAt: after.destroyed_at });
    return before.destroyed_at === null ? 'destroyed' : 'already_destroyed';
  }

  return {
    async obtain(scope, subject, obtainOptions) {
      const keyId = keyIdOf(scope, subject);
      // A new subject's lookup would only find nothing: one round trip to the records saved.
      let lookup: KeyLookup =
        obtainOptions?.likelyNew && !cache.has(keyId) ? { status: 'unknown' } : await find(keyId);
      if (lookup.status === 'unknown') {
        const key = generateKey();
        const stored = await records.insertIfAbsent({
          key_id: keyId,
          scope,
          subject,
          kek_id: kek.id,
          wrapped: wrap(kek, keyId, key),
          created_at: clock().toISOString(),
          destroyed_at: null,
        });
        lookup = lookupOf(stored);
        remember(keyId, lookup);
      }
      return lookup.status === 'active'
        ? { outcome: 'active', keyId, key: lookup.key }
        : { outcome: 'destroyed', keyId };
    },
    find,
    destroy,
    async entomb(keyId, scope) {
      const destroyed = await destroy(keyId);
      if (destroyed !== 'unknown') return destroyed;
      const at = clock().toISOString();
      const stored = await records.insertIfAbsent({
        key_id: keyId,
        scope,
        subject: 'tombstone from the erasure ledger',
        kek_id: null,
        wrapped: null,
        created_at: at,
        destroyed_at: at,
      });
      // Another writer stored the live key meanwhile: destroy it all the same.
      if (stored.destroyed_at === null) await destroy(keyId);
      remember(keyId, { status: 'destroyed', destroyedAt: stored.destroyed_at ?? at });
      return 'tombstone_added';
    },
    async listByScope(scope) {
      return (await records.listByScope(scope)).map((r) => ({
        keyId: r.key_id,
        scope: r.scope,
        subject: r.subject,
        status: r.destroyed_at === null ? 'active' : 'destroyed',
        kekId: r.kek_id,
        createdAt: r.created_at,
        destroyedAt: r.destroyed_at,
      }));
    },
    async rewrapAll() {
      let count = 0;
      for (const record of await records.listWrappedOtherThan(kek.id)) {
        if (record.destroyed_at !== null || record.kek_id === null) continue;
        const key = unwrap(record);
        const moved = await records.rewrap(record.key_id, record.kek_id, {
          kekId: kek.id,
          wrapped: wrap(kek, record.key_id, key),
        });
        if (moved) count++;
      }
      return count;
    },
    close: () => records.close(),
  };
}

/** Key records in memory: for tests and benchmarks (keys die with the process). */
export function createMemoryKeyRecords(): KeyRecords & { all(): KeyRecord[] } {
  const byId = new Map<string, KeyRecord>();
  const copy = (record: KeyRecord): KeyRecord => structuredClone(record);
  return {
    all: () => [...byId.values()].map(copy),
    async insertIfAbsent(record) {
      const existing = byId.get(record.key_id);
      if (existing) return copy(existing);
      byId.set(record.key_id, copy(record));
      return copy(record);
    },
    async get(keyId) {
      const record = byId.get(keyId);
      return record ? copy(record) : null;
    },
    async listByScope(scope) {
      return [...byId.values()].filter((r) => r.scope === scope).map(copy);
    },
    async listWrappedOtherThan(kekId) {
      return [...byId.values()].filter((r) => r.kek_id !== null && r.kek_id !== kekId).map(copy);
    },
    async rewrap(keyId, fromKekId, to) {
      const record = byId.get(keyId);
      if (!record || record.kek_id !== fromKekId || record.destroyed_at !== null) return false;
      byId.set(keyId, { ...record, kek_id: to.kekId, wrapped: to.wrapped });
      return true;
    },
    async destroyedSince(at) {
      return [...byId.values()]
        .filter((r) => r.destroyed_at !== null && r.destroyed_at >= at)
        .map((r) => r.key_id);
    },
    async markDestroyed(keyId, at) {
      const record = byId.get(keyId);
      if (!record) return null;
      const destroyed = { ...record, kek_id: null, wrapped: null, destroyed_at: record.destroyed_at ?? at };
      byId.set(keyId, destroyed);
      return copy(destroyed);
    },
    async close() {},
  };
}
