/**
 * The log file on its own: a write cut at any byte of the last frame is recovered as if that
 * write never happened; a frame is never half-read.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { encodeFrame, FLAG_JSON } from '../../src/emulator/log/record.ts';
import { openFileStorage } from '../../src/emulator/log/storage.ts';
import { EmulatorStore } from '../../src/emulator/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'emulator-log-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const record = (stream: string, revision: number, size: number) => ({
  flags: FLAG_JSON,
  stream,
  revision,
  id: randomBytes(16),
  createdMicros: Date.now() * 1000,
  type: 'test',
  metadata: new Uint8Array(0),
  data: Buffer.alloc(size, 1),
});

test('a write cut at any byte of the last frame is dropped whole, and earlier frames are kept', async () => {
  const path = join(dir, 'cut');
  const { storage } = openFileStorage(path, 'always', () => {});
  await storage.append(encodeFrame([record('s', 0, 10), record('s', 1, 10)]).bytes);
  const intact = storage.size;
  await storage.append(encodeFrame([record('s', 2, 40), record('s', 3, 40)]).bytes);
  const full = storage.size;
  storage.close();
  const original = readFileSync(join(path, 'log.bin'));
  for (let cut = intact; cut < full; cut++) {
    writeFileSync(join(path, 'log.bin'), original);
    truncateSync(join(path, 'log.bin'), cut);
    const frames: number[] = [];
    const reopened = openFileStorage(path, 'never', (_frame, offset) => frames.push(offset));
    assert.equal(frames.length, 1, `cut at ${cut}`);
    assert.equal(reopened.report.truncatedBytes, cut - intact);
    assert.equal(reopened.storage.size, intact);
    reopened.storage.close();
  }
});

test('the store rebuilt from a cut log sees only whole appends', async () => {
  const path = join(dir, 'store');
  const first = new EmulatorStore({ dataDir: path });
  await first.append('s', 'no_stream', [
    { id: randomBytes(16), type: 'a', isJson: true, data: Buffer.from('{}'), metadata: new Uint8Array(0) },
  ]);
  const size = readFileSync(join(path, 'log.bin')).length;
  await first.append('s', 0n, [
    {
      id: randomBytes(16),
      type: 'b',
      isJson: true,
      data: Buffer.alloc(100, 32),
      metadata: new Uint8Array(0),
    },
    {
      id: randomBytes(16),
      type: 'c',
      isJson: true,
      data: Buffer.alloc(100, 32),
      metadata: new Uint8Array(0),
    },
  ]);
  await first.close();
  truncateSync(join(path, 'log.bin'), size + 150);
  const second = new EmulatorStore({ dataDir: path });
  try {
    assert.equal(second.lastRevision('s'), 0);
    const result = await second.append('s', 0n, [
      { id: randomBytes(16), type: 'd', isJson: true, data: Buffer.from('{}'), metadata: new Uint8Array(0) },
    ]);
    assert.equal(result.outcome, 'ok');
  } finally {
    await second.close();
  }
});
