import { DomainError } from '../core/errors.ts';
import type { EventRegistry } from '../core/event-definitions.ts';
import type { DomainEvent } from '../core/events.ts';
import type { PersonalDataDeclarations } from '../core/personal-data.ts';
import type {
  AllSubscription,
  EventStore,
  NewEvent,
  PersistentSubscription,
  StoredEvent,
} from '../eventstore/port.ts';
import { open, seal } from './envelope.ts';
import type { KeyStore, ObtainedKey } from './key-store.ts';

// Personal fields are sealed on the way into the event store and opened on the way out, so
// everything above this decorator (commands, projections, the publisher) sees plain events, and
// everything below it (the store's files, its replicas, backups) sees ciphertext.

/** Where the sealed personal fields sit in a stored event's data. */
export const PERSONAL_FIELD = '$personal';
/** Set on an event whose personal fields failed authentication; see {@link guardTampered}. */
export const TAMPERED_FIELD = '$tampered';

/** Stored form: `{ ...clear fields, $personal: { v: 1, kid, iv, ct } }`. */
type SealedFields = { v: 1; kid: string; iv: string; ct: string };

/**
 * The associated data of an event's sealed fields: format version, stream, event id and key id.
 * Neither type nor schema version is bound: upcasting happens after opening, on the plain data,
 * and a later migration renaming a type must not make history unreadable. Stream and id name the
 * record, so a ciphertext copied to another event or stream fails to open.
 */
export const associatedData = (stream: string, eventId: string, keyId: string) =>
  `kyc-personal/v1|${stream}|${eventId}|${keyId}`;

export type Decryption =
  | { outcome: 'ok'; fields: Record<string, unknown> }
  | { outcome: 'erased' }
  | { outcome: 'tampered'; reason: string };

export type DecryptionCounts = Record<Decryption['outcome'], number>;

/** How many opened plaintexts are kept for the next reader of the same event. */
const RECENTLY_OPENED_ENTRIES = 1_000;

export type ProtectedEventStore = EventStore & { decryptions(): DecryptionCounts };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Wraps an event store so the personal fields of declared event types are encrypted before
 * append (AES-256-GCM under the (scope, subject) key from `keyStore`) and decrypted after every
 * read: streams, `$all` reads and subscriptions, persistent deliveries and parked events.
 *
 * Reading never throws for a bad ciphertext: an erased subject's fields read as the declared
 * placeholders; a ciphertext that fails authentication (or names a key the store never had)
 * comes back with {@link TAMPERED_FIELD} set, which {@link guardTampered} turns into a
 * DomainError at decode time, so a projector stops on that event as on any poison event.
 * Appending for an erased subject throws DomainError `personal_data.subject_erased`.
 * Key-store errors propagate (a subscription drops and is resumed by its owner).
 */
export function protectPersonalData(
  store: EventStore,
  options: { keyStore: KeyStore; declarations: PersonalDataDeclarations },
): ProtectedEventStore {
  const { keyStore, declarations } = options;
  const counts: DecryptionCounts = { ok: 0, erased: 0, tampered: 0 };
  /**
   * Plaintexts of the events opened last, by their sealed bytes: each event is read by every
   * projector (one subscription each) and often by the command that wrote it, and AES-GCM's setup
   * per opening dominated the cost. Only consulted after the key store still calls the key active,
   * so an erased subject reads as erased at once, cached or not.
   */
  const recentlyOpened = new Map<string, string>();

  async function sealEvent(
    stream: string,
    event: NewEvent,
    keys: Map<string, Promise<ObtainedKey>>,
    newStream: boolean,
  ): Promise<NewEvent> {
    const declaration = declarations[event.type];
    if (!declaration || !isRecord(event.data)) return event;
    const personal: Record<string, unknown> = {};
    const clear: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(event.data)) {
      if (Object.hasOwn(declaration.placeholders, field)) personal[field] = value;
      else clear[field] = value;
    }
    const scope = declaration.scope(event.data, stream);
    const subject = declaration.subject(event.data, stream);
    const keyName = `${scope}\u0000${subject}`;
    let obtained = keys.get(keyName);
    if (obtained === undefined) {
      obtained = keyStore.obtain(scope, subject, { likelyNew: newStream });
      keys.set(keyName, obtained);
    }
    const key = await obtained;
    if (key.outcome === 'destroyed') {
      throw new DomainError(
        'personal_data.subject_erased',
        `the data subject's key ${key.keyId} was destroyed: no personal data can be recorded for it`,
        { key_id: key.keyId },
      );
    }
    const sealed = seal(key.key, JSON.stringify(personal), associatedData(stream, event.id, key.keyId));
    const envelope: SealedFields = { v: 1, kid: key.keyId, ...sealed };
    return { ...event, data: { ...clear, [PERSONAL_FIELD]: envelope } };
  }

  async function decrypt(stored: StoredEvent, envelope: unknown): Promise<Decryption> {
    if (!isRecord(envelope) || envelope.v !== 1 || typeof envelope.kid !== 'string') {
      return { outcome: 'tampered', reason: 'malformed envelope' };
    }
    const lookup = await keyStore.find(envelope.kid);
    if (lookup.status === 'destroyed') return { outcome: 'erased' };
    if (lookup.status === 'unknown') {
      return { outcome: 'tampered', reason: `key ${envelope.kid} is unknown to the key store` };
    }
    const aad = associatedData(stored.streamId, stored.id, envelope.kid);
    // The exact sealed bytes under the same associated data and key: authenticated before, so
    // opening them again could only give the same plaintext.
    const sealedBytes =
      typeof envelope.iv === 'string' && typeof envelope.ct === 'string'
        ? `${aad}|${envelope.iv}|${envelope.ct}`
        : undefined;
    let plaintext = sealedBytes === undefined ? undefined : recentlyOpened.get(sealedBytes);
    if (plaintext === undefined) {
      const opened = open(lookup.key, envelope, aad);
      if (opened.outcome === 'tampered') return opened;
      plaintext = opened.plaintext;
      if (sealedBytes !== undefined) {
        if (recentlyOpened.size >= RECENTLY_OPENED_ENTRIES)
          recentlyOpened.delete(recentlyOpened.keys().next().value!);
        recentlyOpened.set(sealedBytes, plaintext);
      }
    }
    try {
      // Parsed for each reader: no two readers share (and could change) the same objects.
      const fields: unknown = JSON.parse(plaintext);
      if (isRecord(fields)) return { outcome: 'ok', fields };
    } catch {
      // An authenticated plaintext that is not ours: report it like any other bad ciphertext.
    }
    return { outcome: 'tampered', reason: 'plaintext is not an object' };
  }

  async function openEvent(stored: StoredEvent): Promise<StoredEvent> {
    const declaration = declarations[stored.type];
    if (!declaration || !isRecord(stored.data) || !Object.hasOwn(stored.data, PERSONAL_FIELD)) return stored;
    const { [PERSONAL_FIELD]: envelope, ...clear } = stored.data;
    const decryption = await decrypt(stored, envelope);
    counts[decryption.outcome]++;
    switch (decryption.outcome) {
      case 'ok':
        return { ...stored, data: { ...clear, ...decryption.fields } };
      case 'erased':
        return { ...stored, data: { ...clear, ...structuredClone(declaration.placeholders) } };
      case 'tampered':
        return { ...stored, data: { ...clear, [TAMPERED_FIELD]: decryption.reason } };
      default: {
        const never: never = decryption;
        return never;
      }
    }
  }

  const openAll = (events: readonly StoredEvent[]) => Promise.all(events.map(openEvent));

  return {
    ...store,
    async readStream(stream, readOptions) {
      const events = await store.readStream(stream, readOptions);
      return events === null ? null : openAll(events);
    },
    async appendToStream(stream, events, expected) {
      // Each subject's key is obtained once and all of them at once: a new case brings several
      // new subjects, and storing each new key waits for the key store (an fsync, a round trip).
      const keys = new Map<string, Promise<ObtainedKey>>();
      const newStream = expected === 'no_stream';
      const sealed = await Promise.all(events.map((event) => sealEvent(stream, event, keys, newStream)));
      return store.appendToStream(stream, sealed, expected);
    },
    subscribeToAll(subscriptionOptions): AllSubscription {
      const inner = store.subscribeToAll(subscriptionOptions);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const message of inner) {
            yield message.kind === 'event'
              ? { kind: 'event', event: await openEvent(message.event) }
              : message;
          }
        },
        close: () => inner.close(),
      };
    },
    readAll: async (after, maxCount) => openAll(await store.readAll(after, maxCount)),
    persistent: {
      ...store.persistent,
      subscribe(source, group, subscribeOptions): PersistentSubscription {
        const inner = store.persistent.subscribe(source, group, subscribeOptions);
        return {
          async *[Symbol.asyncIterator]() {
            for await (const delivery of inner) {
              const event = await openEvent(delivery.event);
              yield {
                event,
                retryCount: delivery.retryCount,
                ack: () => delivery.ack(),
                nack: (action, reason) => delivery.nack(action, reason),
              };
            }
          },
          close: () => inner.close(),
        };
      },
      async listParked(source, group, limit) {
        const parked = await store.persistent.listParked(source, group, limit);
        return Promise.all(parked.map(async (p) => ({ ...p, event: await openEvent(p.event) })));
      },
    },
    decryptions: () => ({ ...counts }),
  };
}

/**
 * The same registry, refusing events whose personal fields failed authentication with
 * DomainError `personal_data.tampered` (the projector isolates it as a poison event; a command
 * on that stream fails). Without it they would still fail, as schema violations.
 */
export function guardTampered<E extends DomainEvent>(registry: EventRegistry<E>): EventRegistry<E> {
  return {
    ...registry,
    decode(type, data, schemaVersion) {
      if (isRecord(data) && typeof data[TAMPERED_FIELD] === 'string') {
        throw new DomainError(
          'personal_data.tampered',
          `${type}: personal data failed authentication (${data[TAMPERED_FIELD]}); the event or the key store was altered`,
        );
      }
      return registry.decode(type, data, schemaVersion);
    },
  };
}
