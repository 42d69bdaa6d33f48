/**
 * Opening a damaged log: a torn tail (nothing intact after the damage) is cut and reported; a
 * damaged frame with intact frames after it stops the start, naming the offset and the repair
 * command, and leaves the file untouched. A new log file is synced into its directory.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LogCorruptError, startEmulator } from '../../src/emulator/index.ts';
import { encodeFrame, FLAG_JSON } from '../../src/emulator/log/record.ts';
import { type LogFileSystem, nodeLogFileSystem, openFileStorage } from '../../src/emulator/log/storage.ts';

const root = mkdtempSync(join(tmpdir(), 'emulator-recovery-'));
after(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `log-${++dirs}`);

const record = (stream: string, revision: number) => ({
  flags: FLAG_JSON,
  stream,
  revision,
  id: randomBytes(16),
  createdMicros: Date.now() * 1000,
  type: 'test',
  metadata: new Uint8Array(0),
  data: Buffer.from(JSON.stringify({ revision, pad: 'x'.repeat(50) })),
});

type Line = { level: 'info' | 'warn'; fields: Record<string, unknown>; message: string };
function memoryLogger() {
  const lines: Line[] = [];
  return {
    lines,
    info: (fields: Record<string, unknown>, message: string) =>
      lines.push({ level: 'info', fields, message }),
    warn: (fields: Record<string, unknown>, message: string) =>
      lines.push({ level: 'warn', fields, message }),
  };
}

/** Writes `frames` frames of two events each; returns the offset at which each frame starts. */
async function writeLog(dir: string, frames: number): Promise<number[]> {
  const { storage } = openFileStorage(dir, 'never', () => {});
  const starts: number[] = [];
  for (let i = 0; i < frames; i++) {
    starts.push(storage.size);
    await storage.append(encodeFrame([record('s', 2 * i), record('s', 2 * i + 1)]).bytes);
  }
  starts.push(storage.size);
  storage.close();
  return starts;
}

function flipByte(file: string, offset: number): void {
  const bytes = readFileSync(file);
  bytes[offset] = (bytes[offset] ?? 0) ^ 0xff;
  writeFileSync(file, bytes);
}

test('a torn tail is cut, and the cut is logged with its offset and size', async () => {
  const dir = freshDir();
  const starts = await writeLog(dir, 3);
  const end = starts[3]!;
  const log = join(dir, 'log.bin');
  // A frame header promising more bytes than were written, as a crash mid-write leaves it.
  const torn = Buffer.alloc(30, 7);
  torn.writeUInt32LE(5000, 0);
  appendFileSync(log, torn);
  const logger = memoryLogger();
  const { storage, report } = openFileStorage(dir, 'always', () => {}, { logger });
  storage.close();
  assert.equal(report.truncatedBytes, 30);
  assert.equal(report.frames, 3);
  assert.equal(report.records, 6);
  assert.equal(statSync(log).size, end);
  const cut = logger.lines.find((line) => line.level === 'warn');
  assert.ok(cut, 'the cut was not logged');
  assert.deepEqual(
    { offset: cut.fields.offset, truncatedBytes: cut.fields.truncatedBytes, file: cut.fields.file },
    { offset: end, truncatedBytes: 30, file: log },
  );
  const recovered = logger.lines.find((line) => line.message === 'event log recovered');
  assert.deepEqual(recovered?.fields, { file: log, frames: 3, events: 6, bytes: end - starts[0]! });
});

test('a damaged last frame, even with garbage after it, is a torn tail', async () => {
  const dir = freshDir();
  const starts = await writeLog(dir, 3);
  flipByte(join(dir, 'log.bin'), starts[2]! + 20);
  appendFileSync(join(dir, 'log.bin'), randomBytes(500));
  const { storage, report } = openFileStorage(dir, 'never', () => {});
  storage.close();
  assert.equal(report.frames, 2);
  assert.equal(report.tornReason, 'checksum mismatch');
  assert.equal(statSync(join(dir, 'log.bin')).size, starts[2]);
});

test('a damaged frame followed by intact ones stops the start, names the offset and the repair command, and changes nothing', async () => {
  const dir = freshDir();
  const starts = await writeLog(dir, 5);
  const log = join(dir, 'log.bin');
  flipByte(log, starts[1]! + 30);
  const before = readFileSync(log);
  const logger = memoryLogger();
  await assert.rejects(startEmulator({ dataDir: dir, port: 0, logger }), (error: unknown) => {
    assert.ok(error instanceof LogCorruptError);
    assert.equal(error.code, 'eventstore.log_corrupt');
    assert.equal(error.damage.offset, starts[1]);
    assert.equal(error.damage.nextIntact, starts[2]);
    assert.equal(error.damage.frames, 3);
    assert.equal(error.damage.records, 6);
    assert.equal(error.damage.bytes, starts[5]! - starts[1]!);
    assert.match(error.message, new RegExp(`event log ${log} is corrupt at byte offset ${starts[1]} `));
    assert.match(error.message, /checksum mismatch/);
    assert.match(error.message, /3 intact frames \(6 events/);
    assert.ok(
      error.message.endsWith(`npm run --silent cli -- eventstore-emulator repair --data-dir ${dir}`),
      error.message,
    );
    return true;
  });
  assert.deepEqual(readFileSync(log), before, 'the log was changed');
  assert.equal(logger.lines.filter((line) => line.level === 'warn').length, 0);
});

test('a frame whose length field is damaged, with intact frames after it, is not taken for a torn tail', async () => {
  const dir = freshDir();
  const starts = await writeLog(dir, 3);
  const log = join(dir, 'log.bin');
  const bytes = readFileSync(log);
  // A length far past the end of the file looks like a write cut short; the frames after say otherwise.
  bytes.writeUInt32LE(1_000_000, starts[0]!);
  writeFileSync(log, bytes);
  assert.throws(
    () => openFileStorage(dir, 'never', () => {}),
    (error: unknown) =>
      error instanceof LogCorruptError &&
      error.damage.offset === starts[0] &&
      error.damage.reason === 'truncated frame body' &&
      error.damage.frames === 2,
  );
  assert.equal(statSync(log).size, starts[3]);
});

test('an empty append after the damage is an intact frame too, so the damage is not a torn tail', async () => {
  const dir = freshDir();
  const { storage } = openFileStorage(dir, 'never', () => {});
  await storage.append(encodeFrame([record('s', 0)]).bytes);
  const damaged = storage.size;
  await storage.append(encodeFrame([record('s', 1)]).bytes);
  // The server writes an empty frame for an empty append: twelve bytes, no record.
  await storage.append(encodeFrame([]).bytes);
  storage.close();
  flipByte(join(dir, 'log.bin'), damaged + 20);
  assert.throws(
    () => openFileStorage(dir, 'never', () => {}),
    (error: unknown) =>
      error instanceof LogCorruptError &&
      error.damage.offset === damaged &&
      error.damage.frames === 1 &&
      error.damage.records === 0,
  );
});

test('a new log file is synced into its directory, and so is every directory made for it', () => {
  const parent = freshDir();
  const dir = join(parent, 'a', 'es');
  const synced: string[] = [];
  const fileSystem: LogFileSystem = {
    ...nodeLogFileSystem,
    syncDirectory(path) {
      synced.push(path);
      nodeLogFileSystem.syncDirectory(path);
    },
  };
  const first = openFileStorage(dir, 'always', () => {}, { fileSystem });
  first.storage.close();
  assert.deepEqual(synced, [dir, join(parent, 'a'), parent, root]);
  synced.length = 0;
  const second = openFileStorage(dir, 'always', () => {}, { fileSystem });
  second.storage.close();
  assert.deepEqual(synced, [], 'an existing log needs no directory sync');
});
