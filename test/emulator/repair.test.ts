/**
 * The explicit repair of a log the emulator refuses to open: it cuts at the first damaged frame,
 * keeps a copy of what it drops, reports it, and the emulator then starts with everything before
 * the cut. Also through the CLI, as an operator runs it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LogCorruptError } from '../../src/emulator/index.ts';
import { FRAME_HEADER_SIZE } from '../../src/emulator/log/record.ts';
import { formatRepairReport, repairLog } from '../../src/emulator/log/repair.ts';
import { nodeLogFileSystem } from '../../src/emulator/log/storage.ts';
import { withEmulator } from '../support/emulator.ts';
import { collect, streamName, testEvents } from './support.ts';

const root = mkdtempSync(join(tmpdir(), 'emulator-repair-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `log-${++dirs}`);

const cli = new URL('../../src/app/cli/main.ts', import.meta.url).pathname;
const tsx = import.meta.resolve('tsx');

/**
 * Writes four appends of two events to one stream and damages the frame of the second; returns
 * the stream, the offset of that frame, and the log's size.
 */
async function damagedLog(dir: string): Promise<{ stream: string; damagedAt: number; size: number }> {
  const stream = streamName('repair');
  const emulator = await withEmulator({ dataDir: dir });
  let second: number;
  try {
    for (let i = 0; i < 4; i++) {
      await emulator.client.appendToStream(stream, testEvents(2, `append-${i}`));
    }
    const events = await collect(emulator.client.readStream(stream));
    second = Number(events[2]!.event!.position!.commit);
  } finally {
    await emulator.close();
  }
  const log = join(dir, 'log.bin');
  const bytes = readFileSync(log);
  // An append's first event is its frame's first record, after the frame and body headers.
  const damagedAt = second - FRAME_HEADER_SIZE - 4;
  bytes[second + 40] = (bytes[second + 40] ?? 0) ^ 0xff;
  writeFileSync(log, bytes);
  return { stream, damagedAt, size: bytes.length };
}

function run(args: string[]) {
  const child = spawn(process.execPath, ['--import', tsx, cli, 'eventstore-emulator', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('close', (code) => resolve({ code, stdout, stderr })),
  );
}

test('repair cuts at the first damaged frame, keeps a copy of the cut bytes, and reports what it dropped', async () => {
  const dir = freshDir();
  const { stream, damagedAt, size } = await damagedLog(dir);
  const log = join(dir, 'log.bin');
  const original = readFileSync(log);
  await assert.rejects(withEmulator({ dataDir: dir }), LogCorruptError);

  const synced: string[] = [];
  const report = repairLog(dir, {
    fileSystem: {
      syncDirectory(path) {
        synced.push(path);
        nodeLogFileSystem.syncDirectory(path);
      },
    },
  });
  assert.equal(report.outcome, 'cut');
  if (report.outcome !== 'cut') return;
  assert.equal(report.offset, damagedAt);
  assert.equal(report.reason, 'checksum mismatch');
  assert.equal(report.droppedBytes, size - damagedAt);
  // Appends 3 and 4 of the stream; the epoch records of the two starts come first in the log.
  assert.equal(report.droppedFrames, 2);
  assert.equal(report.droppedEvents, 4);
  assert.deepEqual(report.streams, [{ stream, events: 4, firstRevision: 4, lastRevision: 7 }]);
  assert.ok(report.undecodedBytes > 0);
  assert.equal(statSync(log).size, damagedAt);
  assert.equal(report.backup, `${log}.cut-${damagedAt}`);
  assert.deepEqual(readFileSync(report.backup!), original.subarray(damagedAt));
  assert.deepEqual(synced, [dir], 'the cut was not synced into the directory');

  const text = formatRepairReport(report);
  assert.match(text, new RegExp(`cut at byte offset ${damagedAt} \\(checksum mismatch\\)`));
  assert.match(text, /2 intact frames \(4 events\)/);
  assert.match(text, new RegExp(`${stream}: 4 events, revisions 4\\.\\.7`));

  const restarted = await withEmulator({ dataDir: dir });
  try {
    const events = await collect(restarted.client.readStream(stream));
    assert.deepEqual(
      events.map((e) => e.event!.type),
      ['append-0', 'append-0'],
    );
    await restarted.client.appendToStream(stream, testEvents(1, 'after-repair'), { expectedRevision: 1n });
    assert.equal((await collect(restarted.client.readStream(stream))).length, 3);
  } finally {
    await restarted.close();
  }
});

test('a dry run reports the same cut and changes nothing; an intact log has nothing to cut', async () => {
  const dir = freshDir();
  const { damagedAt } = await damagedLog(dir);
  const log = join(dir, 'log.bin');
  const before = readFileSync(log);
  const report = repairLog(dir, { dryRun: true });
  assert.equal(report.outcome, 'would_cut');
  assert.equal(report.outcome === 'would_cut' && report.offset, damagedAt);
  assert.deepEqual(readFileSync(log), before);
  assert.equal(existsSync(`${log}.cut-${damagedAt}`), false);

  repairLog(dir, { backup: false });
  assert.equal(existsSync(`${log}.cut-${damagedAt}`), false);
  const again = repairLog(dir);
  // The epoch and settings records of the first start, and the first append.
  assert.deepEqual(again, { outcome: 'intact', file: log, frames: 3, events: 4 });
});

test('the CLI refuses to start on a damaged log and prints the repair command, which then repairs it', async () => {
  const dir = freshDir();
  const { damagedAt } = await damagedLog(dir);
  const refused = await run(['--port', '0', '--data-dir', dir]);
  assert.equal(refused.code, 1);
  assert.doesNotMatch(refused.stdout, /listening on/);
  assert.match(refused.stderr, new RegExp(`corrupt at byte offset ${damagedAt} `));
  const command = /run: (npm run --silent cli -- eventstore-emulator repair --data-dir \S+)/.exec(
    refused.stderr,
  );
  assert.ok(command, refused.stderr);
  const args = command[1]!.split(' ').slice(5);
  assert.deepEqual(args, ['eventstore-emulator', 'repair', '--data-dir', dir]);

  const repaired = await run(args.slice(1));
  assert.equal(repaired.code, 0, repaired.stderr);
  assert.match(repaired.stdout, new RegExp(`cut at byte offset ${damagedAt} `));
  assert.match(repaired.stdout, /dropped: \d+ bytes: 2 intact frames \(4 events\)/);
  assert.equal(statSync(join(dir, 'log.bin')).size, damagedAt);
});
