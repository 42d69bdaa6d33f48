import { readSync } from 'node:fs';
import { resolve } from 'node:path';
import { crc32 } from 'node:zlib';
import { checkFrame, FILE_HEADER_SIZE, FRAME_HEADER_SIZE } from './record.ts';

/** Called for each intact frame found while scanning a log file, in order. */
export type FrameVisitor = (frame: Buffer, frameOffset: number) => void;

/**
 * The first frame that is cut short or fails its checksum, and what lies after it. With no
 * intact frame after it, the damage is a torn tail: the last write never completed, so it was never
 * acknowledged and can be cut. With one, acknowledged writes follow the damage: cutting there would
 * lose them, so only an explicit repair may.
 */
export type LogDamage = {
  /** File offset of the damaged frame. */
  offset: number;
  reason: string;
  /** Bytes from the damaged frame to the end of the file. */
  bytes: number;
  /** Offset of the first intact frame after the damage; absent for a torn tail. */
  nextIntact?: number;
  /** Intact frames after the damage, and the records (events) they hold. */
  frames: number;
  records: number;
};

export type LogScan = {
  /** Intact frames before any damage, and the records (events) they hold. */
  frames: number;
  records: number;
  /** Offset just past the last intact frame before any damage. */
  end: number;
  damage?: LogDamage;
};

const RECOVERY_CHUNK = 16 * 1024 * 1024;
const SCAN_WINDOW = 1024 * 1024;
/** Fixed fields of one record: flags, two lengths of strings, revision, id, created, two lengths of bytes. */
const MIN_RECORD = 45;

/**
 * Reads the log from its header on, passing every intact frame to `visit` until the first damaged
 * frame or the end of the file; then looks past the damage for intact frames (see `LogDamage`),
 * passing those to `visitAfterDamage`.
 */
export function scanLog(
  handle: number,
  fileSize: number,
  visit: FrameVisitor,
  visitAfterDamage?: FrameVisitor,
): LogScan {
  let buffer = Buffer.alloc(0);
  let bufferOffset = FILE_HEADER_SIZE; // file offset of buffer[0]
  let fileRead = FILE_HEADER_SIZE; // next file offset to read
  let at = 0; // position inside buffer
  let frames = 0;
  let records = 0;
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
    records += check.recordCount;
    at += frameLength;
  }
  const end = bufferOffset + at;
  const scan: LogScan = { frames, records, end };
  if (tornReason !== undefined) scan.damage = scanDamage(handle, end, fileSize, tornReason, visitAfterDamage);
  return scan;
}

/**
 * Looks for intact frames after the damaged frame at `offset`, trying every byte offset until one
 * holds a frame whose layout and checksum both hold, then following frames from there (and
 * resynchronising again after further damage). `visit` sees each intact frame found.
 */
export function scanDamage(
  handle: number,
  offset: number,
  fileSize: number,
  reason: string,
  visit?: FrameVisitor,
): LogDamage {
  const reader = windowReader(handle, fileSize);
  const damage: LogDamage = { offset, reason, bytes: fileSize - offset, frames: 0, records: 0 };
  let at = offset + 1;
  // The smallest frame is an empty append's: a body of just its record count.
  while (at + FRAME_HEADER_SIZE + 4 <= fileSize) {
    const found = intactFrameAt(reader, at, fileSize);
    if (found === undefined) {
      at++;
      continue;
    }
    damage.nextIntact ??= at;
    damage.frames++;
    damage.records += found.recordCount;
    if (visit !== undefined) visit(Buffer.from(reader.read(at, found.length)), at);
    at += found.length;
  }
  return damage;
}

type Reader = {
  /** `length` bytes from `offset` (fewer at the end of the file). */
  read(offset: number, length: number): Buffer;
  /** The u32 at `offset`, or -1 past the end of the file. */
  u32(offset: number): number;
};

/** Serves small reads from a sliding window over the file (the scan moves forward byte by byte). */
function windowReader(handle: number, fileSize: number): Reader {
  let start = 0;
  let window = Buffer.alloc(0);
  const fill = (offset: number, length: number): void => {
    const want = Math.min(Math.max(length, SCAN_WINDOW), fileSize - offset);
    const bytes = Buffer.allocUnsafe(want);
    let got = 0;
    while (got < want) {
      const n = readSync(handle, bytes, got, want - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    start = offset;
    window = bytes.subarray(0, got);
  };
  return {
    read(offset, length) {
      if (offset < start || offset + length > start + window.length) fill(offset, length);
      return window.subarray(offset - start, offset - start + length);
    },
    u32(offset) {
      if (offset < start || offset + 4 > start + window.length) {
        if (offset + 4 > fileSize) return -1;
        fill(offset, 4);
      }
      return window.readUInt32LE(offset - start);
    },
  };
}

/**
 * The frame at `at` if its records parse to exactly its length and its checksum holds. The layout
 * is checked first: it rejects almost every wrong offset after a few small reads, where a checksum
 * would read a body of whatever length four arbitrary bytes claim.
 */
function intactFrameAt(
  reader: Reader,
  at: number,
  fileSize: number,
): { length: number; recordCount: number } | undefined {
  const bodyLength = reader.u32(at);
  const end = at + FRAME_HEADER_SIZE + bodyLength;
  if (bodyLength < 4 || end > fileSize) return undefined;
  const recordCount = reader.u32(at + FRAME_HEADER_SIZE);
  if (recordCount * MIN_RECORD > bodyLength - 4) return undefined;
  const checksum = reader.u32(at + 4);
  const read = reader.read;
  let p = at + FRAME_HEADER_SIZE + 4;
  for (let i = 0; i < recordCount; i++) {
    if (p + 3 > end) return undefined;
    const head = read(p, 3);
    if (head.readUInt8(0) > 3) return undefined;
    p += 3 + head.readUInt16LE(1);
    if (p + 34 > end) return undefined;
    const fixed = read(p, 34);
    const revision = fixed.readDoubleLE(0);
    if (!Number.isInteger(revision) || revision < -2) return undefined;
    p += 34 + fixed.readUInt16LE(32);
    if (p + 4 > end) return undefined;
    p += 4 + read(p, 4).readUInt32LE(0);
    if (p + 4 > end) return undefined;
    p += 4 + read(p, 4).readUInt32LE(0);
    if (p > end) return undefined;
  }
  if (p !== end) return undefined;
  let crc = 0;
  for (let from = at + FRAME_HEADER_SIZE; from < end; from += SCAN_WINDOW) {
    crc = crc32(read(from, Math.min(SCAN_WINDOW, end - from)), crc);
  }
  if (crc !== checksum) return undefined;
  return { length: FRAME_HEADER_SIZE + bodyLength, recordCount };
}

/** The operator command that cuts the log of `dir` at its first damaged frame. */
export function repairCommand(dir: string): string {
  const absolute = resolve(dir);
  const quoted = /^[\w./:@%+=,-]+$/.test(absolute) ? absolute : `'${absolute.replaceAll("'", `'\\''`)}'`;
  return `npm run --silent cli -- eventstore-emulator repair --data-dir ${quoted}`;
}

/**
 * The log has a damaged frame with intact frames after it: acknowledged writes would be lost by
 * cutting there, so the log is not opened. `code` is stable; the message names the file, the
 * offset, what follows, and the repair command.
 */
export class LogCorruptError extends Error {
  readonly code = 'eventstore.log_corrupt';
  readonly file: string;
  readonly damage: LogDamage;
  readonly repairCommand: string;

  constructor(
    file: string,
    dir: string,
    damage: LogDamage,
    intactBefore: { frames: number; records: number },
  ) {
    const command = repairCommand(dir);
    super(
      `event log ${file} is corrupt at byte offset ${damage.offset} (${damage.reason}), ` +
        `and ${damage.bytes} bytes follow from there holding ${plural(damage.frames, 'intact frame')} ` +
        `(${plural(damage.records, 'event')}, the first at byte offset ${damage.nextIntact}): ` +
        'this is not a torn last write, so the log is not cut automatically and the event store does not start. ' +
        `The ${plural(intactBefore.frames, 'frame')} (${plural(intactBefore.records, 'event')}) before the damage ` +
        `${intactBefore.frames === 1 ? 'is' : 'are'} intact. ` +
        `To cut the log at byte offset ${damage.offset}, dropping everything from there ` +
        '(a copy of the cut bytes is kept next to the log), stop every process using this directory and run: ' +
        command,
    );
    this.name = 'LogCorruptError';
    this.file = file;
    this.damage = damage;
    this.repairCommand = command;
  }
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
