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

// ---- decoding BatchAppendReq ------------------------------------------------------------------

/**
 * A `BatchAppendReq` decoded by hand (the write hot path), with the same meaning as the generated
 * class: `correlation_id = 1`, `options = 2 { stream_identifier = 1; stream_position = 2 |
 * no_stream = 3 | any = 4 | stream_exists = 5; deadline_21_10_0 = 6 (Timestamp) | deadline = 7
 * (Duration) }`, `proposed_messages = 3 { id = 1;
 * map<string,string> metadata = 2; custom_metadata = 3; data = 4 }`, `is_final = 4`.
 */
export type WireUuid = { string: string } | { msb: bigint; lsb: bigint };

export type WireProposedMessage = {
  id: WireUuid | undefined;
  metadata: Map<string, string>;
  customMetadata: Buffer;
  data: Buffer;
};

export type WireBatchAppendRequest = {
  correlationId: WireUuid | undefined;
  options:
    | {
        stream: Buffer | undefined;
        expected:
          | { kind: 'revision'; value: bigint }
          | { kind: 'no_stream' | 'any' | 'stream_exists' }
          | undefined;
        /** An absolute deadline (what client 6.x sends) or a relative one, in milliseconds. */
        deadline: { kind: 'at'; epochMs: number } | { kind: 'within'; ms: number } | undefined;
      }
    | undefined;
  messages: WireProposedMessage[];
  isFinal: boolean;
};

class Reader {
  readonly buffer: Buffer;
  at: number;
  readonly end: number;
  constructor(buffer: Buffer, at = 0, end = buffer.length) {
    this.buffer = buffer;
    this.at = at;
    this.end = end;
  }
  get done(): boolean {
    return this.at >= this.end;
  }
  varint(): number {
    let result = 0;
    let multiplier = 1;
    for (;;) {
      if (this.at >= this.end) throw new Error('truncated varint');
      const byte = this.buffer[this.at++]!;
      result += (byte & 127) * multiplier;
      if (byte < 128) return result;
      multiplier *= 128;
      if (multiplier > 2 ** 63) throw new Error('varint too long');
    }
  }
  bigVarint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.at >= this.end) throw new Error('truncated varint');
      const byte = this.buffer[this.at++]!;
      result |= BigInt(byte & 127) << shift;
      if (byte < 128) return result;
      shift += 7n;
      if (shift > 63n) throw new Error('varint too long');
    }
  }
  /** A length-delimited field: returns [start, end) of its bytes. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.at;
    if (start + length > this.end) throw new Error('truncated field');
    this.at = start + length;
    return [start, start + length];
  }
  skip(wireType: number): void {
    if (wireType === 0) this.varint();
    else if (wireType === 1) this.at += 8;
    else if (wireType === 2) this.span();
    else if (wireType === 5) this.at += 4;
    else throw new Error(`unsupported wire type ${wireType}`);
    if (this.at > this.end) throw new Error('truncated field');
  }
}

function readUuid(reader: Reader): WireUuid | undefined {
  const [start, end] = reader.span();
  const inner = new Reader(reader.buffer, start, end);
  let uuid: WireUuid | undefined;
  while (!inner.done) {
    const tag = inner.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 2 && wireType === 2) {
      const [s, e] = inner.span();
      uuid = { string: inner.buffer.toString('utf8', s, e) };
    } else if (field === 1 && wireType === 2) {
      const [s, e] = inner.span();
      const structured = new Reader(inner.buffer, s, e);
      let msb = 0n;
      let lsb = 0n;
      while (!structured.done) {
        const innerTag = structured.varint();
        if (innerTag === 8) msb = BigInt.asIntN(64, structured.bigVarint());
        else if (innerTag === 16) lsb = BigInt.asIntN(64, structured.bigVarint());
        else structured.skip(innerTag & 7);
      }
      uuid = { msb, lsb };
    } else {
      inner.skip(wireType);
    }
  }
  return uuid;
}

/** `google.protobuf.Timestamp` and `Duration` share one layout: seconds = 1, nanos = 2; returns milliseconds. */
function readSecondsNanos(reader: Reader): number {
  const [start, end] = reader.span();
  const inner = new Reader(reader.buffer, start, end);
  let seconds = 0n;
  let nanos = 0n;
  while (!inner.done) {
    const tag = inner.varint();
    if (tag === 8) seconds = BigInt.asIntN(64, inner.bigVarint());
    else if (tag === 16) nanos = BigInt.asIntN(32, inner.bigVarint());
    else inner.skip(tag & 7);
  }
  return Number(seconds) * 1000 + Number(nanos) / 1e6;
}

function readOptions(reader: Reader): NonNullable<WireBatchAppendRequest['options']> {
  const [start, end] = reader.span();
  const inner = new Reader(reader.buffer, start, end);
  const options: NonNullable<WireBatchAppendRequest['options']> = {
    stream: undefined,
    expected: undefined,
    deadline: undefined,
  };
  while (!inner.done) {
    const tag = inner.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 1 && wireType === 2) {
      const [s, e] = inner.span();
      const identifier = new Reader(inner.buffer, s, e);
      let stream: Buffer = Buffer.alloc(0);
      while (!identifier.done) {
        const innerTag = identifier.varint();
        if (innerTag === 26) {
          const [a, b] = identifier.span();
          stream = identifier.buffer.subarray(a, b);
        } else identifier.skip(innerTag & 7);
      }
      options.stream = stream;
    } else if (field === 2 && wireType === 0) {
      options.expected = { kind: 'revision', value: inner.bigVarint() };
    } else if (field >= 3 && field <= 5 && wireType === 2) {
      inner.span();
      options.expected = { kind: field === 3 ? 'no_stream' : field === 4 ? 'any' : 'stream_exists' };
    } else if (field === 6 && wireType === 2) {
      options.deadline = { kind: 'at', epochMs: readSecondsNanos(inner) };
    } else if (field === 7 && wireType === 2) {
      options.deadline = { kind: 'within', ms: readSecondsNanos(inner) };
    } else {
      inner.skip(wireType);
    }
  }
  return options;
}

function readProposed(reader: Reader): WireProposedMessage {
  const [start, end] = reader.span();
  const inner = new Reader(reader.buffer, start, end);
  const message: WireProposedMessage = {
    id: undefined,
    metadata: new Map(),
    customMetadata: Buffer.alloc(0),
    data: Buffer.alloc(0),
  };
  while (!inner.done) {
    const tag = inner.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 1 && wireType === 2) {
      message.id = readUuid(inner);
    } else if (field === 2 && wireType === 2) {
      const [s, e] = inner.span();
      const entry = new Reader(inner.buffer, s, e);
      let key = '';
      let value = '';
      while (!entry.done) {
        const entryTag = entry.varint();
        if (entryTag === 10) {
          const [a, b] = entry.span();
          key = entry.buffer.toString('utf8', a, b);
        } else if (entryTag === 18) {
          const [a, b] = entry.span();
          value = entry.buffer.toString('utf8', a, b);
        } else entry.skip(entryTag & 7);
      }
      message.metadata.set(key, value);
    } else if (field === 3 && wireType === 2) {
      const [s, e] = inner.span();
      message.customMetadata = inner.buffer.subarray(s, e);
    } else if (field === 4 && wireType === 2) {
      const [s, e] = inner.span();
      message.data = inner.buffer.subarray(s, e);
    } else {
      inner.skip(wireType);
    }
  }
  return message;
}

/** Decodes a `BatchAppendReq`; throws on malformed input (grpc-js then fails the call). */
export function decodeBatchAppendRequest(buffer: Buffer): WireBatchAppendRequest {
  const reader = new Reader(buffer);
  const request: WireBatchAppendRequest = {
    correlationId: undefined,
    options: undefined,
    messages: [],
    isFinal: false,
  };
  while (!reader.done) {
    const tag = reader.varint();
    const field = Math.floor(tag / 8);
    const wireType = tag & 7;
    if (field === 1 && wireType === 2) request.correlationId = readUuid(reader);
    else if (field === 2 && wireType === 2) request.options = readOptions(reader);
    else if (field === 3 && wireType === 2) request.messages.push(readProposed(reader));
    else if (field === 4 && wireType === 0) request.isFinal = reader.varint() !== 0;
    else reader.skip(wireType);
  }
  return request;
}
