import { mkdir, open as openFile, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createMemoryKeyRecords, type KeyRecord, type KeyRecords } from './key-store.ts';

/**
 * Key records in the embedded mode's data directory: a snapshot (`path`, one JSON document) and
 * a journal beside it (`path.journal`, one JSON record a line).
 *
 * A new key is appended to the journal and fsynced before `insertIfAbsent` returns, so a key is on
 * disk before any event sealed with it; keys inserted while an fsync runs share the next one.
 * Appending costs the same whatever the number of keys, where rewriting the whole file for each new
 * key grew with every subject ever seen.
 *
 * A rewrap or a destroy rewrites the snapshot (temporary file, fsync, rename, fsync of the
 * directory) with every record, then empties the journal, before it returns: a destroyed key's
 * bytes leave both files at once instead of lingering in an append-only log. Should the process
 * die between the two, the journal is not empty at the next start, and the start rewrites the
 * snapshot and empties it again before anything else. A torn last journal line (a crash during an
 * append) is a key whose insert never returned, so nothing was sealed with it: it is dropped.
 *
 * A record inserted and not yet on disk is not handed out by `get`/`insertIfAbsent` until it is.
 * One process owns the files (the embedded mode's data directory is not shared).
 */
export async function createFileKeyRecords(path: string): Promise<KeyRecords> {
  const journalPath = `${path}.journal`;
  const memory = createMemoryKeyRecords();
  const text = await readTextIfAny(path);
  if (text !== null) {
    const parsed = JSON.parse(text) as { version?: unknown; keys?: unknown };
    if (parsed.version !== 1 || !Array.isArray(parsed.keys))
      throw new Error(`${path} is not a key file of version 1`);
    for (const record of parsed.keys as KeyRecord[]) await memory.insertIfAbsent(record);
  }
  const journalText = await readTextIfAny(journalPath);
  const journaled = journalText === null ? [] : journalLines(journalText, journalPath);
  for (const record of journaled) await memory.insertIfAbsent(record);
  await mkdir(dirname(path), { recursive: true });

  const journal = await openFile(journalPath, 'a', 0o600);

  async function writeSnapshot(): Promise<void> {
    const temporary = `${path}.tmp`;
    const file = await openFile(temporary, 'w', 0o600);
    try {
      await file.writeFile(JSON.stringify({ version: 1, keys: memory.all() }));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
    await syncDirectory(path);
    await journal.truncate(0);
    await journal.sync();
  }

  /** Inserted records not yet in the journal; a rewrite of the snapshot also covers them. */
  let unsaved: KeyRecord[] = [];
  let rewriteDue = journalText !== null && journalText.length > 0;
  /** Records inserted and not yet on disk: readers wait for their write. */
  const notDurable = new Map<string, Promise<void>>();

  async function write(): Promise<void> {
    const inserted = unsaved;
    const rewrite = rewriteDue;
    unsaved = [];
    rewriteDue = false;
    try {
      if (rewrite) await writeSnapshot();
      else if (inserted.length > 0) {
        await journal.appendFile(inserted.map((record) => `${JSON.stringify(record)}\n`).join(''));
        await journal.sync();
      }
    } catch (error) {
      // A failed append may have left half a line: the next write rewrites everything instead.
      unsaved = [...inserted, ...unsaved];
      rewriteDue = true;
      throw error;
    }
  }

  let written: Promise<void> = Promise.resolve();
  let pending: Promise<void> | null = null;
  /** Resolves once a write that started after this call has finished. */
  function persist(): Promise<void> {
    if (pending) return pending;
    pending = written.then(() => {
      pending = null;
      return write();
    });
    written = pending.catch(() => undefined);
    return pending;
  }
  if (rewriteDue) await persist();

  return {
    async insertIfAbsent(record) {
      const before = await memory.get(record.key_id);
      const stored = await memory.insertIfAbsent(record);
      if (before !== null) {
        await notDurable.get(record.key_id);
        return stored;
      }
      unsaved.push(stored);
      const durable = persist();
      notDurable.set(record.key_id, durable);
      try {
        await durable;
      } finally {
        if (notDurable.get(record.key_id) === durable) notDurable.delete(record.key_id);
      }
      return stored;
    },
    async get(keyId) {
      await notDurable.get(keyId);
      return memory.get(keyId);
    },
    listByScope: (scope) => memory.listByScope(scope),
    listWrappedOtherThan: (kekId) => memory.listWrappedOtherThan(kekId),
    destroyedSince: (at) => memory.destroyedSince(at),
    async rewrap(keyId, fromKekId, to) {
      const moved = await memory.rewrap(keyId, fromKekId, to);
      if (moved) {
        rewriteDue = true;
        await persist();
      }
      return moved;
    },
    async markDestroyed(keyId, at) {
      const destroyed = await memory.markDestroyed(keyId, at);
      if (destroyed) {
        rewriteDue = true;
        await persist();
      }
      return destroyed;
    },
    async close() {
      await written;
      await journal.close();
    },
  };
}

async function readTextIfAny(path: string): Promise<string | null> {
  return readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
}

/** The journal's records; a last line cut short by a crash is dropped, any other bad line stops. */
function journalLines(text: string, path: string): KeyRecord[] {
  const lines = text.split('\n');
  const records: KeyRecord[] = [];
  for (const [index, line] of lines.entries()) {
    if (line === '') continue;
    try {
      records.push(JSON.parse(line) as KeyRecord);
    } catch (error) {
      const last = index === lines.length - 1;
      if (last) break;
      throw new Error(`${path} line ${index + 1} is not a key record`, { cause: error });
    }
  }
  return records;
}

async function syncDirectory(path: string): Promise<void> {
  const directory = await openFile(dirname(path), 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}

/** Where the embedded mode keeps its key files and generated KEK. */
export const keyFilePaths = (dataDir: string) => ({
  keys: join(dataDir, 'personal-data-keys.json'),
  kek: join(dataDir, 'personal-data-kek'),
});
