import { DomainError } from '../core/errors.ts';
import type {
  DocumentPersonalDataDeclaration,
  DocumentPersonalDataDeclarations,
} from '../core/personal-data.ts';
import type { ReadDocument } from '../core/projection.ts';
import type { DocumentWrite, FindQuery, ReadStore, Sort, VersionedDocument } from '../readstore/port.ts';
import { collectionOf } from '../readstore/port.ts';
import { open, seal } from './envelope.ts';
import type { KeyStore } from './key-store.ts';

// The read-store side of the event store's protection: projections build documents with names
// in them, and this decorator seals those fields before they are stored and opens them when they
// are read, under the same (scope, subject) keys as the events. Destroying a key erases the
// documents at once, without a rebuild; a rebuild after erasure stores no personal data at all.

/** Where a document's sealed personal fields sit (MongoDB refuses `$` at the start of a field). */
export const SEALED_DOCUMENT_FIELD = '_personal';

/**
 * Stored form: `{ ...clear fields, _personal: { v: 1, kid, iv, ct } }`, one envelope per document
 * whose plaintext is the JSON of its personal fields (names included, so they are authenticated).
 * Sealed once the key was already destroyed, the envelope keeps only `kid`: nothing to hide.
 */
type SealedDocumentFields = { v: 1; kid: string; iv?: string; ct?: string };

/**
 * The associated data of a document's sealed fields: format version, logical collection (not the
 * generation, which a rebuild changes), document id and key id, so a ciphertext copied to another
 * document, collection or key fails to open.
 */
export const documentAssociatedData = (collection: string, documentId: string, keyId: string) =>
  `kyc-read-model/v1|${collection}|${documentId}|${keyId}`;

/** Reads by outcome; `clear` counts documents stored before sealing existed (a rebuild seals them). */
export type DocumentDecryptionCounts = { ok: number; erased: number; tampered: number; clear: number };

export type ProtectedReadStore = ReadStore & { decryptions(): DocumentDecryptionCounts };

type Opened =
  | { outcome: 'ok'; fields: Record<string, unknown> }
  | { outcome: 'erased' }
  | { outcome: 'tampered'; reason: string };

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const holdsDeclaredField = (
  document: Record<string, unknown>,
  declaration: DocumentPersonalDataDeclaration,
) => Object.keys(declaration.placeholders).some((field) => Object.hasOwn(document, field));

/**
 * Wraps a read store so the declared personal fields of each collection's documents are
 * encrypted (AES-256-GCM under the (scope, subject) key from `keyStore`) on every write and
 * decrypted on every read: `get`, `find` and the projector's `load`.
 *
 * A read never shows a ciphertext: an erased subject's fields read as the declared placeholders;
 * one that fails authentication (or names a key the store never had) throws DomainError
 * `personal_data.tampered` (the API answers 500 and logs it; the projector retries and logs).
 * A filter or sort on a sealed field throws: it could only ever match nothing.
 * Documents stored in clear before the decorator existed are served as they are and counted
 * as `clear` until a rebuild seals them. Key-store errors propagate.
 */
export function protectReadModels(
  store: ReadStore,
  options: { keyStore: KeyStore; declarations: DocumentPersonalDataDeclarations },
): ProtectedReadStore {
  const { keyStore, declarations } = options;
  const counts: DocumentDecryptionCounts = { ok: 0, erased: 0, tampered: 0, clear: 0 };
  const declarationOf = (collection: string) =>
    Object.hasOwn(declarations, collection) ? declarations[collection] : undefined;

  async function sealDocument(
    collection: string,
    declaration: DocumentPersonalDataDeclaration,
    document: ReadDocument,
  ): Promise<ReadDocument> {
    const personal: Record<string, unknown> = {};
    const clear: Record<string, unknown> = {};
    for (const [field, value] of Object.entries(document)) {
      if (Object.hasOwn(declaration.placeholders, field)) personal[field] = value;
      else clear[field] = value;
    }
    const key = await keyStore.obtain(declaration.scope(document), declaration.subject(document));
    const envelope: SealedDocumentFields =
      key.outcome === 'destroyed'
        ? { v: 1, kid: key.keyId }
        : {
            v: 1,
            kid: key.keyId,
            ...seal(
              key.key,
              JSON.stringify(personal),
              documentAssociatedData(collection, document.id, key.keyId),
            ),
          };
    return { ...clear, id: document.id, [SEALED_DOCUMENT_FIELD]: envelope };
  }

  async function decrypt(collection: string, documentId: string, envelope: unknown): Promise<Opened> {
    if (!isRecord(envelope) || envelope.v !== 1 || typeof envelope.kid !== 'string') {
      return { outcome: 'tampered', reason: 'malformed envelope' };
    }
    const lookup = await keyStore.find(envelope.kid);
    if (lookup.status === 'destroyed') return { outcome: 'erased' };
    if (lookup.status === 'unknown') {
      return { outcome: 'tampered', reason: `key ${envelope.kid} is unknown to the key store` };
    }
    const opened = open(lookup.key, envelope, documentAssociatedData(collection, documentId, envelope.kid));
    if (opened.outcome === 'tampered') return opened;
    try {
      const fields: unknown = JSON.parse(opened.plaintext);
      if (isRecord(fields)) return { outcome: 'ok', fields };
    } catch {
      // An authenticated plaintext that is not ours: report it like any other bad ciphertext.
    }
    return { outcome: 'tampered', reason: 'plaintext is not an object' };
  }

  async function openDocument<Doc extends ReadDocument>(collection: string, stored: Doc): Promise<Doc> {
    const declaration = declarationOf(collection);
    if (!declaration) return stored;
    if (!Object.hasOwn(stored, SEALED_DOCUMENT_FIELD)) {
      if (holdsDeclaredField(stored, declaration)) counts.clear++;
      return stored;
    }
    const { [SEALED_DOCUMENT_FIELD]: envelope, ...clear } = stored as Record<string, unknown>;
    const opened = await decrypt(collection, stored.id, envelope);
    counts[opened.outcome]++;
    switch (opened.outcome) {
      case 'ok':
        return { ...clear, ...opened.fields } as Doc;
      case 'erased':
        return { ...clear, ...structuredClone(declaration.placeholders) } as Doc;
      case 'tampered':
        throw new DomainError(
          'personal_data.tampered',
          `${collection} ${stored.id}: personal data failed authentication (${opened.reason}); the document or the key store was altered`,
          { collection, document_id: stored.id },
        );
      default: {
        const never: never = opened;
        return never;
      }
    }
  }

  /** A query on a sealed field would silently match nothing: refuse it loudly instead. */
  function refusePersonalQuery(collection: string, fields: readonly string[]): void {
    const declaration = declarationOf(collection);
    if (!declaration) return;
    for (const path of fields) {
      const top = path.split('.')[0]!;
      if (top === SEALED_DOCUMENT_FIELD || Object.hasOwn(declaration.placeholders, top)) {
        throw new Error(
          `${collection}.${path} is personal data, sealed in the read store: it cannot be filtered or sorted on`,
        );
      }
    }
  }
  const pathsOf = (query: FindQuery) => [
    ...Object.keys(query.filter ?? {}),
    ...(query.sort ?? ([] as Sort)).map(([field]) => field),
  ];

  async function sealWrite(collection: string, write: DocumentWrite): Promise<DocumentWrite> {
    const declaration = declarationOf(collection);
    if (!declaration || write.op !== 'upsert') return write;
    return { ...write, document: await sealDocument(collection, declaration, write.document) };
  }

  return {
    ...store,
    async get<Doc extends ReadDocument>(collection: string, id: string) {
      const stored = await store.get<Doc>(collection, id);
      return stored === null ? null : openDocument(collection, stored);
    },
    async find<Doc extends ReadDocument>(collection: string, query: FindQuery = {}) {
      refusePersonalQuery(collection, pathsOf(query));
      const stored = await store.find<Doc>(collection, query);
      return Promise.all(stored.map((document) => openDocument(collection, document)));
    },
    async count(collection, filter) {
      refusePersonalQuery(collection, Object.keys(filter ?? {}));
      return store.count(collection, filter);
    },
    async load(target, ids) {
      const collection = collectionOf(target);
      const loaded = await store.load(target, ids);
      if (!declarationOf(collection)) return loaded;
      const opened = new Map<string, VersionedDocument>();
      for (const [id, versioned] of loaded) {
        opened.set(id, {
          document: versioned.document === null ? null : await openDocument(collection, versioned.document),
          position: versioned.position,
        });
      }
      return opened;
    },
    async write(target, writes) {
      const collection = collectionOf(target);
      if (!declarationOf(collection)) return store.write(target, writes);
      return store.write(target, await Promise.all(writes.map((write) => sealWrite(collection, write))));
    },
    decryptions: () => ({ ...counts }),
  };
}

/** What {@link auditSealedDocuments} found in one collection. */
export type SealedDocumentsAudit = {
  collection: string;
  documents: number;
  /** Documents whose envelope names one of the given keys. */
  sealedUnderGivenKeys: number;
  /** Documents sealed under a key not among the given ones. */
  sealedUnderOtherKeys: number;
  /** Documents holding a declared personal field outside an envelope (plain text). */
  inClear: number;
};

/**
 * Looks at the stored form of the documents `filter` selects in every declared collection of
 * `store` (the store below {@link protectReadModels}): which are sealed under one of `keyIds`,
 * which under another key, and which hold a declared personal field in clear. Opens nothing.
 */
export async function auditSealedDocuments(
  store: ReadStore,
  declarations: DocumentPersonalDataDeclarations,
  filter: Readonly<Record<string, string>>,
  keyIds: ReadonlySet<string>,
): Promise<SealedDocumentsAudit[]> {
  const audits: SealedDocumentsAudit[] = [];
  for (const [collection, declaration] of Object.entries(declarations)) {
    const audit = { collection, documents: 0, sealedUnderGivenKeys: 0, sealedUnderOtherKeys: 0, inClear: 0 };
    for (const document of await store.find(collection, { filter })) {
      audit.documents++;
      if (holdsDeclaredField(document, declaration)) audit.inClear++;
      const envelope = (document as Record<string, unknown>)[SEALED_DOCUMENT_FIELD];
      if (envelope === undefined) continue;
      const kid = isRecord(envelope) ? envelope.kid : undefined;
      if (typeof kid === 'string' && keyIds.has(kid)) audit.sealedUnderGivenKeys++;
      else audit.sealedUnderOtherKeys++;
    }
    audits.push(audit);
  }
  return audits;
}
