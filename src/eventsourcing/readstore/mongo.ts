import {
  type AnyBulkWriteOperation,
  type Collection,
  type Db,
  type Document,
  MongoBulkWriteError,
  MongoClient,
  MongoError,
  MongoNetworkError,
  MongoOperationTimeoutError,
  MongoServerError,
  MongoServerSelectionError,
} from 'mongodb';
import type { AllPosition } from '../core/events.ts';
import { positionFromKey, positionKey } from '../core/positions.ts';
import type { ReadDocument } from '../core/projection.ts';
import type {
  CheckpointOutcome,
  DocumentWrite,
  Filter,
  FindQuery,
  ProjectionSlot,
  ReadStore,
  ShadowSlot,
  SkippedEvent,
  VersionedDocument,
  WriteResult,
} from './port.ts';
import { FencedOutError, generationOf, ReadStoreUnavailableError, targetName } from './port.ts';

const DUPLICATE_KEY = 11000;
const NAMESPACE_NOT_FOUND = 26;
/** Server codes that mean "try again": shutdown, failover, network, timeouts. */
const TRANSIENT_CODES = new Set([6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436]);

type SlotDocument = {
  _id: string;
  collection: string;
  version: number;
  target: string;
  generation: number;
  checkpoint: string | null;
  shadow: { target: string; version: number; checkpoint: string | null } | null;
  /** The highest fencing token a checkpoint was saved with (absent until a leased run). */
  fence?: number;
};

/** One fencing token a leader wrote with; the highest per projection is the fence. */
type FenceDocument = { _id: string; projection: string; token: number };

/** Fence documents kept per projection below the newest (only the highest is compared). */
const FENCES_KEPT = 8;

type SkipDocument = {
  _id: string;
  projection: string;
  eventId: string;
  position: string;
  streamId: string;
  type: string;
  reason: string;
  operator: string;
  at: Date;
};

function isTransient(error: unknown): boolean {
  if (error instanceof MongoNetworkError || error instanceof MongoServerSelectionError) return true;
  if (error instanceof MongoOperationTimeoutError) return true;
  if (error instanceof MongoError) {
    if (error.hasErrorLabel('RetryableWriteError') || error.hasErrorLabel('TransientTransactionError'))
      return true;
    if (typeof error.code === 'number' && TRANSIENT_CODES.has(error.code)) return true;
  }
  return false;
}

async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (isTransient(error)) {
      throw new ReadStoreUnavailableError(`read store unavailable: ${(error as Error).message}`, {
        cause: error,
      });
    }
    throw error;
  }
}

function fromSlot(slot: SlotDocument): ProjectionSlot {
  return {
    projection: slot._id,
    collection: slot.collection,
    version: slot.version,
    target: slot.target,
    checkpoint: slot.checkpoint === null ? null : positionFromKey(slot.checkpoint),
    shadow: slot.shadow
      ? {
          target: slot.shadow.target,
          version: slot.shadow.version,
          checkpoint: slot.shadow.checkpoint === null ? null : positionFromKey(slot.shadow.checkpoint),
        }
      : null,
  };
}

function toDocument(stored: Document): ReadDocument {
  const { _id, _pos, _del, ...rest } = stored;
  return { ...rest, id: String(_id) } as ReadDocument;
}

/** Stored form: the document's fields plus `_id`, its position key `_pos`, and `_del` on deletion markers. */
function storedForm(document: ReadDocument, position: AllPosition): Document {
  return { ...document, _id: document.id, _pos: positionKey(position) };
}

const LIVE = { _del: { $exists: false } };

/**
 * Runs an unordered bulk write. Returns the indexes that hit a duplicate key and how many
 * operations succeeded (FerretDB stops at the first error even when unordered, MongoDB does not).
 */
async function bulkWrite(
  collection: Collection,
  operations: AnyBulkWriteOperation[],
): Promise<{ duplicates: number[]; succeeded: number }> {
  try {
    await collection.bulkWrite(operations, { ordered: false });
    return { duplicates: [], succeeded: operations.length };
  } catch (error) {
    if (!(error instanceof MongoBulkWriteError)) throw error;
    const errors = Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors];
    if (errors.length === 0 || errors.some((e) => e.code !== DUPLICATE_KEY)) throw error;
    return {
      duplicates: errors.map((e) => e.index),
      succeeded: error.result.insertedCount + error.result.matchedCount + error.result.upsertedCount,
    };
  }
}

/**
 * Inserts documents no one has stored yet. Those that hit a duplicate key (or that a server
 * skipped after one) come back for the guarded path, which decides between newer and stale.
 */
async function insertFresh(
  collection: Collection,
  writes: DocumentWrite[],
): Promise<{ applied: number; fallback: DocumentWrite[] }> {
  const operations = writes.map(
    (write): AnyBulkWriteOperation => ({
      insertOne: { document: write.op === 'upsert' ? storedForm(write.document, write.position) : {} },
    }),
  );
  const { duplicates, succeeded } = await bulkWrite(collection, operations);
  if (duplicates.length === 0) return { applied: writes.length, fallback: [] };
  const failed = new Set(duplicates);
  const first = Math.min(...duplicates);
  const allRan = succeeded === writes.length - failed.size;
  const fallback = writes.filter((_, index) => failed.has(index) || (!allRan && index >= first));
  return { applied: writes.length - fallback.length, fallback };
}

/**
 * Applies guarded replace-upserts. A duplicate key means the document existed when the upsert
 * tried to insert it: either it is newer (stale) or a concurrent writer inserted it first, so
 * each such operation is retried once and counted stale only when it fails again. Operations a
 * server skipped after an error are sent again; the position guard makes that harmless.
 */
async function guardedWrites(
  collection: Collection,
  operations: AnyBulkWriteOperation[],
): Promise<WriteResult> {
  let pending = operations.map((operation) => ({ operation, failed: false }));
  const result: WriteResult = { applied: 0, stale: 0 };
  while (pending.length > 0) {
    const { duplicates, succeeded } = await bulkWrite(
      collection,
      pending.map((p) => p.operation),
    );
    if (duplicates.length === 0) {
      result.applied += pending.length;
      break;
    }
    const failed = new Set(duplicates);
    const first = Math.min(...duplicates);
    const allRan = succeeded === pending.length - failed.size;
    const next: typeof pending = [];
    pending.forEach((entry, index) => {
      if (failed.has(index)) {
        if (entry.failed) result.stale++;
        else next.push({ operation: entry.operation, failed: true });
      } else if (allRan || index < first) {
        result.applied++;
      } else {
        next.push(entry);
      }
    });
    pending = next;
  }
  return result;
}

export type MongoReadStoreOptions = {
  url: string;
  database: string;
  /**
   * How long a reader trusts its cached collection alias. After a rebuild's swap, other
   * processes see the new collection within this time; the old one is dropped after twice it.
   */
  aliasCacheMs?: number;
  /** Name prefix of the bookkeeping collections. Default `_projection`. */
  metaPrefix?: string;
};

/**
 * The MongoDB read store (also FerretDB 1.x on SQLite: no transactions or pipelines are used).
 *
 * Rebuild swaps use an alias document instead of `renameCollection`: each projection has one
 * slot document naming the physical collection that serves it and that collection's
 * checkpoint. A swap is a single-document compare-and-set, which is atomic on every server
 * and moves the data and its checkpoint together; a rename plus a checkpoint write would be
 * two steps with a crash window between them, and `dropTarget` renames are not atomic on
 * FerretDB's SQLite backend.
 */
export function createMongoReadStore(options: MongoReadStoreOptions): ReadStore {
  const client = new MongoClient(options.url, { serverSelectionTimeoutMS: 5_000 });
  const db: Db = client.db(options.database);
  const prefix = options.metaPrefix ?? '_projection';
  const slots = db.collection<SlotDocument>(`${prefix}_slots`);
  const skipped = db.collection<SkipDocument>(`${prefix}_skips`);
  const fences = db.collection<FenceDocument>(`${prefix}_fences`);
  // Tokens this process has recorded already (one insert per token, not per write).
  const recorded = new Set<string>();
  const aliasCacheMs = options.aliasCacheMs ?? 1_000;
  const aliases = new Map<string, { target: string | null; until: number }>();
  const retiring = new Map<string, NodeJS.Timeout>();
  let prepared: Promise<void> | null = null;
  // FerretDB 1.x evaluates an update's filter and writes the result in separate steps, so two
  // concurrent guarded writes to one document can both pass the guard. Writes to a target are
  // therefore serialised within this process (across processes: one projector per group).
  const writeQueues = new Map<string, Promise<unknown>>();
  function serialised<T>(target: string, operation: () => Promise<T>): Promise<T> {
    const previous = writeQueues.get(target) ?? Promise.resolve();
    const run = previous.then(operation, operation);
    const tail = run.catch(() => undefined);
    writeQueues.set(target, tail);
    void tail.then(() => {
      if (writeQueues.get(target) === tail) writeQueues.delete(target);
    });
    return run;
  }

  function ensureMeta(): Promise<void> {
    prepared ??= guarded(async () => {
      await slots.createIndex({ collection: 1 }, { unique: true });
      await skipped.createIndex({ projection: 1 });
      await fences.createIndex({ projection: 1, token: -1 });
    }).catch((error: unknown) => {
      prepared = null;
      throw error;
    });
    return prepared;
  }

  async function served(collection: string): Promise<Collection | null> {
    const cached = aliases.get(collection);
    let target: string | null;
    if (cached && cached.until > Date.now()) {
      target = cached.target;
    } else {
      const slot = await slots.findOne({ collection }, { projection: { target: 1 } });
      target = slot?.target ?? null;
      aliases.set(collection, { target, until: Date.now() + aliasCacheMs });
    }
    return target === null ? null : db.collection(target);
  }

  async function drop(target: string): Promise<void> {
    try {
      await db.collection(target).drop();
    } catch (error) {
      if (!(error instanceof MongoServerError && error.code === NAMESPACE_NOT_FOUND)) throw error;
    }
  }

  function liveFilter(filter: Filter | undefined): Document {
    return filter ? { ...filter, ...LIVE } : LIVE;
  }

  /**
   * Records `token` for the projection, then returns the highest token above it, or null when
   * there is none and the caller may write. Recording is an insert under a unique `_id`, never a
   * guarded update: FerretDB 1.x does not apply those atomically between connections, and a
   * raised token overwritten by a lower one would let a former leader write again. The highest
   * token only grows, so a replica that took over and recorded its token before its first
   * write refuses every later write of the former leader.
   */
  async function higherFence(projection: string, token: number): Promise<number | null> {
    const id = `${projection}@${String(token).padStart(16, '0')}`;
    if (!recorded.has(id)) {
      await ensureMeta();
      try {
        await fences.insertOne({ _id: id, projection, token });
      } catch (error) {
        if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
      }
      recorded.add(id);
      // Housekeeping only: a failure leaves older tokens behind, which compare lower anyway.
      await fences.deleteMany({ projection, token: { $lt: token - FENCES_KEPT } }).catch(() => undefined);
    }
    const [higher] = await fences
      .find({ projection, token: { $gt: token } })
      .sort({ token: -1 })
      .limit(1)
      .toArray();
    return higher?.token ?? null;
  }

  async function readSlot(projection: string): Promise<SlotDocument | null> {
    await ensureMeta();
    return slots.findOne({ _id: projection });
  }

  return {
    get: <Doc extends ReadDocument>(collection: string, id: string) =>
      guarded(async () => {
        const target = await served(collection);
        // By `_id` alone, the deletion marker checked here: FerretDB 1.x uses its index only for
        // a filter on `_id` and nothing else, and scans the collection otherwise.
        const stored = target ? await target.findOne({ _id: id as never }) : null;
        return stored && !stored._del ? (toDocument(stored) as Doc) : null;
      }),

    find: <Doc extends ReadDocument>(collection: string, query: FindQuery = {}) =>
      guarded(async () => {
        const target = await served(collection);
        if (!target) return [];
        const sort: [string, 1 | -1][] = (query.sort ?? []).map(([field, direction]) => [
          field === 'id' ? '_id' : field,
          direction,
        ]);
        if (!sort.some(([field]) => field === '_id')) sort.push(['_id', 1]);
        let cursor = target.find(liveFilter(query.filter)).sort(sort);
        if (query.skip) cursor = cursor.skip(query.skip);
        if (query.limit !== undefined) cursor = cursor.limit(query.limit);
        const documents = await cursor.toArray();
        return documents.map((d) => toDocument(d) as Doc);
      }),

    count: (collection, filter) =>
      guarded(async () => {
        const target = await served(collection);
        return target ? target.countDocuments(liveFilter(filter)) : 0;
      }),

    load: (target, ids) =>
      guarded(async () => {
        const result = new Map<string, VersionedDocument>();
        if (ids.length === 0) return result;
        const found = await db
          .collection(target)
          .find({ _id: { $in: [...ids] as never[] } })
          .toArray();
        for (const stored of found) {
          result.set(String(stored._id), {
            document: stored._del ? null : toDocument(stored),
            position: positionFromKey(stored._pos as string),
          });
        }
        return result;
      }),

    write: (target, writes, fence) =>
      guarded(async (): Promise<WriteResult> => {
        if (fence) {
          const higher = await higherFence(fence.projection, fence.token);
          if (higher !== null) throw new FencedOutError(fence.projection, fence.token, higher);
        }
        if (writes.length === 0) return { applied: 0, stale: 0 };
        const fresh = writes.filter((w) => w.op === 'upsert' && w.expectNew === true);
        const others =
          fresh.length === 0 ? writes : writes.filter((w) => !(w.op === 'upsert' && w.expectNew === true));
        const inserted =
          fresh.length === 0
            ? { applied: 0, fallback: [] as DocumentWrite[] }
            : await serialised(target, () => insertFresh(db.collection(target), fresh));
        const operations = [...others, ...inserted.fallback].map((write): AnyBulkWriteOperation => {
          const id = write.op === 'upsert' ? write.document.id : write.id;
          const key = positionKey(write.position);
          const replacement =
            write.op === 'upsert'
              ? storedForm(write.document, write.position)
              : { _id: id, _pos: key, _del: true };
          // Matches only an older document; when a newer one exists the upsert's insert hits
          // the _id index, which we count as "already applied".
          return {
            replaceOne: { filter: { _id: id as never, _pos: { $lt: key } }, replacement, upsert: true },
          };
        });
        if (operations.length === 0) return { applied: inserted.applied, stale: 0 };
        const guarded = await serialised(target, () => guardedWrites(db.collection(target), operations));
        return { applied: guarded.applied + inserted.applied, stale: guarded.stale };
      }),

    prepareTarget: (target, indexes) =>
      guarded(async () => {
        const existing = await db.listCollections({ name: target }, { nameOnly: true }).toArray();
        if (existing.length === 0) {
          try {
            await db.createCollection(target);
          } catch (error) {
            // Created by a concurrent caller: fine.
            if (!(error instanceof MongoServerError && error.code === 48)) throw error;
          }
        }
        for (const fields of indexes) {
          await db.collection(target).createIndex(Object.fromEntries(fields.map((f) => [f, 1])));
        }
      }),

    slot: (projection) =>
      guarded(async () => {
        const slot = await readSlot(projection);
        // What a caller learns from the slot, reads see too: a checkpoint read here is never
        // answered from the collection a swap has just retired.
        if (slot) aliases.set(slot.collection, { target: slot.target, until: Date.now() + aliasCacheMs });
        return slot ? fromSlot(slot) : null;
      }),

    createSlot: (projection, collection, version) =>
      guarded(async () => {
        const existing = await readSlot(projection);
        if (existing) return fromSlot(existing);
        const slot: SlotDocument = {
          _id: projection,
          collection,
          version,
          target: targetName(collection, 1),
          generation: 1,
          checkpoint: null,
          shadow: null,
        };
        await drop(slot.target);
        try {
          await slots.insertOne(slot);
        } catch (error) {
          if (!(error instanceof MongoServerError && error.code === DUPLICATE_KEY)) throw error;
          const raced = await readSlot(projection);
          if (raced) return fromSlot(raced);
          throw new Error(`collection ${collection} already belongs to another projection`);
        }
        aliases.delete(collection);
        return fromSlot(slot);
      }),

    saveCheckpoint: (projection, target, position, token) =>
      guarded(async (): Promise<CheckpointOutcome> => {
        const key = positionKey(position);
        if (token !== undefined) {
          const higher = await higherFence(projection, token);
          if (higher !== null) return { outcome: 'fenced', highest: higher };
        }
        // On MongoDB the filter alone fences the checkpoint atomically; on FerretDB 1.x the
        // recorded tokens above do (its guarded updates are not atomic between connections).
        const fenced =
          token === undefined ? {} : { $or: [{ fence: { $exists: false } }, { fence: { $lte: token } }] };
        const raise = token === undefined ? {} : { fence: token };
        const active = await slots.updateOne(
          { _id: projection, target, ...fenced },
          { $set: { checkpoint: key, ...raise } },
        );
        if (active.matchedCount === 1) return { outcome: 'saved' };
        const shadow = await slots.updateOne(
          { _id: projection, 'shadow.target': target, ...fenced },
          { $set: { 'shadow.checkpoint': key, ...raise } },
        );
        if (shadow.matchedCount === 1) return { outcome: 'saved' };
        const slot = token === undefined ? null : await readSlot(projection);
        if (slot?.fence !== undefined && token !== undefined && slot.fence > token)
          return { outcome: 'fenced', highest: slot.fence };
        return { outcome: 'superseded' };
      }),

    beginShadow: (projection, version) =>
      guarded(async () => {
        for (;;) {
          const slot = await readSlot(projection);
          if (!slot) throw new Error(`projection ${projection} has no slot`);
          const generation = Math.max(slot.generation, generationOf(slot.target)) + 1;
          const shadow: ShadowSlot = {
            target: targetName(slot.collection, generation),
            version,
            checkpoint: null,
          };
          await drop(shadow.target);
          const updated = await slots.updateOne(
            { _id: projection, generation: slot.generation },
            { $set: { generation, shadow: { target: shadow.target, version, checkpoint: null } } },
          );
          if (updated.matchedCount === 1) {
            if (slot.shadow) await drop(slot.shadow.target);
            return shadow;
          }
        }
      }),

    swap: (projection, expected) =>
      guarded(async () => {
        for (let attempt = 0; attempt < 5; attempt++) {
          const slot = await readSlot(projection);
          if (
            !slot?.shadow ||
            !expected.shadow ||
            slot.target !== expected.target ||
            slot.shadow.target !== expected.shadow.target
          ) {
            return { outcome: 'conflict' as const, slot: slot ? fromSlot(slot) : null };
          }
          // One document, compared and set at once: data and checkpoint switch together.
          const swapped = await slots.updateOne(
            {
              _id: projection,
              target: slot.target,
              'shadow.target': slot.shadow.target,
              'shadow.checkpoint': slot.shadow.checkpoint,
            },
            {
              $set: {
                target: slot.shadow.target,
                version: slot.shadow.version,
                checkpoint: slot.shadow.checkpoint,
                shadow: null,
              },
            },
          );
          if (swapped.matchedCount === 1) {
            aliases.delete(slot.collection);
            return { outcome: 'swapped' as const, previous: slot.target };
          }
        }
        const slot = await readSlot(projection);
        return { outcome: 'conflict' as const, slot: slot ? fromSlot(slot) : null };
      }),

    retire: (target) =>
      guarded(async () => {
        if (retiring.has(target)) return;
        const timer = setTimeout(() => {
          retiring.delete(target);
          drop(target).catch(() => undefined);
        }, aliasCacheMs * 2);
        timer.unref();
        retiring.set(target, timer);
      }),

    recordSkip: (projection, skip) =>
      guarded(async () => {
        await ensureMeta();
        await skipped.updateOne(
          { _id: `${projection}/${skip.eventId}` },
          {
            $setOnInsert: {
              projection,
              eventId: skip.eventId,
              position: positionKey(skip.position),
              streamId: skip.streamId,
              type: skip.type,
              reason: skip.reason,
              operator: skip.operator,
              at: skip.at,
            },
          },
          { upsert: true },
        );
      }),

    skips: (projection) =>
      guarded(async () => {
        await ensureMeta();
        const found = await skipped.find({ projection }).sort({ position: 1 }).toArray();
        return found.map(
          (s): SkippedEvent => ({
            eventId: s.eventId,
            position: positionFromKey(s.position),
            streamId: s.streamId,
            type: s.type,
            reason: s.reason,
            operator: s.operator,
            at: s.at,
          }),
        );
      }),

    async close() {
      for (const [target, timer] of retiring) {
        clearTimeout(timer);
        await drop(target).catch(() => undefined);
      }
      retiring.clear();
      await client.close();
    },
  };
}
