import { randomUUID } from 'node:crypto';
import streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type { EventFilter } from './filter.ts';
import type { CallWriter } from './grpc/call-writer.ts';
import { rpcErrors } from './grpc/errors.ts';
import { readEventResponse, resolve } from './grpc/events.ts';
import { type AllPosition, compareAllPositions, wireAllPosition } from './positions.ts';
import type { EmulatorStore } from './store.ts';

/** A generated `ReadResp`, or one already encoded to wire bytes. */
export type ReadResp = InstanceType<typeof streamsPb.ReadResp> | Buffer;

/** Events the server reads per page during catch-up; also the default filter search window. */
export const READ_BATCH_SIZE = 32;

export type SubscriptionContext = {
  store: EmulatorStore;
  writer: CallWriter<ReadResp>;
  resolveLinks: boolean;
  structuredIds: boolean;
};

function confirmation(): InstanceType<typeof streamsPb.ReadResp> {
  const response = new streamsPb.ReadResp();
  const confirmed = new streamsPb.ReadResp.SubscriptionConfirmation();
  confirmed.setSubscriptionId(randomUUID());
  response.setConfirmation(confirmed);
  return response;
}

function caughtUp(): InstanceType<typeof streamsPb.ReadResp> {
  const response = new streamsPb.ReadResp();
  response.setCaughtUp(new streamsPb.ReadResp.CaughtUp());
  return response;
}

function checkpointResponse(position: AllPosition): InstanceType<typeof streamsPb.ReadResp> {
  const response = new streamsPb.ReadResp();
  const checkpoint = new streamsPb.ReadResp.Checkpoint();
  const wire = wireAllPosition(position);
  checkpoint.setCommitPosition(wire.commit);
  checkpoint.setPreparePosition(wire.prepare);
  response.setCheckpoint(checkpoint);
  return response;
}

/** Resolves on the next commit, or when the call closes. */
function nextCommit(context: SubscriptionContext): Promise<void> {
  return new Promise<void>((done) => {
    const stopWatching = context.writer.onClose(() => {
      cancel();
      done();
    });
    const cancel = context.store.onNextCommit(() => {
      stopWatching();
      done();
    });
  });
}

/**
 * Catch-up subscription to one stream: confirmation, every event after `from` (exclusive; stream
 * metadata hides events during catch-up as reads do), `caughtUp`, then live events. A stream that
 * does not exist is not an error: the subscription waits for it. A tombstone found during
 * catch-up fails the call; one arriving live is delivered first, then the call fails.
 */
export async function subscribeToStream(
  context: SubscriptionContext,
  stream: string,
  from: 'start' | 'end' | bigint,
): Promise<void> {
  const { store, writer } = context;
  await writer.send(confirmation());
  let checkpoint = from === 'start' ? -1 : from === 'end' ? store.lastVisibleRevision(stream) : Number(from);
  // Catch-up: page through reads until a read comes back with nothing new.
  for (;;) {
    if (writer.closed) return;
    const read = store.readStream(stream, 'forwards', BigInt(checkpoint + 1), READ_BATCH_SIZE);
    if (read.kind === 'deleted') {
      writer.fail(rpcErrors.streamDeleted(stream));
      return;
    }
    let sent = 0;
    if (read.kind === 'ok') {
      for (const index of read.indexes) {
        await writer.send(
          readEventResponse(store, resolve(store, index, context.resolveLinks), context.structuredIds),
        );
        checkpoint = store.revision(index);
        sent++;
      }
    }
    if (sent === 0) break;
  }
  // Events hidden by metadata are skipped, not waited for.
  checkpoint = Math.max(checkpoint, store.lastVisibleRevision(stream));
  await writer.send(caughtUp());
  for (;;) {
    if (writer.closed) return;
    for (;;) {
      const index = store.indexOf(stream, checkpoint + 1);
      if (index === undefined) break;
      await writer.send(
        readEventResponse(store, resolve(store, index, context.resolveLinks), context.structuredIds),
      );
      checkpoint++;
      if (writer.closed) return;
    }
    const tombstone = store.tombstoneIndex(stream);
    if (tombstone !== undefined) {
      await writer.send(
        readEventResponse(store, { event: tombstone, link: undefined }, context.structuredIds),
      );
      writer.fail(rpcErrors.streamDeleted(stream));
      return;
    }
    await nextCommit(context);
  }
}

export type AllSubscriptionFilter = {
  filter: EventFilter;
  /** Events considered per catch-up page (the request's `max`, or 32). */
  searchWindow: number;
  /** Checkpoint every `multiplier × searchWindow` considered events. */
  multiplier: number;
};

/**
 * Catch-up subscription to `$all`, after `from` (exclusive). Without a filter: confirmation,
 * catch-up events, `caughtUp`, live events, no checkpoints. With a filter, checkpoints follow the
 * server: during catch-up one each time the considered events reach the interval (at the start
 * of the page that reached it) and one at the end of catch-up (the last sent event's position,
 * or the start position if none); live, one every `interval` events of `$all`.
 */
export async function subscribeToAll(
  context: SubscriptionContext,
  from: 'start' | 'end' | AllPosition,
  filtered: AllSubscriptionFilter | undefined,
): Promise<void> {
  const { store, writer } = context;
  await writer.send(confirmation());
  let checkpoint: AllPosition =
    from === 'start'
      ? { commit: -1, prepare: -1 }
      : from === 'end'
        ? positionOf(store, store.visible - 1)
        : from;
  let cursor = from === 'start' ? 0 : from === 'end' ? store.visible : store.indexAfter(from);
  const send = (index: number) =>
    writer.send(readEventResponse(store, resolve(store, index, context.resolveLinks), context.structuredIds));

  if (filtered === undefined) {
    for (let caught = false; ; ) {
      while (cursor < store.visible) {
        const pending = send(cursor++);
        if (pending !== undefined) await pending;
        if (writer.closed) return;
      }
      if (!caught) {
        caught = true;
        await writer.send(caughtUp());
      }
      await nextCommit(context);
      if (writer.closed) return;
    }
  }

  const { filter, searchWindow, multiplier } = filtered;
  const interval = searchWindow * multiplier;
  let lastCheckpoint: AllPosition | undefined;
  const sendCheckpoint = async (position: AllPosition) => {
    // The server never repeats a checkpoint nor sends one that goes backwards.
    if (lastCheckpoint !== undefined && compareAllPositions(position, lastCheckpoint) <= 0) return;
    lastCheckpoint = position;
    await writer.send(checkpointResponse(position));
  };

  // The server counts live checkpoints from the moment it subscribes, catch-up or not; those
  // that fall inside catch-up are then dropped as not newer than what was already sent.
  const subscribedAt = store.visible;
  let liveCounter = 0;
  const countLive = (index: number): boolean => {
    if (index < subscribedAt) return false;
    if (++liveCounter < interval) return false;
    liveCounter = 0;
    return true;
  };

  // Catch-up, page by page, as the server's filtered read does.
  if (from !== 'end') {
    let pageStart: AllPosition = from === 'start' ? { commit: 0, prepare: 0 } : from;
    let counter = 0;
    for (;;) {
      if (writer.closed) return;
      let matched = 0;
      let considered = 0;
      let reachedEnd = false;
      while (matched < READ_BATCH_SIZE && considered < searchWindow) {
        if (cursor >= store.visible) {
          reachedEnd = true;
          break;
        }
        const index = cursor++;
        considered++;
        countLive(index);
        if (filter.allows(store.streamName(index), store.eventType(index))) {
          matched++;
          await send(index);
          checkpoint = positionOf(store, index);
        }
      }
      counter += considered;
      if (reachedEnd) {
        await sendCheckpoint(checkpoint);
        break;
      }
      if (counter >= interval) {
        counter %= interval;
        if (compareAllPositions(checkpoint, pageStart) < 0) checkpoint = pageStart;
        await sendCheckpoint(checkpoint);
      }
      // The next page starts just after the last considered record (prepare 0 sorts it before that record).
      pageStart = { commit: store.postPosition(cursor - 1), prepare: 0 };
    }
  }
  await writer.send(caughtUp());
  for (;;) {
    while (cursor < store.visible) {
      const index = cursor++;
      if (filter.allows(store.streamName(index), store.eventType(index))) {
        await send(index);
        checkpoint = positionOf(store, index);
      }
      if (countLive(index)) await sendCheckpoint(positionOf(store, index));
      if (writer.closed) return;
    }
    await nextCommit(context);
    if (writer.closed) return;
  }
}

function positionOf(store: EmulatorStore, index: number): AllPosition {
  if (index < 0) return { commit: -1, prepare: -1 };
  const position = store.position(index);
  return { commit: position, prepare: position };
}
