import type streamsPb from '@eventstore/db-client/generated/streams_pb.js';
import type { EmulatorStore, StoredEvent } from '../store.ts';
import { TOMBSTONE_REVISION } from '../store.ts';
import { createdTicks, streamIdentifier, TOMBSTONE_WIRE_REVISION, uuidMessage } from './convert.ts';
import { encodeReadEventResponse } from './wire.ts';

type RecordedEvent = InstanceType<typeof streamsPb.ReadResp.ReadEvent.RecordedEvent>;

/** An event as delivered: `event` is the target, `link` the `$>` record that pointed to it. */
export type Resolved = { event: number | undefined; link: number | undefined };

const LINK_TYPE = '$>';

/**
 * Resolves a `$>` link ("<revision>@<stream>") to its target when asked. A link whose payload
 * does not parse is returned as a plain event; one whose target is gone keeps only the link.
 */
export function resolve(store: EmulatorStore, index: number, resolveLinks: boolean): Resolved {
  if (!resolveLinks || store.eventType(index) !== LINK_TYPE) return { event: index, link: undefined };
  const payload = store.event(index).data.toString('utf8');
  const at = payload.indexOf('@');
  const revisionText = at > 0 ? payload.slice(0, at) : '';
  if (!/^\d+$/.test(revisionText)) return { event: index, link: undefined };
  const stream = payload.slice(at + 1);
  const revision = Number(revisionText);
  const read = store.readStream(stream, 'forwards', BigInt(revision), 1);
  if (read.kind !== 'ok') return { event: undefined, link: index };
  for (const target of read.indexes) {
    if (store.revision(target) === revision) return { event: target, link: index };
  }
  return { event: undefined, link: index };
}

/** Revision as the wire carries it (the tombstone is long.MaxValue). */
export function wireRevision(revision: number): string {
  return revision === TOMBSTONE_REVISION ? TOMBSTONE_WIRE_REVISION : String(revision);
}

/** The setters both `RecordedEvent` classes (streams and persistent subscriptions) share. */
export type RecordedEventMessage = Pick<
  RecordedEvent,
  | 'setId'
  | 'setStreamIdentifier'
  | 'setStreamRevision'
  | 'setPreparePosition'
  | 'setCommitPosition'
  | 'getMetadataMap'
  | 'setCustomMetadata'
  | 'setData'
>;

/**
 * Fills a `RecordedEvent`: content type is `application/json` for JSON events, octet-stream
 * otherwise. `position` overrides the event's own (persistent subscriptions send the original
 * event's position on both the event and its link).
 */
export function fillRecordedEvent<T extends RecordedEventMessage>(
  message: T,
  event: StoredEvent,
  structuredIds: boolean,
  position = event.position,
): T {
  message.setId(uuidMessage(event.id, structuredIds));
  message.setStreamIdentifier(streamIdentifier(event.stream));
  message.setStreamRevision(wireRevision(event.revision));
  message.setPreparePosition(String(position));
  message.setCommitPosition(String(position));
  const metadata = message.getMetadataMap();
  metadata.set('type', event.type);
  metadata.set('created', createdTicks(event.createdMicros));
  metadata.set('content-type', event.isJson ? 'application/json' : 'application/octet-stream');
  message.setCustomMetadata(event.metadata);
  message.setData(event.data);
  return message;
}

/**
 * The wire bytes of a `ReadResp` carrying one event of a read or catch-up subscription
 * (hand-encoded: see wire.ts). `commit_position` is the original event's: the link's when the
 * event came through one.
 */
export function readEventResponse(store: EmulatorStore, resolved: Resolved, structuredIds: boolean): Buffer {
  const original = resolved.link ?? resolved.event;
  return encodeReadEventResponse({
    event: resolved.event === undefined ? undefined : store.event(resolved.event),
    link: resolved.link === undefined ? undefined : store.event(resolved.link),
    commitPosition: original === undefined ? undefined : store.position(original),
    structuredIds,
  });
}
