import { mkdir, open as openFile, readFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createMemoryKeyRecords, type KeyRecord, type KeyRecords } from './key-store.ts';

/**
 * Key records in one JSON file (the embedded mode's data directory). Each change rewrites the
 * whole file (temporary file, fsync, rename, fsync of the directory) before it returns, so a key
 * is on disk before any event sealed with it, and a destroyed key's bytes leave the file at once
 * instead of lingering in an append-only log. Changes made while a write runs share the next one.
 * One process owns the file (the embedded mode's data directory is not shared).
 */
export async function createFileKeyRecords(path: string): Promise<KeyRecords> {
  const memory = createMemoryKeyRecords();
  const text = await readFile(path, 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return null;
    throw error;
  });
  if (text !== null) {
    const parsed = JSON.parse(text) as { version?: unknown; keys?: unknown };
    if (parsed.version !== 1 || !Array.isArray(parsed.keys))
      throw new Error(`${path} is not a key file of version 1`);
    for (const record of parsed.keys as KeyRecord[]) await memory.insertIfAbsent(record);
  }
  await mkdir(dirname(path), { recursive: true });

  let written: Promise<void> = Promise.resolve();
  let pending: Promise<void> | null = null;
  async function write(): Promise<void> {
    const temporary = `${path}.tmp`;
    const file = await openFile(temporary, 'w', 0o600);
    try {
      await file.writeFile(JSON.stringify({ version: 1, keys: memory.all() }));
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
    const directory = await openFile(dirname(path), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  }
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

  return {
    async insertIfAbsent(record) {
      const before = await memory.get(record.key_id);
      const stored = await memory.insertIfAbsent(record);
      if (before === null) await persist();
      return stored;
    },
    get: (keyId) => memory.get(keyId),
    listByScope: (scope) => memory.listByScope(scope),
    listWrappedOtherThan: (kekId) => memory.listWrappedOtherThan(kekId),
    destroyedSince: (at) => memory.destroyedSince(at),
    async rewrap(keyId, fromKekId, to) {
      const moved = await memory.rewrap(keyId, fromKekId, to);
      if (moved) await persist();
      return moved;
    },
    async markDestroyed(keyId, at) {
      const destroyed = await memory.markDestroyed(keyId, at);
      if (destroyed) await persist();
      return destroyed;
    },
    close: () => written,
  };
}

/** Where the embedded mode keeps its key file and generated KEK. */
export const keyFilePaths = (dataDir: string) => ({
  keys: join(dataDir, 'personal-data-keys.json'),
  kek: join(dataDir, 'personal-data-kek'),
});
