import { randomBytes } from 'node:crypto';
import {
  encodeFrame,
  FLAG_JSON,
  FLAG_TOMBSTONE,
  FRAME_HEADER_SIZE,
  type LogRecord,
  TOMBSTONE_REVISION,
} from './log/record.ts';
import {
  createMemoryStorage,
  type FileStorageOptions,
  type FsyncPolicy,
  type LogStorage,
  openFileStorage,
  type RecoveryReport,
} from './log/storage.ts';
import {
  isSoftDeleteMarker,
  parseMetadata,
  type StreamMetadata,
  softDeleteBody,
  undeleteBody,
} from './metadata.ts';
import type { AllPosition } from './positions.ts';

export { TOMBSTONE_REVISION };

/** What the writer expects the stream to be at; a bigint is an exact revision. */
export type ExpectedRevision = 'any' | 'no_stream' | 'stream_exists' | bigint;

export type ProposedEvent = {
  /** 16 bytes in canonical (string) order. */
  id: Uint8Array;
  type: string;
  isJson: boolean;
  data: Uint8Array;
  metadata: Uint8Array;
};

/** Outcome of a write; `revision` -1 means the stream still has no event. */
export type WriteResult =
  | { outcome: 'ok'; revision: number; position: number }
  | { outcome: 'wrong_expected_version'; current: number }
  | { outcome: 'stream_deleted' };

/** A committed event as read back from the log. */
export type StoredEvent = {
  index: number;
  position: number;
  stream: string;
  /** TOMBSTONE_REVISION for a tombstone. */
  revision: number;
  type: string;
  isJson: boolean;
  /** 16 bytes, canonical order. */
  id: Buffer;
  createdMicros: number;
  metadata: Buffer;
  data: Buffer;
};

export type StreamRead =
  | { kind: 'not_found' }
  | { kind: 'deleted' }
  /** Global indexes of the events to return, in order. */
  | { kind: 'ok'; indexes: Iterable<number> };

type StreamState = {
  name: string;
  number: number;
  /** Global index of each revision; revisions are dense from 0. */
  revisions: number[];
  /** Global index of the tombstone, or -1. */
  tombstone: number;
  /** Parsed metadata of a `$$` stream, keyed by the global index it was parsed from. */
  parsed?: { index: number; metadata: StreamMetadata };
};

type Decision =
  | { kind: 'ok'; current: number; softDeleted: boolean }
  | { kind: 'idempotent'; lastIndex: number; revision: number }
  | { kind: 'wrong_expected_version'; current: number }
  | { kind: 'deleted' };

export type StoreOptions = { dataDir?: string; fsync?: FsyncPolicy } & FileStorageOptions;

const INITIAL_CAPACITY = 1024;
/** Bound of the recent-event-id cache used for idempotency with ANY (best effort, as on the server). */
const ID_CACHE_LIMIT = 100_000;
/** Metastreams keep only their last event, like the server's implicit `$maxCount: 1`. */
const METASTREAM_MAX_COUNT = 1;

export function isMetastream(stream: string): boolean {
  return stream.startsWith('$$');
}

function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

/**
 * The event log: one ordered sequence of records (the `$all` stream) plus an in-memory index per
 * stream. Decisions (expected revision, idempotency) are taken synchronously in call order against
 * everything already decided, then the records are written; readers and subscribers only see a
 * record once it is durable ("visible"), so nothing acknowledged can be read before it is safe and
 * nothing read can be lost by a crash.
 */
export class EmulatorStore {
  private readonly storage: LogStorage;
  private capacity = INITIAL_CAPACITY;
  private positions = new Float64Array(INITIAL_CAPACITY);
  private lengths = new Int32Array(INITIAL_CAPACITY);
  private streamNumbers = new Int32Array(INITIAL_CAPACITY);
  private revisionColumn = new Float64Array(INITIAL_CAPACITY);
  private typeNumbers = new Int32Array(INITIAL_CAPACITY);
  private flagColumn = new Uint8Array(INITIAL_CAPACITY);
  private createdColumn = new Float64Array(INITIAL_CAPACITY);
  /** Events decided (written or being written). */
  private count = 0;
  /** Events durable and readable: always a prefix of `count`. */
  private visibleCount = 0;
  private readonly streams = new Map<string, StreamState>();
  private readonly streamList: StreamState[] = [];
  private readonly types = new Map<string, number>();
  private readonly typeList: string[] = [];
  private readonly recentIds = new Map<string, number>();
  private readonly idRing: (string | undefined)[] = [];
  private idRingNext = 0;
  private inFlight = 0;
  private failure: Error | undefined;
  private readonly commitWaiters = new Set<() => void>();
  private notifyScheduled = false;
  private closed = false;

  constructor(options: StoreOptions = {}) {
    if (options.dataDir === undefined) {
      this.storage = createMemoryStorage();
    } else {
      const fileOptions: FileStorageOptions = {};
      if (options.logger !== undefined) fileOptions.logger = options.logger;
      if (options.fileSystem !== undefined) fileOptions.fileSystem = options.fileSystem;
      if (options.groupCommit !== undefined) fileOptions.groupCommit = options.groupCommit;
      const { storage, report } = openFileStorage(
        options.dataDir,
        options.fsync ?? 'always',
        (frame, offset) => this.replayFrame(frame, offset),
        fileOptions,
      );
      this.storage = storage;
      this.recovery = report;
      this.visibleCount = this.count;
    }
  }

  /** What opening the log found (absent in memory mode). */
  readonly recovery: RecoveryReport | undefined;

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Number of readable events; global indexes below it can be read. */
  get visible(): number {
    return this.visibleCount;
  }

  /** Log position just past the last readable event (the head of `$all`). */
  get headPosition(): number {
    return this.visibleCount === 0 ? 0 : this.positions[this.visibleCount - 1]!;
  }

  // ---- writing ---------------------------------------------------------------------------

  /** Appends events to a stream, applying the server's expected-revision and idempotency rules. */
  async append(
    stream: string,
    expected: ExpectedRevision,
    events: readonly ProposedEvent[],
  ): Promise<WriteResult> {
    this.assertWritable();
    const decision = this.decide(
      stream,
      expected,
      events.map((e) => Buffer.from(e.id)),
    );
    switch (decision.kind) {
      case 'deleted':
        return { outcome: 'stream_deleted' };
      case 'wrong_expected_version':
        return { outcome: 'wrong_expected_version', current: decision.current };
      case 'idempotent':
        await this.whenVisible(decision.lastIndex + 1);
        return { outcome: 'ok', revision: decision.revision, position: this.positions[decision.lastIndex]! };
      case 'ok':
        break;
    }
    const created = nowMicros();
    const records: LogRecord[] = events.map((event, i) => ({
      flags: event.isJson ? FLAG_JSON : 0,
      stream,
      revision: decision.current + 1 + i,
      id: event.id,
      createdMicros: created,
      type: event.type,
      metadata: event.metadata,
      data: event.data,
    }));
    if (decision.softDeleted && events.length > 0) {
      // Writing to a soft-deleted stream brings it back: old events stay hidden behind `$tb`.
      records.push(
        this.metadataRecord(stream, undeleteBody(this.metadataOf(stream)?.raw ?? {}, decision.current + 1)),
      );
    }
    if (isMetastream(stream) && events.length > 0) {
      const original = stream.slice(2);
      const last = events[events.length - 1]!;
      if (isSoftDeleteMarker(this.metadataOf(original)) && last.isJson) {
        // New metadata on a soft-deleted stream is rewritten so the stream stays truncated.
        const rewritten = undeleteBody(parseMetadata(last.data).raw, this.lastRevision(original) + 1);
        records.push({
          ...this.metadataRecord(original, rewritten),
          revision: decision.current + 1 + events.length,
        });
      }
    }
    const { indexes, frameOffset } = await this.write(records);
    if (events.length === 0) {
      // The server writes an empty record for an empty append: the log position still moves.
      return { outcome: 'ok', revision: decision.current, position: frameOffset + FRAME_HEADER_SIZE };
    }
    const lastIndex = indexes[events.length - 1]!;
    return {
      outcome: 'ok',
      revision: decision.current + events.length,
      position: this.positions[lastIndex]!,
    };
  }

  /** Soft delete: writes `{"$tb": 2^63-1}` to `$$stream`; the stream can be written again later. */
  async deleteStream(stream: string, expected: ExpectedRevision): Promise<WriteResult> {
    this.assertWritable();
    const decision = this.decide(stream, expected, [randomBytes(16)]);
    if (decision.kind === 'deleted') return { outcome: 'stream_deleted' };
    if (decision.kind !== 'ok')
      return {
        outcome: 'wrong_expected_version',
        current: decision.kind === 'wrong_expected_version' ? decision.current : -1,
      };
    if (decision.current < 0 && this.lastRevision(`$$${stream}`) < 0) {
      return { outcome: 'wrong_expected_version', current: -1 };
    }
    const {
      indexes: [index],
    } = await this.write([this.metadataRecord(stream, softDeleteBody())]);
    return { outcome: 'ok', revision: decision.current, position: this.positions[index!]! };
  }

  /** Hard delete: writes a `$streamDeleted` tombstone; the stream and its metastream are gone for good. */
  async tombstoneStream(stream: string, expected: ExpectedRevision): Promise<WriteResult> {
    this.assertWritable();
    const decision = this.decide(stream, expected, [randomBytes(16)]);
    if (decision.kind === 'deleted') return { outcome: 'stream_deleted' };
    if (decision.kind !== 'ok')
      return {
        outcome: 'wrong_expected_version',
        current: decision.kind === 'wrong_expected_version' ? decision.current : -1,
      };
    const {
      indexes: [index],
    } = await this.write([
      {
        flags: FLAG_TOMBSTONE,
        stream,
        revision: TOMBSTONE_REVISION,
        id: randomBytes(16),
        createdMicros: nowMicros(),
        type: '$streamDeleted',
        metadata: Buffer.alloc(0),
        data: Buffer.alloc(0),
      },
    ]);
    return { outcome: 'ok', revision: decision.current, position: this.positions[index!]! };
  }

  private metadataRecord(stream: string, body: Buffer): LogRecord {
    return {
      flags: FLAG_JSON,
      stream: `$$${stream}`,
      revision: this.lastRevision(`$$${stream}`) + 1,
      id: randomBytes(16),
      createdMicros: nowMicros(),
      type: '$metadata',
      metadata: Buffer.alloc(0),
      data: body,
    };
  }

  private assertWritable(): void {
    if (this.closed) throw new Error('event store is closed');
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * The server's commit check (expected revision, soft delete, idempotency) against everything
   * decided so far.
   */
  private decide(stream: string, expected: ExpectedRevision, ids: readonly Buffer[]): Decision {
    const state = this.streams.get(stream);
    if (state !== undefined && state.tombstone >= 0) return { kind: 'deleted' };
    if (isMetastream(stream) && (this.streams.get(stream.slice(2))?.tombstone ?? -1) >= 0)
      return { kind: 'deleted' };
    const current = state === undefined ? -1 : state.revisions.length - 1;
    const softDeleted = !isMetastream(stream) && isSoftDeleteMarker(this.metadataOf(stream));

    if (expected === 'stream_exists') {
      if (softDeleted) return { kind: 'deleted' };
      if (current < 0 && this.lastRevision(`$$${stream}`) < 0)
        return { kind: 'wrong_expected_version', current };
    }
    if (expected === 'any' || expected === 'stream_exists') {
      let firstRevision = -1;
      let lastIndex = -1;
      for (let i = 0; i < ids.length; i++) {
        const index = this.recentIds.get(ids[i]!.toString('latin1'));
        if (index === undefined || this.streamNumbers[index] !== state?.number) {
          return i === 0 ? { kind: 'ok', current, softDeleted } : { kind: 'wrong_expected_version', current };
        }
        if (i === 0) firstRevision = this.revisionColumn[index]!;
        lastIndex = index;
      }
      if (ids.length === 0 || firstRevision < 0) return { kind: 'ok', current, softDeleted };
      return { kind: 'idempotent', lastIndex, revision: this.revisionColumn[lastIndex]! };
    }
    const expectedNumber = expected === 'no_stream' ? -1n : expected;
    if (expectedNumber < BigInt(current)) {
      const from = Number(expectedNumber);
      for (let i = 0; i < ids.length; i++) {
        const revision = from + 1 + i;
        const index = revision <= current ? state!.revisions[revision]! : -1;
        if (index >= 0 && this.readId(index).equals(ids[i]!)) continue;
        if (i > 0) return { kind: 'wrong_expected_version', current };
        if (expected === 'no_stream' && softDeleted) return { kind: 'ok', current, softDeleted };
        return { kind: 'wrong_expected_version', current };
      }
      if (ids.length === 0) return { kind: 'wrong_expected_version', current };
      const lastIndex = state!.revisions[from + ids.length]!;
      return { kind: 'idempotent', lastIndex, revision: from + ids.length };
    }
    if (expectedNumber > BigInt(current)) return { kind: 'wrong_expected_version', current };
    return { kind: 'ok', current, softDeleted };
  }

  /**
   * Indexes the records now (so later decisions see them) and resolves once they are durable,
   * with their global indexes and the frame's log offset.
   */
  private write(records: readonly LogRecord[]): Promise<{ indexes: number[]; frameOffset: number }> {
    const frameOffset = this.storage.size;
    const frame = encodeFrame(records);
    const indexes: number[] = [];
    for (let i = 0; i < records.length; i++) {
      const record = records[i]!;
      const index = this.index(record, frameOffset + frame.recordOffsets[i]!, frame.recordLengths[i]!);
      indexes.push(index);
      if (record.flags !== FLAG_TOMBSTONE) this.rememberId(record.id, index);
    }
    const upTo = this.count;
    const done = this.storage.append(frame.bytes);
    if (done === undefined) {
      this.publish(upTo);
      return Promise.resolve({ indexes, frameOffset });
    }
    this.inFlight++;
    return done.then(
      () => {
        this.inFlight--;
        this.publish(upTo);
        return { indexes, frameOffset };
      },
      (error: unknown) => {
        this.inFlight--;
        // A failed write leaves the log in an unknown state: refuse every further write.
        this.failure ??= error instanceof Error ? error : new Error(String(error));
        throw this.failure;
      },
    );
  }

  private publish(upTo: number): void {
    if (upTo <= this.visibleCount) return;
    this.visibleCount = upTo;
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    queueMicrotask(() => {
      this.notifyScheduled = false;
      const waiters = [...this.commitWaiters];
      this.commitWaiters.clear();
      for (const wake of waiters) wake();
    });
  }

  private rememberId(id: Uint8Array, index: number): void {
    const key = Buffer.from(id.buffer, id.byteOffset, id.byteLength).toString('latin1');
    // A ring of the last ID_CACHE_LIMIT ids decides what to forget (cheaper than Map iteration).
    const evicted = this.idRing[this.idRingNext];
    if (evicted !== undefined && this.recentIds.get(evicted) !== undefined && evicted !== key) {
      this.recentIds.delete(evicted);
    }
    this.idRing[this.idRingNext] = key;
    this.idRingNext = (this.idRingNext + 1) % ID_CACHE_LIMIT;
    this.recentIds.set(key, index);
  }

  private grow(): void {
    const capacity = this.capacity * 2;
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(old: T, make: (n: number) => T): T => {
      const next = make(capacity);
      next.set(old);
      return next;
    };
    this.positions = grow(this.positions, (n) => new Float64Array(n));
    this.lengths = grow(this.lengths, (n) => new Int32Array(n));
    this.streamNumbers = grow(this.streamNumbers, (n) => new Int32Array(n));
    this.revisionColumn = grow(this.revisionColumn, (n) => new Float64Array(n));
    this.typeNumbers = grow(this.typeNumbers, (n) => new Int32Array(n));
    this.flagColumn = grow(this.flagColumn, (n) => new Uint8Array(n));
    this.createdColumn = grow(this.createdColumn, (n) => new Float64Array(n));
    this.capacity = capacity;
  }

  private streamState(name: string): StreamState {
    let state = this.streams.get(name);
    if (state === undefined) {
      state = { name, number: this.streamList.length, revisions: [], tombstone: -1 };
      this.streams.set(name, state);
      this.streamList.push(state);
    }
    return state;
  }

  private typeNumber(type: string): number {
    let number = this.types.get(type);
    if (number === undefined) {
      number = this.typeList.length;
      this.types.set(type, number);
      this.typeList.push(type);
    }
    return number;
  }

  private index(record: LogRecord, position: number, length: number): number {
    if (this.count === this.capacity) this.grow();
    const index = this.count++;
    const state = this.streamState(record.stream);
    this.positions[index] = position;
    this.lengths[index] = length;
    this.streamNumbers[index] = state.number;
    this.revisionColumn[index] = record.revision;
    this.typeNumbers[index] = this.typeNumber(record.type);
    this.flagColumn[index] = record.flags;
    this.createdColumn[index] = record.createdMicros;
    if (record.flags & FLAG_TOMBSTONE) state.tombstone = index;
    else state.revisions.push(index);
    return index;
  }

  /** Rebuilds the index from one recovered frame (startup only). */
  private replayFrame(frame: Buffer, frameOffset: number): void {
    const count = frame.readUInt32LE(FRAME_HEADER_SIZE);
    let at = FRAME_HEADER_SIZE + 4;
    for (let i = 0; i < count; i++) {
      const start = at;
      const flags = frame.readUInt8(at);
      const streamLength = frame.readUInt16LE(at + 1);
      at += 3;
      const stream = frame.toString('utf8', at, at + streamLength);
      at += streamLength;
      const revision = frame.readDoubleLE(at);
      at += 8 + 16;
      const createdMicros = frame.readDoubleLE(at);
      at += 8;
      const typeLength = frame.readUInt16LE(at);
      at += 2;
      const type = frame.toString('utf8', at, at + typeLength);
      at += typeLength;
      at += 4 + frame.readUInt32LE(at);
      at += 4 + frame.readUInt32LE(at);
      const empty = new Uint8Array(0);
      this.index(
        { flags, stream, revision, id: empty, createdMicros, type, metadata: empty, data: empty },
        frameOffset + start,
        at - start,
      );
    }
  }

  // ---- reading ---------------------------------------------------------------------------

  /** Reads the event at a global index (must be below `visible`, or decided for id checks). */
  event(index: number): StoredEvent {
    const length = this.lengths[index]!;
    const bytes = this.storage.read(this.positions[index]!, length);
    let at = 3 + bytes.readUInt16LE(1) + 8;
    const id = bytes.subarray(at, at + 16);
    at += 16 + 8;
    at += 2 + bytes.readUInt16LE(at);
    const metadataLength = bytes.readUInt32LE(at);
    at += 4;
    const metadata = bytes.subarray(at, at + metadataLength);
    at += metadataLength;
    const dataLength = bytes.readUInt32LE(at);
    at += 4;
    const data = bytes.subarray(at, at + dataLength);
    const flags = this.flagColumn[index]!;
    return {
      index,
      position: this.positions[index]!,
      stream: this.streamList[this.streamNumbers[index]!]!.name,
      revision: this.revisionColumn[index]!,
      type: this.typeList[this.typeNumbers[index]!]!,
      isJson: (flags & FLAG_JSON) !== 0,
      id,
      createdMicros: this.createdColumn[index]!,
      metadata,
      data,
    };
  }

  private readId(index: number): Buffer {
    return this.event(index).id;
  }

  position(index: number): number {
    return this.positions[index]!;
  }

  streamName(index: number): string {
    return this.streamList[this.streamNumbers[index]!]!.name;
  }

  eventType(index: number): string {
    return this.typeList[this.typeNumbers[index]!]!;
  }

  revision(index: number): number {
    return this.revisionColumn[index]!;
  }

  isTombstone(index: number): boolean {
    return (this.flagColumn[index]! & FLAG_TOMBSTONE) !== 0;
  }

  /** Last decided revision of a stream, -1 when it has none. */
  lastRevision(stream: string): number {
    const state = this.streams.get(stream);
    return state === undefined ? -1 : state.revisions.length - 1;
  }

  /** Last readable revision of a stream, -1 when it has none. */
  lastVisibleRevision(stream: string): number {
    const state = this.streams.get(stream);
    if (state === undefined) return -1;
    let revision = state.revisions.length - 1;
    while (revision >= 0 && state.revisions[revision]! >= this.visibleCount) revision--;
    return revision;
  }

  /** Global index of a stream revision, if readable. */
  indexOf(stream: string, revision: number): number | undefined {
    const index = this.streams.get(stream)?.revisions[revision];
    return index !== undefined && index < this.visibleCount ? index : undefined;
  }

  /** Global index of the stream's tombstone if it is readable. */
  tombstoneIndex(stream: string): number | undefined {
    const state = this.streams.get(isMetastream(stream) ? stream.slice(2) : stream);
    if (state === undefined || state.tombstone < 0 || state.tombstone >= this.visibleCount) return undefined;
    return state.tombstone;
  }

  /** Current metadata of a stream (from its `$$` stream), if any. */
  metadataOf(stream: string): StreamMetadata | undefined {
    const meta = this.streams.get(`$$${stream}`);
    const last = meta?.revisions[meta.revisions.length - 1];
    if (meta === undefined || last === undefined) return undefined;
    if (meta.parsed?.index !== last) {
      const event = this.event(last);
      meta.parsed = { index: last, metadata: event.isJson ? parseMetadata(event.data) : { raw: {} } };
    }
    return meta.parsed.metadata;
  }

  /**
   * Plans a stream read as the server answers it: a missing or soft-deleted stream is "not
   * found", a tombstoned one "deleted"; `$tb`, `$maxCount` and `$maxAge` hide events.
   * `from` is an inclusive revision, or 'start'/'end'.
   */
  readStream(
    stream: string,
    direction: 'forwards' | 'backwards',
    from: bigint | 'start' | 'end',
    maxCount: number,
  ): StreamRead {
    if (this.tombstoneIndex(stream) !== undefined) return { kind: 'deleted' };
    const last = this.lastVisibleRevision(stream);
    if (last < 0) return { kind: 'not_found' };
    const metadata = isMetastream(stream) ? undefined : this.metadataOf(stream);
    if (isSoftDeleteMarker(metadata)) return { kind: 'not_found' };
    let first = 0;
    if (metadata?.truncateBefore !== undefined) first = Math.max(first, metadata.truncateBefore);
    const maxCountRule = isMetastream(stream) ? METASTREAM_MAX_COUNT : metadata?.maxCount;
    if (maxCountRule !== undefined) first = Math.max(first, last - maxCountRule + 1);
    const oldest =
      metadata?.maxAgeSeconds === undefined ? -Infinity : nowMicros() - metadata.maxAgeSeconds * 1e6;
    const state = this.streams.get(stream)!;
    const created = this.createdColumn;
    const indexes = function* (): Generator<number> {
      let remaining = maxCount;
      if (direction === 'forwards') {
        const start =
          from === 'start' ? 0 : from === 'end' ? last + 1 : from > BigInt(last) ? last + 1 : Number(from);
        for (let r = Math.max(start, first); r <= last && remaining > 0; r++) {
          const index = state.revisions[r]!;
          if (created[index]! < oldest) continue;
          remaining--;
          yield index;
        }
      } else {
        const start =
          from === 'end' ? last : from === 'start' ? 0 : from > BigInt(last) ? last : Number(from);
        for (let r = start; r >= first && remaining > 0; r--) {
          const index = state.revisions[r]!;
          if (created[index]! < oldest) continue;
          remaining--;
          yield index;
        }
      }
    };
    return { kind: 'ok', indexes: indexes() };
  }

  /** First global index whose position is >= `position` (binary search over readable events). */
  indexAtOrAfter(position: number): number {
    let lo = 0;
    let hi = this.visibleCount;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.positions[mid]! < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First global index whose event sorts after `position` (a pair with prepare < commit sorts before the event at commit). */
  indexAfter(position: AllPosition): number {
    const index = this.indexAtOrAfter(position.commit);
    if (
      index < this.visibleCount &&
      this.positions[index] === position.commit &&
      position.prepare >= position.commit
    ) {
      return index + 1;
    }
    return index;
  }

  /** First global index whose event sorts at or after `position`. */
  indexFrom(position: AllPosition): number {
    const index = this.indexAtOrAfter(position.commit);
    if (
      index < this.visibleCount &&
      this.positions[index] === position.commit &&
      position.prepare > position.commit
    ) {
      return index + 1;
    }
    return index;
  }

  /** Log offset just past the record at `index` (where the next record starts). */
  postPosition(index: number): number {
    return this.positions[index]! + this.lengths[index]!;
  }

  // ---- change notification -------------------------------------------------------------

  /** Resolves once more than `count` events are readable (or the store closes). */
  whenVisible(count: number): Promise<void> {
    if (this.visibleCount >= count || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const check = (): void => {
        if (this.visibleCount >= count || this.closed) resolve();
        else this.commitWaiters.add(check);
      };
      this.commitWaiters.add(check);
    });
  }

  /** Calls `wake` once, the next time events become readable; returns a function that cancels it. */
  onNextCommit(wake: () => void): () => void {
    this.commitWaiters.add(wake);
    return () => this.commitWaiters.delete(wake);
  }

  /** Waits for writes in flight, then releases the log. */
  async close(): Promise<void> {
    if (this.closed) return;
    while (this.inFlight > 0) await new Promise((resolve) => setTimeout(resolve, 1));
    this.closed = true;
    for (const wake of this.commitWaiters) wake();
    this.commitWaiters.clear();
    this.storage.close();
  }
}
