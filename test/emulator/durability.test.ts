/**
 * Durability: the log on disk survives restarts and crashes; a torn tail is truncated, never
 * half-read; memory mode writes nothing. The crash test runs the CLI as a child process and
 * kills it with SIGKILL in the middle of a stream of appends.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  BACKWARDS,
  END,
  EventStoreDBClient,
  jsonEvent,
  persistentSubscriptionToStreamSettingsFromDefaults,
  START,
} from '@eventstore/db-client';
import { withEmulator } from '../support/emulator.ts';
import { collect, eventually, record, streamName, testEvents } from './support.ts';

const directories: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'emulator-test-'));
  directories.push(dir);
  return dir;
}
after(() => {
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

const cli = new URL('../../src/app/cli/main.ts', import.meta.url).pathname;
const root = new URL('../..', import.meta.url).pathname;
// Resolved here, so that the child finds the loader whatever its working directory.
const tsx = import.meta.resolve('tsx');

/** Starts the CLI as its own process; resolves with its connection string once it listens. */
async function startCli(
  args: string[],
  cwd = root,
): Promise<{ child: ChildProcess; connectionString: string }> {
  const child = spawn(process.execPath, ['--import', tsx, cli, 'eventstore-emulator', ...args], {
    cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const connectionString = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${stdout} ${stderr}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (esdb:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited with ${code}: ${stderr}`));
    });
  });
  return { child, connectionString };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

describe('durability', () => {
  test('a restart on the same data directory recovers events, positions, metadata and groups', async () => {
    const dataDir = tempDir();
    const stream = streamName();
    const first = await withEmulator({ dataDir });
    await first.client.appendToStream(stream, testEvents(5));
    await first.client.setStreamMetadata(stream, { maxCount: 3 });
    await first.client.createPersistentSubscriptionToStream(
      stream,
      'g',
      persistentSubscriptionToStreamSettingsFromDefaults({ startFrom: START, checkPointUpperBound: 1 }),
    );
    const subscription = first.client.subscribeToPersistentSubscriptionToStream(stream, 'g');
    const sub = record(subscription);
    await sub.until('events', () => sub.events.length === 3);
    await subscription.ack(sub.events[0]!);
    await eventually('the checkpoint at revision 2', async () =>
      (await first.client.getPersistentSubscriptionToStreamInfo(stream, 'g')).stats
        .lastCheckpointedEventRevision === 2n
        ? true
        : undefined,
    );
    await sub.stop();
    const before = await collect(first.client.readAll({ fromPosition: START }));
    await first.close();

    const second = await withEmulator({ dataDir });
    try {
      const afterRestart = await collect(second.client.readAll({ fromPosition: START }));
      // Everything read before the close is unchanged. After it come only the group's checkpoint
      // records (one may be written as the subscription stops, after that read) and, last, the
      // restart's own epoch record.
      assert.deepEqual(
        afterRestart.slice(0, before.length).map((e) => [e.event!.id, e.event!.position, e.event!.revision]),
        before.map((e) => [e.event!.id, e.event!.position, e.event!.revision]),
      );
      const added = afterRestart.slice(before.length).map((e) => e.event!.streamId);
      assert.equal(added.at(-1), '$epoch-information');
      assert.deepEqual(
        added
          .slice(0, -1)
          .filter((streamId) => streamId !== `$persistentsubscription-${stream}::g-checkpoint`),
        [],
      );
      const visible = await collect(second.client.readStream(stream));
      assert.deepEqual(
        visible.map((e) => e.event!.revision),
        [2n, 3n, 4n],
      );
      const again = record(second.client.subscribeToPersistentSubscriptionToStream(stream, 'g'));
      await again.until('resumed', () => again.events.length > 0);
      await again.stop();
      // The checkpoint was at revision 2 (the first event the group delivered, under $maxCount 3).
      assert.equal(again.events[0]!.event!.revision, 3n);
    } finally {
      await second.close();
    }
  });

  test('a torn tail write is detected and truncated, and writing continues after it', async () => {
    const dataDir = tempDir();
    const stream = streamName();
    const first = await withEmulator({ dataDir });
    await first.client.appendToStream(stream, testEvents(3));
    await first.close();
    const log = join(dataDir, 'log.bin');
    const intact = statSync(log).size;
    // A frame header promising more bytes than were written, as a crash mid-write leaves it.
    const torn = Buffer.alloc(40, 7);
    torn.writeUInt32LE(5000, 0);
    appendFileSync(log, torn);

    const second = await withEmulator({ dataDir });
    try {
      assert.equal(second.server.store.recovery?.truncatedBytes, 40);
      assert.ok(statSync(log).size > intact, 'the log grew again after the truncation');
      assert.equal((await collect(second.client.readStream(stream))).length, 3);
      await second.client.appendToStream(stream, testEvents(1), { expectedRevision: 2n });
      assert.equal((await collect(second.client.readStream(stream))).length, 4);
    } finally {
      await second.close();
    }
    const third = await withEmulator({ dataDir });
    try {
      assert.equal(third.server.store.recovery?.truncatedBytes, 0);
      assert.equal((await collect(third.client.readStream(stream))).length, 4);
    } finally {
      await third.close();
    }
  });

  test('a last frame whose checksum fails is dropped whole', async () => {
    const dataDir = tempDir();
    const stream = streamName();
    const first = await withEmulator({ dataDir });
    await first.client.appendToStream(stream, testEvents(2, 'kept'));
    await first.client.appendToStream(stream, testEvents(2, 'damaged'));
    await first.close();
    const log = join(dataDir, 'log.bin');
    const bytes = readFileSync(log);
    // Flip the last byte: the data of the second append's frame (the epoch record came first).
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0xff;
    writeFileSync(log, bytes);
    const second = await withEmulator({ dataDir });
    try {
      assert.equal(second.server.store.recovery?.tornReason, 'checksum mismatch');
      const types = (await collect(second.client.readStream(stream))).map((e) => e.event!.type);
      assert.deepEqual(types, ['kept', 'kept']);
    } finally {
      await second.close();
    }
  });

  test('memory mode writes nothing to disk, and the CLI stops cleanly on SIGTERM', async () => {
    const cwd = tempDir();
    const { child, connectionString } = await startCli(['--port', '0', '--memory'], cwd);
    const client = EventStoreDBClient.connectionString(connectionString);
    await client.appendToStream(streamName(), testEvents(10));
    await client.dispose();
    child.kill('SIGTERM');
    const { code } = await exited(child);
    assert.equal(code, 0);
    assert.deepEqual(readdirSync(cwd), []);
  });

  test('crash: after SIGKILL mid-stream, every acknowledged append is there with its positions, nothing half-present', async () => {
    const dataDir = tempDir();
    const { child, connectionString } = await startCli(['--port', '0', '--data-dir', dataDir]);
    const client = EventStoreDBClient.connectionString(connectionString);
    type Batch = { stream: string; ids: string[]; position?: bigint; acknowledged: boolean };
    const batches: Batch[] = [];
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, writer) => {
      const stream = `crash-${writer}-${randomUUID()}`;
      while (!stop) {
        const events = Array.from({ length: 1 + (batches.length % 7) }, (_, i) =>
          jsonEvent({ type: 'crash-test', data: { writer, i, pad: 'x'.repeat(200) } }),
        );
        const batch: Batch = { stream, ids: events.map((e) => e.id), acknowledged: false };
        batches.push(batch);
        try {
          const result = await client.appendToStream(stream, events);
          batch.acknowledged = true;
          batch.position = result.position!.commit;
        } catch {
          return;
        }
      }
    });
    // Kill while the writers are still going, once enough appends are acknowledged to check.
    const killAfter = 100;
    await eventually(
      `${killAfter} acknowledged appends`,
      () => (batches.filter((batch) => batch.acknowledged).length >= killAfter ? true : undefined),
      30_000,
    );
    child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await client.dispose();
    await exited(child);

    const acknowledged = batches.filter((batch) => batch.acknowledged);
    assert.ok(acknowledged.length >= killAfter, `only ${acknowledged.length} appends were acknowledged`);
    const restarted = await startCli(['--port', '0', '--data-dir', dataDir]);
    const reader = EventStoreDBClient.connectionString(restarted.connectionString);
    try {
      const all = await collect(reader.readAll({ fromPosition: START }));
      const byId = new Map(all.map((e) => [e.event!.id, e.event!]));
      for (const batch of batches) {
        const found = batch.ids.map((id) => byId.get(id));
        const present = found.filter((e) => e !== undefined).length;
        if (batch.acknowledged) {
          assert.equal(present, batch.ids.length, 'an acknowledged append lost events');
          assert.equal(
            found[found.length - 1]!.position!.commit,
            batch.position,
            'an acknowledged append moved',
          );
        } else {
          assert.ok(
            present === 0 || present === batch.ids.length,
            `an unacknowledged append is half-present (${present})`,
          );
        }
      }
      // Per stream, the recovered events are dense and in the order they were acknowledged.
      for (const stream of new Set(batches.map((batch) => batch.stream))) {
        const events = await collect(reader.readStream(stream));
        assert.deepEqual(
          events.map((e) => e.event!.revision),
          events.map((_, i) => BigInt(i)),
        );
        const expected = batches
          .filter((b) => b.stream === stream && byId.has(b.ids[0]!))
          .flatMap((b) => b.ids);
        assert.deepEqual(
          events.map((e) => e.event!.id),
          expected,
        );
      }
      // The restart's epoch record comes after everything recovered.
      const tail = await collect(reader.readAll({ direction: BACKWARDS, fromPosition: END, maxCount: 1 }));
      assert.equal(tail[0]!.event!.streamId, '$epoch-information');
    } finally {
      await reader.dispose();
      restarted.child.kill('SIGTERM');
      await exited(restarted.child);
    }
  });
});
