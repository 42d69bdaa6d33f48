import {
  closeSync,
  fdatasync,
  fstatSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
  writev,
} from 'node:fs';
import { join } from 'node:path';
import { checkFrame, FILE_HEADER_SIZE, FILE_MAGIC, FRAME_HEADER_SIZE } from './record.ts';

/**
 * Byte storage behind the log. Frames are appended at `size`; `read` serves only bytes that were
 * appended before (the store never reads a frame that is still being written).
 */
export type LogStorage = {
  /** Offset at which the next frame lands. */
  readonly size: number;
  /**
   * Appends a frame at `size` and returns a promise that resolves once it is written (and
   * synced, if so configured), or undefined when the frame is already stored (memory).
   * Frames appended while a write is in flight go out together in the next write (group commit).
   */
  append(frame: Buffer): Promise<void> | undefined;
  read(offset: number, length: number): Buffer;
  close(): void;
};

const MEMORY_CHUNK = 8 * 1024 * 1024;

/** Keeps the log in memory: a list of large chunks, frames never straddle two of them. */
export function createMemoryStorage(): LogStorage {
  const chunks: Buffer[] = [];
  const starts: number[] = [];
  let current: Buffer | undefined;
  let used = 0;
  let size = FILE_HEADER_SIZE;

  function chunkAt(offset: number): number {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  return {
    get size() {
      return size;
    },
    append(frame) {
      if (current === undefined || used + frame.length > current.length) {
        current = Buffer.allocUnsafe(Math.max(MEMORY_CHUNK, frame.length));
        used = 0;
        chunks.push(current);
        starts.push(size);
      }
      frame.copy(current, used);
      used += frame.length;
      size += frame.length;
      return undefined;
    },
    read(offset, length) {
      const index = chunkAt(offset);
      const from = offset - starts[index]!;
      return chunks[index]!.subarray(from, from + length);
    },
    close() {
      chunks.length = 0;
      starts.length = 0;
    },
  };
}

export type FsyncPolicy = 'always' | 'never';

/** Called for each intact frame found while opening a log file, in order. */
export type FrameVisitor = (frame: Buffer, frameOffset: number) => void;

export type RecoveryReport = { frames: number; bytes: number; truncatedBytes: number; tornReason?: string };

type Deferred = { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void };

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((ok, fail) => {
    resolve = ok;
    reject = fail;
  });
  return { promise, resolve, reject };
}

const READ_BLOCK = 256 * 1024;
const RECOVERY_CHUNK = 16 * 1024 * 1024;
const CACHED_BLOCKS = 16;

/**
 * Opens (or creates) `<dir>/log.bin`, replays every intact frame through `visit`, and truncates a
 * torn tail (a frame cut short or failing its checksum) so that it is never half-read.
 */
export function openFileStorage(
  dir: string,
  fsync: FsyncPolicy,
  visit: FrameVisitor,
): { storage: LogStorage; report: RecoveryReport } {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'log.bin');
  const fd = openSync(path, 'a+');
  closeSync(fd);
  const handle = openSync(path, 'r+');
  let fileSize = fstatSync(handle).size;
  if (fileSize < FILE_HEADER_SIZE) {
    // A new log, or one whose header write was torn: nothing in it was ever acknowledged.
    const header = Buffer.alloc(FILE_HEADER_SIZE);
    FILE_MAGIC.copy(header, 0);
    ftruncateSync(handle, 0);
    writeSync(handle, header, 0, header.length, 0);
    fileSize = FILE_HEADER_SIZE;
  } else {
    const magic = Buffer.alloc(FILE_MAGIC.length);
    readSync(handle, magic, 0, magic.length, 0);
    if (!magic.equals(FILE_MAGIC)) {
      closeSync(handle);
      throw new Error(`${path} is not an event store emulator log`);
    }
  }
  const report = recover(handle, fileSize, visit);
  if (report.truncatedBytes > 0) ftruncateSync(handle, FILE_HEADER_SIZE + report.bytes);
  let size = FILE_HEADER_SIZE + report.bytes;

  const blocks: { start: number; bytes: Buffer }[] = [];
  // Frames not yet durable, readable from memory until their write completes.
  let unwritten: { start: number; bytes: Buffer; done: Deferred }[] = [];
  let writing = false;
  let durableSize = size;
  let closed = false;

  function readBlock(offset: number, length: number): Buffer {
    const want = Math.min(Math.max(length, READ_BLOCK), durableSize - offset);
    const bytes = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = readSync(handle, bytes, got, want - got, offset + got);
      if (n === 0) throw new Error(`log read past end at ${offset + got}`);
      got += n;
    }
    blocks.push({ start: offset, bytes });
    if (blocks.length > CACHED_BLOCKS) blocks.shift();
    return bytes;
  }

  function writeNext(): void {
    const batch = unwritten.filter((entry) => entry.start >= durableSize);
    if (batch.length === 0 || closed) {
      writing = false;
      return;
    }
    writing = true;
    const at = batch[0]!.start;
    const buffers = batch.map((entry) => entry.bytes);
    let total = 0;
    for (const bytes of buffers) total += bytes.length;
    const finish = (error: Error | null): void => {
      if (error !== null) {
        for (const entry of unwritten) entry.done.reject(error);
        unwritten = [];
        writing = false;
        return;
      }
      durableSize = at + total;
      unwritten = unwritten.filter((entry) => entry.start >= durableSize);
      for (const entry of batch) entry.done.resolve();
      // Let the writers just released queue their next frames, so they share the next sync.
      setImmediate(writeNext);
    };
    writev(handle, buffers, at, (error, written) => {
      if (error) return finish(error);
      if (written !== total) return finish(new Error(`short write: ${written} of ${total} bytes`));
      if (fsync === 'never') return finish(null);
      fdatasync(handle, (syncError) => finish(syncError));
    });
  }

  const storage: LogStorage = {
    get size() {
      return size;
    },
    append(frame) {
      if (closed) return Promise.reject(new Error('log is closed'));
      const done = deferred();
      unwritten.push({ start: size, bytes: frame, done });
      size += frame.length;
      // Start on the next turn so that appends arriving together share one write and one sync.
      if (!writing) {
        writing = true;
        setImmediate(writeNext);
      }
      return done.promise;
    },
    read(offset, length) {
      if (offset >= durableSize) {
        for (const entry of unwritten) {
          if (offset >= entry.start && offset < entry.start + entry.bytes.length) {
            const from = offset - entry.start;
            return entry.bytes.subarray(from, from + length);
          }
        }
        throw new Error(`log read past end at ${offset}`);
      }
      for (let i = blocks.length - 1; i >= 0; i--) {
        const block = blocks[i]!;
        if (offset >= block.start && offset + length <= block.start + block.bytes.length) {
          const from = offset - block.start;
          return block.bytes.subarray(from, from + length);
        }
      }
      return readBlock(offset, length).subarray(0, length);
    },
    close() {
      if (closed) return;
      closed = true;
      blocks.length = 0;
      closeSync(handle);
    },
  };
  return { storage, report };
}

function recover(handle: number, fileSize: number, visit: FrameVisitor): RecoveryReport {
  let buffer = Buffer.alloc(0);
  let bufferOffset = FILE_HEADER_SIZE; // file offset of buffer[0]
  let fileRead = FILE_HEADER_SIZE; // next file offset to read
  let at = 0; // position inside buffer
  let frames = 0;
  let tornReason: string | undefined;
  for (;;) {
    const available = fileSize - (bufferOffset + at);
    if (available === 0) break;
    const check = checkFrame(buffer, at, available);
    if (check.kind === 'torn') {
      tornReason = check.reason;
      break;
    }
    if (check.kind === 'need_more') {
      const keep = buffer.subarray(at);
      const chunk = Math.min(Math.max(RECOVERY_CHUNK, check.bytes), fileSize - fileRead);
      const next = Buffer.allocUnsafe(keep.length + chunk);
      keep.copy(next, 0);
      let got = 0;
      while (got < chunk) {
        const n = readSync(handle, next, keep.length + got, chunk - got, fileRead + got);
        if (n === 0) break;
        got += n;
      }
      fileRead += got;
      bufferOffset += at;
      buffer = next.subarray(0, keep.length + got);
      at = 0;
      continue;
    }
    const frameLength = FRAME_HEADER_SIZE + check.bodyLength;
    visit(buffer.subarray(at, at + frameLength), bufferOffset + at);
    frames++;
    at += frameLength;
  }
  const bytes = bufferOffset + at - FILE_HEADER_SIZE;
  const report: RecoveryReport = { frames, bytes, truncatedBytes: fileSize - FILE_HEADER_SIZE - bytes };
  if (tornReason !== undefined) report.tornReason = tornReason;
  return report;
}
