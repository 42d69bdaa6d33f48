import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
  writeSync,
  writev,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FILE_HEADER_SIZE, FILE_MAGIC } from './record.ts';
import { type FrameVisitor, LogCorruptError, scanLog } from './recovery.ts';

export type { FrameVisitor } from './recovery.ts';

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

/** What opening a log file found. */
export type RecoveryReport = {
  /** Intact frames replayed, the events they hold, and their bytes (after the file header). */
  frames: number;
  records: number;
  bytes: number;
  /** Bytes of a torn tail cut off (0 when the log ended cleanly). */
  truncatedBytes: number;
  tornReason?: string;
};

/**
 * The file operations that decide durability, injectable so that a test can watch their order
 * against acknowledgements. Callbacks follow `node:fs`.
 */
export type LogFileSystem = {
  writev(
    fd: number,
    buffers: Buffer[],
    position: number,
    done: (error: Error | null, written: number) => void,
  ): void;
  fdatasync(fd: number, done: (error: Error | null) => void): void;
  /** Makes the entries of a directory (a file created, truncated away or renamed) durable. */
  syncDirectory(path: string): void;
};

export const nodeLogFileSystem: LogFileSystem = {
  writev: (fd, buffers, position, done) =>
    writev(fd, buffers, position, (error, written) => done(error, written)),
  fdatasync: (fd, done) => fdatasync(fd, (error) => done(error)),
  syncDirectory(path) {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  },
};

/** Where the log reports what recovery did; a pino logger fits. */
export type LogLogger = {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
};

export type FileStorageOptions = {
  logger?: LogLogger;
  fileSystem?: LogFileSystem;
  /**
   * Default true: frames appended while a write and its sync are in flight go out together in the
   * next write and share its sync. False writes and syncs each frame on its own (for comparisons).
   */
  groupCommit?: boolean;
};

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
const CACHED_BLOCKS = 16;

/**
 * Opens (or creates) `<dir>/log.bin` and replays every intact frame through `visit`. A torn tail
 * (a damaged last frame with no intact frame after it: a write that never completed, so was never
 * acknowledged) is cut and reported; a damaged frame followed by intact ones throws
 * `LogCorruptError` and leaves the file as it is, since cutting there would drop acknowledged
 * writes. A new file, and any directory created for it, is synced into its directory.
 */
export function openFileStorage(
  dir: string,
  fsync: FsyncPolicy,
  visit: FrameVisitor,
  options: FileStorageOptions = {},
): { storage: LogStorage; report: RecoveryReport } {
  const fs = options.fileSystem ?? nodeLogFileSystem;
  const logger = options.logger;
  const groupCommit = options.groupCommit ?? true;
  const createdDir = mkdirSync(dir, { recursive: true });
  const path = join(dir, 'log.bin');
  const fd = openSync(path, 'a+');
  closeSync(fd);
  const handle = openSync(path, 'r+');
  let fileSize = fstatSync(handle).size;
  const created = fileSize < FILE_HEADER_SIZE;
  if (created) {
    // A new log, or one whose header write was torn: nothing in it was ever acknowledged.
    const header = Buffer.alloc(FILE_HEADER_SIZE);
    FILE_MAGIC.copy(header, 0);
    ftruncateSync(handle, 0);
    writeSync(handle, header, 0, header.length, 0);
    fileSize = FILE_HEADER_SIZE;
    if (fsync === 'always') {
      fdatasyncSync(handle);
      // The file's name must survive a crash too, and so must any directory made for it.
      fs.syncDirectory(dir);
      if (createdDir !== undefined) {
        for (let made = resolve(dir); ; made = dirname(made)) {
          fs.syncDirectory(dirname(made));
          if (made === resolve(createdDir)) break;
        }
      }
    }
    logger?.info({ file: path }, 'event log created');
  } else {
    const magic = Buffer.alloc(FILE_MAGIC.length);
    readSync(handle, magic, 0, magic.length, 0);
    if (!magic.equals(FILE_MAGIC)) {
      closeSync(handle);
      throw new Error(`${path} is not an event store emulator log`);
    }
  }
  const scan = scanLog(handle, fileSize, visit);
  const report: RecoveryReport = {
    frames: scan.frames,
    records: scan.records,
    bytes: scan.end - FILE_HEADER_SIZE,
    truncatedBytes: 0,
  };
  if (scan.damage !== undefined) {
    if (scan.damage.nextIntact !== undefined) {
      closeSync(handle);
      throw new LogCorruptError(path, dir, scan.damage, scan);
    }
    report.truncatedBytes = scan.damage.bytes;
    report.tornReason = scan.damage.reason;
    logger?.warn(
      { file: path, offset: scan.end, truncatedBytes: scan.damage.bytes, reason: scan.damage.reason },
      'event log: torn tail cut (a last write that never completed, so was never acknowledged)',
    );
    ftruncateSync(handle, scan.end);
    if (fsync === 'always') fdatasyncSync(handle);
  }
  if (!created) {
    logger?.info(
      { file: path, frames: report.frames, events: report.records, bytes: report.bytes },
      'event log recovered',
    );
  }
  let size = scan.end;

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
    const pending = unwritten.filter((entry) => entry.start >= durableSize);
    const batch = groupCommit ? pending : pending.slice(0, 1);
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
    fs.writev(handle, buffers, at, (error, written) => {
      if (error) return finish(error);
      if (written !== total) return finish(new Error(`short write: ${written} of ${total} bytes`));
      if (fsync === 'never') return finish(null);
      fs.fdatasync(handle, (syncError) => finish(syncError));
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
