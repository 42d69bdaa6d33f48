import { crc32 } from 'node:zlib';

/**
 * On-disk and in-memory layout of the log.
 *
 * The log is a file header followed by frames. A frame holds every record of one write operation
 * (an append, plus any system record that must land with it), so a crash leaves either the whole
 * operation or none of it:
 *
 *   frame  = u32 bodyLength | u32 crc32(body) | body
 *   body   = u32 recordCount | record*
 *   record = u8 flags | u16 streamLength | stream | f64 revision | 16 bytes id | f64 createdMicros
 *            | u16 typeLength | type | u32 metadataLength | metadata | u32 dataLength | data
 *
 * An event's `$all` position is the byte offset of its record in the log, so positions survive a
 * restart unchanged and increase strictly within and across frames.
 */
export const FILE_MAGIC = Buffer.from('ESEMLOG1', 'latin1');
/** The header keeps every record position above zero, as on a real node. */
export const FILE_HEADER_SIZE = 64;
export const FRAME_HEADER_SIZE = 8;
const BODY_HEADER_SIZE = 4;

export const FLAG_JSON = 1;
export const FLAG_TOMBSTONE = 2;

/** Revision stored for a tombstone record (the wire value is 2^63-1). */
export const TOMBSTONE_REVISION = -2;

export type LogRecord = {
  flags: number;
  stream: string;
  revision: number;
  /** 16 bytes, in the byte order of the canonical dashed string. */
  id: Uint8Array;
  createdMicros: number;
  type: string;
  metadata: Uint8Array;
  data: Uint8Array;
};

/** Where each record of an encoded frame sits, relative to the frame start. */
export type EncodedFrame = { bytes: Buffer; recordOffsets: number[]; recordLengths: number[] };

function recordSize(record: LogRecord, streamBytes: number, typeBytes: number): number {
  return (
    1 + 2 + streamBytes + 8 + 16 + 8 + 2 + typeBytes + 4 + record.metadata.length + 4 + record.data.length
  );
}

/** Encodes the records of one operation as a single checksummed frame. */
export function encodeFrame(records: readonly LogRecord[]): EncodedFrame {
  const streamLengths = records.map((r) => Buffer.byteLength(r.stream));
  const typeLengths = records.map((r) => Buffer.byteLength(r.type));
  let size = FRAME_HEADER_SIZE + BODY_HEADER_SIZE;
  const recordOffsets: number[] = [];
  const recordLengths: number[] = [];
  for (let i = 0; i < records.length; i++) {
    const length = recordSize(records[i]!, streamLengths[i]!, typeLengths[i]!);
    recordOffsets.push(size);
    recordLengths.push(length);
    size += length;
  }
  const bytes = Buffer.allocUnsafe(size);
  let at = FRAME_HEADER_SIZE;
  bytes.writeUInt32LE(records.length, at);
  at += 4;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    at = bytes.writeUInt8(record.flags, at);
    at = bytes.writeUInt16LE(streamLengths[i]!, at);
    at += bytes.write(record.stream, at, 'utf8');
    at = bytes.writeDoubleLE(record.revision, at);
    bytes.set(record.id, at);
    at += 16;
    at = bytes.writeDoubleLE(record.createdMicros, at);
    at = bytes.writeUInt16LE(typeLengths[i]!, at);
    at += bytes.write(record.type, at, 'utf8');
    at = bytes.writeUInt32LE(record.metadata.length, at);
    bytes.set(record.metadata, at);
    at += record.metadata.length;
    at = bytes.writeUInt32LE(record.data.length, at);
    bytes.set(record.data, at);
    at += record.data.length;
  }
  const body = bytes.subarray(FRAME_HEADER_SIZE);
  bytes.writeUInt32LE(body.length, 0);
  bytes.writeUInt32LE(crc32(body), 4);
  return { bytes, recordOffsets, recordLengths };
}

export type FrameCheck =
  | { kind: 'frame'; bodyLength: number; recordCount: number }
  | { kind: 'torn'; reason: string }
  | { kind: 'need_more'; bytes: number };

/**
 * Checks the frame at `start` of `buffer` (which holds `available` bytes from there to the end of
 * the log). A frame cut short by the end of the log, or whose checksum fails, is torn.
 */
export function checkFrame(buffer: Buffer, start: number, available: number): FrameCheck {
  if (available < FRAME_HEADER_SIZE) return { kind: 'torn', reason: 'truncated frame header' };
  if (buffer.length - start < FRAME_HEADER_SIZE) return { kind: 'need_more', bytes: FRAME_HEADER_SIZE };
  const bodyLength = buffer.readUInt32LE(start);
  const checksum = buffer.readUInt32LE(start + 4);
  if (bodyLength < BODY_HEADER_SIZE) return { kind: 'torn', reason: 'frame length too small' };
  if (FRAME_HEADER_SIZE + bodyLength > available) return { kind: 'torn', reason: 'truncated frame body' };
  if (buffer.length - start < FRAME_HEADER_SIZE + bodyLength) {
    return { kind: 'need_more', bytes: FRAME_HEADER_SIZE + bodyLength };
  }
  const body = buffer.subarray(start + FRAME_HEADER_SIZE, start + FRAME_HEADER_SIZE + bodyLength);
  if (crc32(body) !== checksum) return { kind: 'torn', reason: 'checksum mismatch' };
  return { kind: 'frame', bodyLength, recordCount: body.readUInt32LE(0) };
}

export type RecordSummary = { stream: string; revision: number; type: string };

/** The stream, revision and type of each record of an intact frame (bodies skipped), for reports. */
export function summarizeFrame(frame: Buffer): RecordSummary[] {
  const count = frame.readUInt32LE(FRAME_HEADER_SIZE);
  const summaries: RecordSummary[] = [];
  let at = FRAME_HEADER_SIZE + BODY_HEADER_SIZE;
  for (let i = 0; i < count; i++) {
    const streamLength = frame.readUInt16LE(at + 1);
    at += 3;
    const stream = frame.toString('utf8', at, at + streamLength);
    at += streamLength;
    const revision = frame.readDoubleLE(at);
    at += 8 + 16 + 8;
    const typeLength = frame.readUInt16LE(at);
    at += 2;
    const type = frame.toString('utf8', at, at + typeLength);
    at += typeLength;
    at += 4 + frame.readUInt32LE(at);
    at += 4 + frame.readUInt32LE(at);
    summaries.push({ stream, revision, type });
  }
  return summaries;
}
