import type { StoredEvent } from '../store.ts';
import { TOMBSTONE_REVISION } from '../store.ts';

/**
 * Hand-written protobuf encoding of the one message that dominates traffic: a `ReadResp`
 * carrying an event (the streams and the persistent-subscription `ReadResp` share this layout;
 * the latter adds `retry_count = 5`). Building it through the generated classes costs several
 * times more than the bytes themselves; the result is byte-compatible with them.
 *
 *   ReadResp      { ReadEvent event = 1; ... }
 *   ReadEvent     { RecordedEvent event = 1; RecordedEvent link = 2; uint64 commit_position = 3;
 *                   Empty no_position = 4; int32 retry_count = 5 }
 *   RecordedEvent { UUID id = 1; StreamIdentifier stream_identifier = 2; uint64 stream_revision = 3;
 *                   uint64 prepare_position = 4; uint64 commit_position = 5;
 *                   map<string,string> metadata = 6; bytes custom_metadata = 7; bytes data = 8 }
 *   UUID          { Structured structured = 1 { int64 msb = 1; int64 lsb = 2 }; string string = 2 }
 *   StreamIdentifier { bytes stream_name = 3 }
 */

const TOMBSTONE_WIRE = 2n ** 63n - 1n;

function varintSize(value: number): number {
  let size = 1;
  while (value >= 128) {
    value = Math.floor(value / 128);
    size++;
  }
  return size;
}

function bigVarintSize(value: bigint): number {
  let size = 1;
  while (value >= 128n) {
    value >>= 7n;
    size++;
  }
  return size;
}

class Writer {
  readonly buffer: Buffer;
  at = 0;
  constructor(size: number) {
    this.buffer = Buffer.allocUnsafe(size);
  }
  varint(value: number): void {
    while (value >= 128) {
      this.buffer[this.at++] = (value % 128) | 128;
      value = Math.floor(value / 128);
    }
    this.buffer[this.at++] = value;
  }
  bigVarint(value: bigint): void {
    while (value >= 128n) {
      this.buffer[this.at++] = Number(value & 127n) | 128;
      value >>= 7n;
    }
    this.buffer[this.at++] = Number(value);
  }
  tag(field: number, wireType: number): void {
    this.buffer[this.at++] = (field << 3) | wireType;
  }
  bytes(field: number, value: Uint8Array): void {
    this.tag(field, 2);
    this.varint(value.length);
    this.buffer.set(value, this.at);
    this.at += value.length;
  }
  ascii(field: number, value: string, length: number): void {
    this.tag(field, 2);
    this.varint(length);
    this.at += this.buffer.write(value, this.at, 'utf8');
  }
}

function dashedUuid(id: Uint8Array): string {
  const hex = Buffer.from(id.buffer, id.byteOffset, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

const CONTENT_JSON = 'application/json';
const CONTENT_BINARY = 'application/octet-stream';

/** Sizes worked out once, then used to write; plain data, no closures (they are costly here). */
type Recorded = {
  event: StoredEvent;
  position: number;
  stream: Buffer;
  uuid: string | undefined;
  msb: bigint;
  lsb: bigint;
  structuredSize: number;
  uuidSize: number;
  streamIdSize: number;
  typeLength: number;
  typeEntry: number;
  created: string;
  createdEntry: number;
  contentType: string;
  contentEntry: number;
  size: number;
};

function entrySize(keyLength: number, valueLength: number): number {
  return 1 + varintSize(keyLength) + keyLength + 1 + varintSize(valueLength) + valueLength;
}

function measure(event: StoredEvent, structuredIds: boolean, position: number): Recorded {
  const stream = Buffer.from(event.stream, 'utf8');
  let uuid: string | undefined;
  let msb = 0n;
  let lsb = 0n;
  let structuredSize = 0;
  let uuidSize: number;
  if (structuredIds) {
    const ids = Buffer.from(event.id.buffer, event.id.byteOffset, 16);
    msb = BigInt.asUintN(64, ids.readBigInt64BE(0));
    lsb = BigInt.asUintN(64, ids.readBigInt64BE(8));
    structuredSize = 1 + bigVarintSize(msb) + 1 + bigVarintSize(lsb);
    uuidSize = 1 + varintSize(structuredSize) + structuredSize;
  } else {
    uuid = dashedUuid(event.id);
    uuidSize = 2 + 36;
  }
  const streamIdSize = 1 + varintSize(stream.length) + stream.length;
  const typeLength = Buffer.byteLength(event.type);
  const typeEntry = entrySize(4, typeLength);
  const created = `${Math.round(event.createdMicros)}0`;
  const createdEntry = entrySize(7, created.length);
  const contentType = event.isJson ? CONTENT_JSON : CONTENT_BINARY;
  const contentEntry = entrySize(12, contentType.length);
  const revisionSize =
    event.revision === TOMBSTONE_REVISION ? bigVarintSize(TOMBSTONE_WIRE) : varintSize(event.revision);
  const metadataLength = event.metadata.length;
  const dataLength = event.data.length;
  const size =
    1 +
    varintSize(uuidSize) +
    uuidSize +
    1 +
    varintSize(streamIdSize) +
    streamIdSize +
    1 +
    revisionSize +
    2 * (1 + varintSize(position)) +
    1 +
    varintSize(typeEntry) +
    typeEntry +
    1 +
    varintSize(createdEntry) +
    createdEntry +
    1 +
    varintSize(contentEntry) +
    contentEntry +
    (metadataLength > 0 ? 1 + varintSize(metadataLength) + metadataLength : 0) +
    (dataLength > 0 ? 1 + varintSize(dataLength) + dataLength : 0);
  return {
    event,
    position,
    stream,
    uuid,
    msb,
    lsb,
    structuredSize,
    uuidSize,
    streamIdSize,
    typeLength,
    typeEntry,
    created,
    createdEntry,
    contentType,
    contentEntry,
    size,
  };
}

function writeEntry(
  writer: Writer,
  entry: number,
  key: string,
  keyLength: number,
  value: string,
  valueLength: number,
): void {
  writer.tag(6, 2);
  writer.varint(entry);
  writer.ascii(1, key, keyLength);
  writer.ascii(2, value, valueLength);
}

function writeRecorded(writer: Writer, r: Recorded): void {
  const event = r.event;
  writer.tag(1, 2);
  writer.varint(r.uuidSize);
  if (r.uuid === undefined) {
    writer.tag(1, 2);
    writer.varint(r.structuredSize);
    writer.tag(1, 0);
    writer.bigVarint(r.msb);
    writer.tag(2, 0);
    writer.bigVarint(r.lsb);
  } else {
    writer.ascii(2, r.uuid, 36);
  }
  writer.tag(2, 2);
  writer.varint(r.streamIdSize);
  writer.bytes(3, r.stream);
  writer.tag(3, 0);
  if (event.revision === TOMBSTONE_REVISION) writer.bigVarint(TOMBSTONE_WIRE);
  else writer.varint(event.revision);
  writer.tag(4, 0);
  writer.varint(r.position);
  writer.tag(5, 0);
  writer.varint(r.position);
  writeEntry(writer, r.typeEntry, 'type', 4, event.type, r.typeLength);
  writeEntry(writer, r.createdEntry, 'created', 7, r.created, r.created.length);
  writeEntry(writer, r.contentEntry, 'content-type', 12, r.contentType, r.contentType.length);
  if (event.metadata.length > 0) writer.bytes(7, event.metadata);
  if (event.data.length > 0) writer.bytes(8, event.data);
}

export type EncodeOptions = {
  event: StoredEvent | undefined;
  link: StoredEvent | undefined;
  /** Position put on both recorded events (persistent subscriptions send the original's). */
  recordedPosition?: number;
  /** `ReadEvent.commit_position`; undefined sends `no_position`. */
  commitPosition: number | undefined;
  retryCount?: number;
  structuredIds: boolean;
};

/** Encodes `ReadResp { event: ReadEvent {...} }` into wire bytes. */
export function encodeReadEventResponse(options: EncodeOptions): Buffer {
  const event =
    options.event === undefined
      ? undefined
      : measure(options.event, options.structuredIds, options.recordedPosition ?? options.event.position);
  const link =
    options.link === undefined
      ? undefined
      : measure(options.link, options.structuredIds, options.recordedPosition ?? options.link.position);
  let readEventSize = 0;
  if (event !== undefined) readEventSize += 1 + varintSize(event.size) + event.size;
  if (link !== undefined) readEventSize += 1 + varintSize(link.size) + link.size;
  readEventSize += options.commitPosition === undefined ? 2 : 1 + varintSize(options.commitPosition);
  if (options.retryCount !== undefined) readEventSize += 1 + varintSize(options.retryCount);
  const writer = new Writer(1 + varintSize(readEventSize) + readEventSize);
  writer.tag(1, 2);
  writer.varint(readEventSize);
  if (event !== undefined) {
    writer.tag(1, 2);
    writer.varint(event.size);
    writeRecorded(writer, event);
  }
  if (link !== undefined) {
    writer.tag(2, 2);
    writer.varint(link.size);
    writeRecorded(writer, link);
  }
  if (options.commitPosition === undefined) {
    writer.tag(4, 2);
    writer.varint(0);
  } else {
    writer.tag(3, 0);
    writer.varint(options.commitPosition);
  }
  if (options.retryCount !== undefined) {
    writer.tag(5, 0);
    writer.varint(options.retryCount);
  }
  if (writer.at !== writer.buffer.length) {
    throw new Error(`ReadResp encoding size mismatch: ${writer.at} of ${writer.buffer.length}`);
  }
  return writer.buffer;
}
