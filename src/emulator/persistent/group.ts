import { randomBytes } from 'node:crypto';
import type persistentPb from '@eventstore/db-client/generated/persistent_pb.js';
import { createFilter, defaultAllFilterAllows, type EventFilter } from '../filter.ts';
import type { CallWriter } from '../grpc/call-writer.ts';
import { rpcErrors } from '../grpc/errors.ts';
import { resolve } from '../grpc/events.ts';
import { encodeReadEventResponse } from '../grpc/wire.ts';
import type { EmulatorStore, ProposedEvent } from '../store.ts';
import { type GroupDefinition, groupKey, sourceName } from './definition.ts';
import type { RequestStatistics } from './latency.ts';

/** A generated `ReadResp`, or one already encoded to wire bytes. */
export type PsReadResp = InstanceType<typeof persistentPb.ReadResp> | Buffer;

/** One delivery of an event to the group (a retry is a new delivery of the same event). */
type Message = {
  /** Global index of the original event: the link when the event came through one. */
  original: number;
  event: number | undefined;
  link: number | undefined;
  /** Source position: a revision of the stream, or a `$all` log position. */
  position: number;
  /** Order in which the group met the event; undefined for replayed parked messages. */
  sequence: number | undefined;
  /** Source position of the event met before this one (what a checkpoint here would record). */
  previous: number | undefined;
  retryCount: number;
  /** Hex of the original event's id: acks and nacks name it. */
  id: string;
  /** Stream the Pinned strategy hashes (the target's stream for links). */
  pinStream: string;
};

export type GroupClient = {
  id: number;
  writer: CallWriter<PsReadResp>;
  maxInFlight: number;
  inFlight: Map<string, Message>;
  connectionName: string;
  from: string;
  totalItems: number;
  structuredIds: boolean;
  /** Round-trip times of this connection, kept when the group has `extraStatistics`. */
  latency: RequestStatistics | undefined;
};

type Outstanding = { message: Message; client: GroupClient; expires: number };

export type NackAction = 'park' | 'retry' | 'skip' | 'stop' | 'unknown';

export type GroupStatistics = {
  status: string;
  lastCheckpoint: number | undefined;
  lastKnown: number | undefined;
  totalItems: number;
  retryCount: number;
  bufferCount: number;
  outstanding: number;
  parkedCount: number;
};

function lower(current: Message | undefined, candidate: Message): Message | undefined {
  if (candidate.sequence === undefined) return current;
  if (current === undefined || candidate.sequence < current.sequence!) return candidate;
  return current;
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * The runtime of one persistent subscription group, after the server's rules: messages go to
 * clients with free slots (retries first, by position), each client has at most `buffer_size`
 * messages in flight, a nack or timeout retries until `maxRetryCount` and then parks, and the
 * checkpoint records the position just before the oldest unfinished message.
 */
export class Group {
  readonly definition: GroupDefinition;
  readonly key: string;
  readonly checkpointStream: string;
  readonly parkedStream: string;
  private readonly store: EmulatorStore;
  private readonly filter: EventFilter | undefined;
  readonly clients: GroupClient[] = [];
  private roundRobin = 0;
  /** Next source position to read: a stream revision, or a global index for `$all`. */
  private cursor = 0;
  private buffer: Message[] = [];
  private retry: Message[] = [];
  private readonly outstanding = new Map<string, Outstanding>();
  private nextSequence = 0;
  private lastKnownSequence = -1;
  private lastKnownPosition: number | undefined;
  private lastCheckpointedSequence = -1;
  private lastCheckpointTime = Number.NEGATIVE_INFINITY;
  private lastCheckpointPosition: number | undefined;
  private totalItems = 0;
  private stopped = false;
  /** Writes (checkpoints, parked links) go out one after another, in order. */
  private writes: Promise<unknown> = Promise.resolve();

  constructor(store: EmulatorStore, definition: GroupDefinition) {
    this.store = store;
    this.definition = definition;
    this.key = groupKey(definition.source, definition.group);
    this.checkpointStream = `$persistentsubscription-${this.key}-checkpoint`;
    this.parkedStream = `$persistentsubscription-${this.key}-parked`;
    const source = definition.source;
    this.filter =
      source.kind === 'all' && source.filter !== undefined ? createFilter(source.filter) : undefined;
    this.load();
  }

  private get isAll(): boolean {
    return this.definition.source.kind === 'all';
  }

  /** Starts from the last checkpoint (exclusive) or, without one, from the settings' start. */
  private load(): void {
    const read = this.store.readStream(this.checkpointStream, 'backwards', 'end', 1);
    let checkpoint: string | undefined;
    if (read.kind === 'ok') {
      for (const index of read.indexes) {
        try {
          const value: unknown = JSON.parse(this.store.event(index).data.toString('utf8'));
          if (typeof value === 'string') checkpoint = value;
        } catch {
          checkpoint = undefined;
        }
      }
    }
    const { startFrom } = this.definition.settings;
    if (checkpoint !== undefined) {
      const position = this.isAll
        ? Number(/^C:(\d+)\/P:(\d+)$/.exec(checkpoint)?.[1] ?? -1)
        : Number(checkpoint);
      this.cursor = this.isAll
        ? this.store.indexAfter({ commit: position, prepare: position })
        : position + 1;
      this.nextSequence = 1;
      this.lastKnownSequence = 0;
      this.lastCheckpointedSequence = 0;
      this.lastKnownPosition = position;
      this.lastCheckpointPosition = position;
      return;
    }
    if (this.isAll) {
      this.cursor =
        startFrom.kind === 'start'
          ? 0
          : startFrom.kind === 'end'
            ? this.store.visible
            : startFrom.kind === 'position'
              ? this.store.indexFrom(startFrom.position)
              : 0;
    } else {
      const stream = sourceName(this.definition.source);
      this.cursor =
        startFrom.kind === 'start'
          ? 0
          : startFrom.kind === 'end'
            ? this.store.lastVisibleRevision(stream) + 1
            : startFrom.kind === 'revision'
              ? startFrom.revision
              : 0;
    }
  }

  // ---- clients ---------------------------------------------------------------------------

  get full(): boolean {
    const max = this.definition.settings.maxSubscriberCount;
    return max > 0 && this.clients.length >= max;
  }

  addClient(client: GroupClient): void {
    this.clients.push(client);
    this.push();
  }

  /** A client went away: what it had in flight is retried (retry count + 1), as on the server. */
  removeClient(client: GroupClient): void {
    const at = this.clients.indexOf(client);
    if (at < 0) return;
    this.clients.splice(at, 1);
    const lost = [...client.inFlight.values()].sort((a, b) => a.position - b.position);
    for (const message of lost) this.retryMessage(message);
    this.push();
  }

  /** Drops every client with PersistentSubscriptionDroppedError and stops delivering. */
  shutdown(): void {
    this.stopped = true;
    const { source, group } = this.definition;
    for (const client of this.clients.splice(0)) {
      client.writer.fail(rpcErrors.persistentSubscriptionDropped(sourceName(source), group));
    }
  }

  /** Resolves when every checkpoint and parked write issued so far is done. */
  settled(): Promise<unknown> {
    return this.writes;
  }

  // ---- acks, nacks, time -------------------------------------------------------------------

  ack(ids: readonly string[]): void {
    for (const id of ids) this.finish(id);
    this.markCheckpoint(false);
    this.push();
  }

  nack(ids: readonly string[], action: NackAction, reason: string): void {
    for (const id of ids) {
      const entry = this.outstanding.get(id);
      if (entry === undefined) continue;
      if (action === 'retry' || action === 'unknown') {
        if (!this.parkIfExhausted(entry.message)) this.retryMessage(entry.message);
      } else if (action === 'park') {
        this.park(entry.message, `Client explicitly NAK'ed message.\n${reason}`);
      }
      // skip, and stop (a no-op on the server), just finish the message.
    }
    for (const id of ids) this.finish(id);
    this.markCheckpoint(false);
    this.push();
  }

  /** The server's one-second tick: time out messages, then maybe checkpoint by time. */
  tick(now: number): void {
    if (this.stopped) return;
    for (const entry of [...this.outstanding.values()]) {
      if (entry.expires > now) continue;
      if (!this.parkIfExhausted(entry.message)) this.retryMessage(entry.message);
    }
    this.push();
    this.markCheckpoint(true);
  }

  /** New events were committed. */
  notify(): void {
    if (this.clients.length > 0) this.push();
  }

  private finish(id: string): void {
    const entry = this.outstanding.get(id);
    if (entry === undefined) return;
    this.outstanding.delete(id);
    entry.client.inFlight.delete(id);
  }

  private parkIfExhausted(message: Message): boolean {
    if (message.retryCount < this.definition.settings.maxRetryCount) return false;
    this.park(message, `Reached retry count of ${this.definition.settings.maxRetryCount}`);
    return true;
  }

  private retryMessage(message: Message): void {
    this.finish(message.id);
    const retried = { ...message, retryCount: message.retryCount + 1 };
    // Retries go out before new events, oldest position first.
    let at = this.retry.length;
    while (at > 0 && this.retry[at - 1]!.position > retried.position) at--;
    this.retry.splice(at, 0, retried);
  }

  /** Writes a link to the parked stream: "<revision>@<stream>" of the target, reason in metadata. */
  private park(message: Message, reason: string): void {
    this.finish(message.id);
    const target = message.event;
    const data =
      target === undefined
        ? this.store.event(message.link!).data.toString('utf8')
        : `${this.store.revision(target)}@${this.store.streamName(target)}`;
    const metadata = {
      Added: new Date().toISOString(),
      Reason: reason,
      SubscriptionEventNumber: this.store.revision(message.original),
    };
    this.write(this.parkedStream, {
      id: randomBytes(16),
      type: '$>',
      isJson: false,
      data: Buffer.from(data),
      metadata: Buffer.from(JSON.stringify(metadata)),
    });
  }

  private write(stream: string, event: ProposedEvent): void {
    this.writes = this.writes
      .then(() => this.store.append(stream, 'any', [event]))
      .catch((error: unknown) => {
        // At shutdown a last checkpoint may race the closing log; anything else is worth a line.
        if (!this.store.isClosed)
          console.error(`persistent subscription ${this.key}: write to ${stream} failed:`, error);
      });
  }

  // ---- delivery ----------------------------------------------------------------------------

  /** Reads up to `count` events of the source into the buffer; returns how many were met. */
  private pull(count: number): number {
    let met = 0;
    const source = this.definition.source;
    if (source.kind === 'stream') {
      const read = this.store.readStream(source.stream, 'forwards', BigInt(this.cursor), count);
      if (read.kind !== 'ok') return 0;
      for (const index of read.indexes) {
        this.cursor = this.store.revision(index) + 1;
        this.accept(index, this.store.revision(index));
        met++;
      }
      return met;
    }
    while (met < count && this.cursor < this.store.visible) {
      const index = this.cursor++;
      met++;
      const stream = this.store.streamName(index);
      const position = this.store.position(index);
      // The server never shows these to a group (its own checkpoints among them), not even as skipped.
      if (!defaultAllFilterAllows(stream)) continue;
      if (this.filter !== undefined && !this.filter.allows(stream, this.store.eventType(index))) {
        // Filtered-out events still move the checkpoint forward.
        this.lastKnownSequence = this.nextSequence++;
        this.lastKnownPosition = position;
        continue;
      }
      this.accept(index, position);
    }
    return met;
  }

  private accept(index: number, position: number): void {
    const resolved = resolve(this.store, index, this.definition.settings.resolveLinks);
    let pinStream = this.store.streamName(resolved.event ?? index);
    if (resolved.event === undefined && this.store.eventType(index) === '$>') {
      const payload = this.store.event(index).data.toString('utf8');
      pinStream = payload.slice(payload.indexOf('@') + 1);
    }
    const sequence = this.nextSequence++;
    this.buffer.push({
      original: index,
      event: resolved.event,
      link: resolved.link,
      position,
      sequence,
      previous: this.lastKnownPosition,
      retryCount: 0,
      id: this.store.event(index).id.toString('hex'),
      pinStream,
    });
    this.lastKnownSequence = sequence;
    this.lastKnownPosition = position;
  }

  private push(): void {
    if (this.stopped || this.clients.length === 0) return;
    for (let i = 0; i < this.retry.length; ) {
      const result = this.tryPush(this.retry[i]!);
      if (result === 'sent') this.retry.splice(i, 1);
      else if (result === 'full') return;
      else i++;
    }
    const { historyBufferSize, readBatchSize } = this.definition.settings;
    for (let i = 0; ; ) {
      if (i >= this.buffer.length) {
        if (this.buffer.length >= Math.max(historyBufferSize, 1)) return;
        if (this.pull(Math.max(readBatchSize, 1)) === 0) {
          if (i >= this.buffer.length) {
            this.markCheckpoint(false);
            return;
          }
        }
        continue;
      }
      const result = this.tryPush(this.buffer[i]!);
      if (result === 'sent') this.buffer.splice(i, 1);
      else if (result === 'full') return;
      else i++;
    }
  }

  private capacity(client: GroupClient): number {
    return client.maxInFlight - client.inFlight.size;
  }

  /** The consumer strategy: which client gets the message, or why none does. */
  private tryPush(message: Message): 'sent' | 'skipped' | 'full' {
    // A second message with an id still in flight waits (the server skips duplicates).
    if (this.outstanding.has(message.id)) return 'skipped';
    const clients = this.clients;
    let chosen: GroupClient | undefined;
    switch (this.definition.settings.strategy) {
      case 'RoundRobin':
        for (let k = 0; k < clients.length; k++) {
          const candidate = clients[(this.roundRobin + k) % clients.length]!;
          if (this.capacity(candidate) > 0) {
            chosen = candidate;
            this.roundRobin = (this.roundRobin + k + 1) % clients.length;
            break;
          }
        }
        if (chosen === undefined) return 'full';
        break;
      case 'DispatchToSingle':
        chosen = clients.find((candidate) => this.capacity(candidate) > 0);
        if (chosen === undefined) return 'full';
        break;
      default: {
        if (!clients.some((candidate) => this.capacity(candidate) > 0)) return 'full';
        const key =
          this.definition.settings.strategy === 'PinnedByCorrelation'
            ? this.correlationOf(message)
            : message.pinStream;
        const pinned = clients[fnv1a(key) % clients.length]!;
        if (this.capacity(pinned) <= 0) return 'skipped';
        chosen = pinned;
      }
    }
    this.send(chosen, message);
    return 'sent';
  }

  private correlationOf(message: Message): string {
    const target = message.event ?? message.original;
    try {
      const metadata: unknown = JSON.parse(this.store.event(target).metadata.toString('utf8'));
      const correlation = (metadata as Record<string, unknown> | null)?.$correlationId;
      if (typeof correlation === 'string') return correlation;
    } catch {
      // no JSON metadata: fall back to the stream
    }
    return message.pinStream;
  }

  private send(client: GroupClient, message: Message): void {
    const timeout = this.definition.settings.messageTimeoutMs;
    client.inFlight.set(message.id, message);
    this.outstanding.set(message.id, { message, client, expires: Date.now() + timeout });
    client.totalItems++;
    this.totalItems++;
    client.latency?.start(message.id, performance.now());
    void client.writer.send(this.response(message, client.structuredIds));
  }

  /** Both the event and its link carry the original event's position, as on the server. */
  private response(message: Message, structuredIds: boolean): Buffer {
    const originalPosition = this.store.position(message.original);
    return encodeReadEventResponse({
      event: message.event === undefined ? undefined : this.store.event(message.event),
      link: message.link === undefined ? undefined : this.store.event(message.link),
      recordedPosition: originalPosition,
      commitPosition: originalPosition,
      retryCount: message.retryCount,
      structuredIds,
    });
  }

  // ---- checkpoints ---------------------------------------------------------------------------

  /**
   * Records the position just before the oldest unfinished message, once `maxCheckpointCount`
   * messages completed, or on a tick after `checkpointAfter` with at least `minCheckpointCount`.
   */
  private markCheckpoint(isTimeCheck: boolean): void {
    const { checkpointAfterMs, minCheckpointCount, maxCheckpointCount } = this.definition.settings;
    // Cheap bound first: the checkpoint cannot move past the last message met.
    const most = this.lastKnownSequence - this.lastCheckpointedSequence;
    if (most <= 0 || (!isTimeCheck && most < maxCheckpointCount)) return;
    let lowest: Message | undefined;
    for (const entry of this.outstanding.values()) lowest = lower(lowest, entry.message);
    for (const message of this.retry) lowest = lower(lowest, message);
    // The buffer is in sequence order: its first message with a sequence is its lowest.
    for (const message of this.buffer) {
      if (message.sequence === undefined) continue;
      lowest = lower(lowest, message);
      break;
    }
    let sequence: number;
    let position: number | undefined;
    if (lowest !== undefined) {
      sequence = lowest.sequence! - 1;
      position = lowest.previous;
      if (position === undefined) return;
    } else {
      sequence = this.lastKnownSequence;
      position = this.lastKnownPosition;
    }
    if (sequence < 0 || position === undefined) return;
    const difference = sequence - this.lastCheckpointedSequence;
    if (difference <= 0) return;
    const now = Date.now();
    const after = checkpointAfterMs === 0 ? Number.POSITIVE_INFINITY : checkpointAfterMs;
    if (now - this.lastCheckpointTime < after && difference < maxCheckpointCount) return;
    if ((difference >= minCheckpointCount && isTimeCheck) || difference >= maxCheckpointCount) {
      this.lastCheckpointTime = now;
      this.lastCheckpointedSequence = sequence;
      this.lastCheckpointPosition = position;
      const text = this.isAll ? `C:${position}/P:${position}` : String(position);
      this.write(this.checkpointStream, {
        id: randomBytes(16),
        type: '$SubscriptionCheckpoint',
        isJson: true,
        data: Buffer.from(JSON.stringify(text)),
        metadata: new Uint8Array(0),
      });
    }
  }

  // ---- replay and statistics ---------------------------------------------------------------

  /**
   * Puts parked messages (up to revision `stopAt`, exclusive) back on the retry queue with retry
   * count 0, then truncates the parked stream past them.
   */
  replayParked(stopAt: number | undefined): void {
    const read = this.store.readStream(this.parkedStream, 'forwards', 'start', Number.MAX_SAFE_INTEGER);
    if (read.kind !== 'ok') return;
    let replayedEnd: number | undefined;
    for (const index of read.indexes) {
      const revision = this.store.revision(index);
      if (stopAt !== undefined && revision >= stopAt) break;
      replayedEnd = revision + 1;
      const resolved = resolve(this.store, index, true);
      if (resolved.event === undefined) continue;
      const target = resolved.event;
      this.retry.push({
        original: target,
        event: target,
        link: undefined,
        position: this.isAll ? this.store.position(target) : this.store.revision(target),
        sequence: undefined,
        previous: undefined,
        retryCount: 0,
        id: this.store.event(target).id.toString('hex'),
        pinStream: this.store.streamName(target),
      });
    }
    if (replayedEnd === undefined) return;
    const truncate = replayedEnd;
    this.writes = this.writes
      .then(() =>
        this.store.append(`$$${this.parkedStream}`, 'any', [
          {
            id: randomBytes(16),
            type: '$metadata',
            isJson: true,
            data: Buffer.from(JSON.stringify({ $tb: truncate })),
            metadata: new Uint8Array(0),
          },
        ]),
      )
      .catch(() => undefined);
    this.push();
  }

  statistics(): GroupStatistics {
    const parkedLast = this.store.lastRevision(this.parkedStream);
    const parkedTruncate = this.store.metadataOf(this.parkedStream)?.truncateBefore ?? 0;
    return {
      status: this.stopped
        ? 'NotReady'
        : this.buffer.length === 0 && this.retry.length === 0
          ? 'Live'
          : 'Behind',
      lastCheckpoint: this.lastCheckpointPosition,
      lastKnown: this.lastKnownPosition,
      totalItems: this.totalItems,
      retryCount: this.retry.length,
      bufferCount: this.buffer.length,
      outstanding: this.outstanding.size,
      parkedCount: Math.max(0, parkedLast + 1 - parkedTruncate),
    };
  }
}
