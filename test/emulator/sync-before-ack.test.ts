/**
 * No append is acknowledged before the sync that covers it has returned. A SIGKILL cannot show
 * this (the page cache outlives the process, so a log that never syncs passes a crash test); the
 * log's file operations are watched instead. Each acknowledgement is checked against how far the
 * returned syncs reach, through the store and through the real client; with syncing off the same
 * check must find violations, or it proves nothing.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { EventStoreDBClient, jsonEvent } from '@eventstore/db-client';
import { type FsyncPolicy, type LogFileSystem, nodeLogFileSystem } from '../../src/emulator/log/storage.ts';
import { startEmulatorServer } from '../../src/emulator/server.ts';
import { EmulatorStore } from '../../src/emulator/store.ts';
import { pathName, WRITE_PATHS, type WritePath } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'emulator-sync-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `log-${++dirs}`);

const WRITERS = 4;
const APPENDS_PER_WRITER = 25;

/**
 * The real file operations, watched: `synced` is how far the log is covered by syncs that have
 * returned. A sync covers what was written before it started. Writes end on frame boundaries, so
 * an event whose position is below `synced` lies in a frame that is wholly synced.
 * `syncReportsEarly` makes each sync report success to the log before the real sync has returned
 * (as a disk whose cache lies would), to show that the check catches an acknowledgement that
 * comes between the two.
 */
function watchedFileSystem(syncReportsEarly = false) {
  let written = 0;
  let synced = 0;
  let syncs = 0;
  let writes = 0;
  const violations: string[] = [];
  const fileSystem: LogFileSystem = {
    ...nodeLogFileSystem,
    writev(fd, buffers, position, done) {
      nodeLogFileSystem.writev(fd, buffers, position, (error, bytes) => {
        if (error === null) {
          written = Math.max(written, position + bytes);
          writes++;
        }
        done(error, bytes);
      });
    },
    fdatasync(fd, done) {
      const covers = written;
      if (syncReportsEarly) done(null);
      nodeLogFileSystem.fdatasync(fd, (error) => {
        if (error === null) {
          synced = Math.max(synced, covers);
          syncs++;
        }
        if (!syncReportsEarly) done(error);
      });
    },
  };
  return {
    fileSystem,
    violations,
    syncs: () => syncs,
    writes: () => writes,
    /** Called when an append is acknowledged, with the position of an event it wrote. */
    acknowledged(position: number, what: string): void {
      if (position >= synced) {
        violations.push(`${what} at ${position} was acknowledged with the log synced only up to ${synced}`);
      }
    },
  };
}

/** Several writers appending at once, so that appends share writes and syncs (group commit). */
async function concurrentAppends(append: (writer: number, round: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      for (let round = 0; round < APPENDS_PER_WRITER; round++) await append(writer, round);
    }),
  );
}

async function throughStore(fsync: FsyncPolicy, syncReportsEarly = false, groupCommit = true) {
  const watch = watchedFileSystem(syncReportsEarly);
  const store = new EmulatorStore({ dataDir: freshDir(), fsync, fileSystem: watch.fileSystem, groupCommit });
  try {
    await concurrentAppends(async (writer, round) => {
      const events = Array.from({ length: 1 + (round % 3) }, () => ({
        id: randomBytes(16),
        type: 'sync-test',
        isJson: true,
        data: Buffer.from(JSON.stringify({ writer, round, pad: 'x'.repeat(100 * (writer + 1)) })),
        metadata: new Uint8Array(0),
      }));
      const result = await store.append(`sync-${writer}`, 'any', events);
      assert.equal(result.outcome, 'ok');
      if (result.outcome === 'ok') watch.acknowledged(result.position, `append ${writer}/${round}`);
    });
  } finally {
    await store.close();
  }
  return watch;
}

async function throughClient(fsync: FsyncPolicy, writePath: WritePath) {
  const watch = watchedFileSystem();
  const server = await startEmulatorServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: freshDir(),
    fsync,
    fileSystem: watch.fileSystem,
    advertiseBatchAppend: writePath === 'batch',
  });
  const client = EventStoreDBClient.connectionString(`esdb://127.0.0.1:${server.port}?tls=false`);
  try {
    await concurrentAppends(async (writer, round) => {
      const events = Array.from({ length: 1 + (round % 3) }, () =>
        jsonEvent({ type: 'sync-test', data: { writer, round, pad: 'x'.repeat(100 * (writer + 1)) } }),
      );
      const result = await client.appendToStream(`sync-${writer}`, events);
      watch.acknowledged(Number(result.position!.commit), `append ${writer}/${round}`);
    });
  } finally {
    await client.dispose();
    await server.close();
  }
  return watch;
}

describe('sync before acknowledgement', () => {
  test('through the store, every append is acknowledged only after a sync covering it returned', async () => {
    const watch = await throughStore('always');
    assert.deepEqual(watch.violations, []);
    assert.ok(watch.syncs() > 0);
  });

  for (const writePath of WRITE_PATHS) {
    test(`through the client (${pathName(writePath)}), every append is acknowledged only after a sync covering it returned`, async () => {
      const watch = await throughClient('always', writePath);
      assert.deepEqual(watch.violations, []);
      // Appends arriving together share a sync, so fewer syncs than appends is expected; none is not.
      assert.ok(watch.syncs() > 0);
    });
  }

  test('with syncing off, the same check finds acknowledgements no sync covers, through the store and the client', async () => {
    const store = await throughStore('never');
    assert.equal(store.syncs(), 0);
    assert.equal(store.violations.length, WRITERS * APPENDS_PER_WRITER);
    const client = await throughClient('never', 'batch');
    assert.equal(client.syncs(), 0);
    assert.equal(client.violations.length, WRITERS * APPENDS_PER_WRITER);
  });

  test('with group commit, appends arriving together share one write and one sync, each acknowledged after it', async () => {
    const watch = watchedFileSystem();
    const store = new EmulatorStore({ dataDir: freshDir(), fsync: 'always', fileSystem: watch.fileSystem });
    try {
      const appends = Array.from({ length: 16 }, (_, writer) =>
        store.append(`together-${writer}`, 'no_stream', [
          {
            id: randomBytes(16),
            type: 'sync-test',
            isJson: true,
            data: Buffer.from(JSON.stringify({ writer })),
            metadata: new Uint8Array(0),
          },
        ]),
      );
      // Every one is acknowledged after the one sync that covers them all.
      for (const result of await Promise.all(appends)) {
        assert.equal(result.outcome, 'ok');
        if (result.outcome === 'ok') watch.acknowledged(result.position, 'append');
      }
      assert.deepEqual(watch.violations, []);
      assert.equal(watch.writes(), 1, 'one write for the 16 appends');
      assert.equal(watch.syncs(), 1, 'one sync for the 16 appends');
    } finally {
      await store.close();
    }
  });

  test('concurrent writers share syncs with group commit, and each has its own sync without it', async () => {
    const appends = WRITERS * APPENDS_PER_WRITER;
    const grouped = await throughStore('always');
    assert.deepEqual(grouped.violations, []);
    assert.ok(grouped.syncs() < appends, `${grouped.syncs()} syncs for ${appends} appends`);
    const alone = await throughStore('always', false, false);
    assert.deepEqual(alone.violations, []);
    assert.equal(alone.syncs(), appends);
    assert.equal(alone.writes(), appends);
  });

  test('a sync that reports success before it has returned lets appends through early, and the check finds them', async () => {
    const watch = await throughStore('always', true);
    assert.ok(watch.syncs() > 0);
    assert.ok(watch.violations.length > 0, 'acknowledgements ahead of the sync went unnoticed');
  });
});
