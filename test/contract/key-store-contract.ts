import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, type TestContext, test } from 'node:test';
import {
  createKeyStore,
  type Kek,
  type KeyRecords,
  keyIdOf,
} from '../../src/eventsourcing/protection/key-store.ts';

/** Fresh key records for one test, or undefined after skipping it (server not available). */
export type KeyRecordsFixture = (t: TestContext) => Promise<KeyRecords | undefined>;

const kek = (id: string): Kek => ({ id, key: randomBytes(32) });

/** The behaviour every key store must share, whatever keeps its records. */
export function keyStoreContract(name: string, fixture: KeyRecordsFixture): void {
  async function open(t: TestContext, options: { kek?: Kek; previousKeks?: Kek[] } = {}) {
    const records = await fixture(t);
    if (!records) return undefined;
    t.after(() => records.close());
    const current = options.kek ?? kek('kek-1');
    return {
      records,
      kek: current,
      store: createKeyStore({ records, kek: current, previousKeks: options.previousKeks ?? [], cacheMs: 0 }),
    };
  }
  const scope = () => `case-${randomUUID()}`;

  describe(`key store contract: ${name}`, () => {
    test('obtaining a subject key twice gives the same key under its name-based id', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const s = scope();
      const first = await opened.store.obtain(s, 'person-1');
      const second = await opened.store.obtain(s, 'person-1');
      assert.equal(first.outcome, 'active');
      assert.deepEqual(second, first);
      assert.equal(first.keyId, keyIdOf(s, 'person-1'));
      const found = await opened.store.find(first.keyId);
      assert.ok(found.status === 'active' && first.outcome === 'active' && found.key.equals(first.key));
    });

    test('two subjects of one scope get different keys, both listed by scope', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const s = scope();
      const a = await opened.store.obtain(s, 'person-a');
      const b = await opened.store.obtain(s, 'person-b');
      await opened.store.obtain(scope(), 'person-a');
      assert.ok(a.outcome === 'active' && b.outcome === 'active' && !a.key.equals(b.key));
      const listed = await opened.store.listByScope(s);
      assert.deepEqual(listed.map((k) => k.subject).sort(), ['person-a', 'person-b']);
      assert.ok(listed.every((k) => k.status === 'active' && k.kekId === 'kek-1'));
    });

    test('concurrent first uses of one subject agree on a single key', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const s = scope();
      // Two replicas (stores sharing the records and the KEK) race on the subject's first event.
      const shared = kek('kek-1');
      const replicas = [0, 1].map(() => createKeyStore({ records: opened.records, kek: shared, cacheMs: 0 }));
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => replicas[i % 2]!.obtain(s, 'person')),
      );
      const keys = new Set(
        results.map((r) => (r.outcome === 'active' ? r.key.toString('hex') : 'destroyed')),
      );
      assert.equal(keys.size, 1);
      assert.equal((await opened.store.listByScope(s)).length, 1);
    });

    test('a key obtained as likely new is still the existing one when there is one, or destroyed', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const s = scope();
      // Another replica (its own cache) made the key first.
      const other = createKeyStore({ records: opened.records, kek: opened.kek, cacheMs: 0 });
      const first = await other.obtain(s, 'person');
      const again = await opened.store.obtain(s, 'person', { likelyNew: true });
      assert.ok(first.outcome === 'active' && again.outcome === 'active' && again.key.equals(first.key));
      const fresh = await opened.store.obtain(s, 'someone else', { likelyNew: true });
      assert.ok(fresh.outcome === 'active');
      const found = await other.find(fresh.keyId);
      assert.ok(found.status === 'active' && found.key.equals(fresh.key), 'stored before it is handed out');
      await other.destroy(first.keyId);
      assert.deepEqual(await opened.store.obtain(s, 'person', { likelyNew: true }), {
        outcome: 'destroyed',
        keyId: first.keyId,
      });
    });

    test('a destroyed key is gone for good, its tombstone says so, and destroying again is harmless', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const s = scope();
      const key = await opened.store.obtain(s, 'person');
      assert.equal(await opened.store.destroy(key.keyId), 'destroyed');
      assert.equal(await opened.store.destroy(key.keyId), 'already_destroyed');
      assert.equal((await opened.store.find(key.keyId)).status, 'destroyed');
      assert.deepEqual(await opened.store.obtain(s, 'person'), { outcome: 'destroyed', keyId: key.keyId });
      const record = await opened.records.get(key.keyId);
      assert.equal(record?.wrapped, null, 'the wrapped key bytes are removed');
      assert.equal(record?.kek_id, null);
      assert.match(record?.destroyed_at ?? '', /^\d{4}-/);
      assert.equal(await opened.store.destroy(randomUUID()), 'unknown');
      assert.equal((await opened.store.find(randomUUID())).status, 'unknown');
    });

    test('the records list the keys destroyed since a time, and only those', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const s = scope();
      const kept = await opened.store.obtain(s, 'kept');
      const gone = await opened.store.obtain(s, 'gone');
      const before = new Date(Date.now() - 1_000).toISOString();
      await opened.store.destroy(gone.keyId);
      const since = await opened.records.destroyedSince(before);
      assert.ok(since.includes(gone.keyId));
      assert.ok(!since.includes(kept.keyId));
      assert.ok(
        !(await opened.records.destroyedSince(new Date(Date.now() + 60_000).toISOString())).includes(
          gone.keyId,
        ),
      );
    });

    test('a key store never had a key: entombing it makes it read as destroyed', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const keyId = keyIdOf(scope(), 'restored-without-it');
      assert.equal((await opened.store.find(keyId)).status, 'unknown');
      assert.equal(await opened.store.entomb(keyId, 'case-x'), 'tombstone_added');
      assert.equal((await opened.store.find(keyId)).status, 'destroyed');
      assert.equal(await opened.store.entomb(keyId, 'case-x'), 'already_destroyed');
    });

    test('stored records hold the data key only wrapped by the KEK', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const key = await opened.store.obtain(scope(), 'person');
      assert.equal(key.outcome, 'active');
      const record = await opened.records.get(key.keyId);
      const stored = JSON.stringify(record);
      assert.ok(!stored.includes(key.key.toString('base64')) && !stored.includes(key.key.toString('hex')));
      const stranger = createKeyStore({ records: opened.records, kek: kek('kek-1'), cacheMs: 0 });
      await assert.rejects(stranger.find(key.keyId), { name: 'KeyUnwrapError' });
    });

    test('rotation rewraps every live key under the new KEK; the old KEK is then not needed', async (t) => {
      const opened = await open(t);
      if (!opened) return;
      const s = scope();
      const old = kek('kek-old');
      const before = createKeyStore({ records: opened.records, kek: old, cacheMs: 0 });
      const live = await before.obtain(s, 'live');
      const erased = await before.obtain(s, 'erased');
      await before.destroy(erased.keyId);
      const next = kek('kek-new');
      const rotating = createKeyStore({
        records: opened.records,
        kek: next,
        previousKeks: [old],
        cacheMs: 0,
      });
      assert.ok((await rotating.rewrapAll()) >= 1);
      assert.equal(await rotating.rewrapAll(), 0, 'a second run has nothing left to move');
      const after = createKeyStore({ records: opened.records, kek: next, cacheMs: 0 });
      const found = await after.find(live.keyId);
      assert.ok(found.status === 'active' && live.outcome === 'active' && found.key.equals(live.key));
      assert.equal((await after.find(erased.keyId)).status, 'destroyed');
      assert.deepEqual((await after.listByScope(s)).map((k) => [k.subject, k.kekId]).sort(), [
        ['erased', null],
        ['live', 'kek-new'],
      ]);
    });
  });
}
