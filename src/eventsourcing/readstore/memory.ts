import type { AllPosition } from '../core/events.ts';
import { comparePositions } from '../core/positions.ts';
import type { ReadDocument } from '../core/projection.ts';
import type {
  FindQuery,
  ProjectionSlot,
  ReadStore,
  ShadowSlot,
  SkippedEvent,
  VersionedDocument,
  WriteResult,
} from './port.ts';
import { FencedOutError, generationOf, targetName } from './port.ts';
import { comparator, matches } from './query.ts';

type Entry = { document: ReadDocument | null; position: AllPosition };

/**
 * A deep copy of JSON-like data: plain objects, arrays and primitives are copied by hand (several
 * times faster than `structuredClone`, which every read pays for); anything else is cloned.
 */
function copyOf<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(copyOf) as T;
  if (Object.getPrototypeOf(value) !== Object.prototype) return structuredClone(value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const field = copyOf((value as Record<string, unknown>)[key]);
    // An own `__proto__` key (JSON.parse makes them) must stay a field, not become the prototype.
    if (key === '__proto__') {
      Object.defineProperty(copy, key, {
        value: field,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else copy[key] = field;
  }
  return copy as T;
}

/**
 * The in-memory read store: the embedded default and the reference for the contract suite.
 * Documents are cloned in and out, so callers can never mutate what is stored. Not shared
 * between processes; everything is lost on exit (the projector rebuilds it from `$all`).
 */
export function createInMemoryReadStore(): ReadStore {
  const targets = new Map<string, Map<string, Entry>>();
  const slots = new Map<string, ProjectionSlot & { generation: number }>();
  const skips = new Map<string, SkippedEvent[]>();
  // The highest fencing token seen per projection.
  const fences = new Map<string, number>();

  /** Null when `token` may write (and is now the highest), else the higher token seen. */
  function fenced(projection: string, token: number): number | null {
    const highest = fences.get(projection) ?? 0;
    if (token < highest) return highest;
    fences.set(projection, token);
    return null;
  }

  function targetOf(name: string): Map<string, Entry> {
    let target = targets.get(name);
    if (!target) {
      target = new Map();
      targets.set(name, target);
    }
    return target;
  }

  function served(collection: string): Map<string, Entry> | undefined {
    for (const slot of slots.values()) {
      if (slot.collection === collection) return targets.get(slot.target);
    }
    return undefined;
  }

  function live(collection: string): ReadDocument[] {
    const target = served(collection);
    if (!target) return [];
    const documents: ReadDocument[] = [];
    for (const entry of target.values()) if (entry.document) documents.push(entry.document);
    return documents;
  }

  function selected(collection: string, query: FindQuery): ReadDocument[] {
    const filter = query.filter;
    let documents = filter ? live(collection).filter((d) => matches(d, filter)) : live(collection);
    documents.sort(comparator(query.sort ?? []));
    const skip = query.skip ?? 0;
    if (skip > 0 || query.limit !== undefined) {
      documents = documents.slice(skip, query.limit === undefined ? undefined : skip + query.limit);
    }
    return documents;
  }

  function publicSlot(slot: ProjectionSlot): ProjectionSlot {
    return {
      projection: slot.projection,
      collection: slot.collection,
      version: slot.version,
      target: slot.target,
      checkpoint: slot.checkpoint,
      shadow: slot.shadow ? { ...slot.shadow } : null,
    };
  }

  return {
    async get<Doc extends ReadDocument>(collection: string, id: string) {
      const entry = served(collection)?.get(id);
      return entry?.document ? (copyOf(entry.document) as Doc) : null;
    },

    async find<Doc extends ReadDocument>(collection: string, query: FindQuery = {}) {
      return selected(collection, query).map((d) => copyOf(d) as Doc);
    },

    async count(collection, filter) {
      return filter ? live(collection).filter((d) => matches(d, filter)).length : live(collection).length;
    },

    async load(target, ids) {
      const stored = targetOf(target);
      const result = new Map<string, VersionedDocument>();
      for (const id of ids) {
        const entry = stored.get(id);
        if (entry) {
          result.set(id, {
            document: entry.document ? copyOf(entry.document) : null,
            position: entry.position,
          });
        }
      }
      return result;
    },

    async write(target, writes, fence) {
      if (fence) {
        const highest = fenced(fence.projection, fence.token);
        if (highest !== null) throw new FencedOutError(fence.projection, fence.token, highest);
      }
      const stored = targetOf(target);
      const result: WriteResult = { applied: 0, stale: 0 };
      for (const write of writes) {
        const id = write.op === 'upsert' ? write.document.id : write.id;
        const existing = stored.get(id);
        if (existing && comparePositions(existing.position, write.position) >= 0) {
          result.stale++;
          continue;
        }
        stored.set(id, {
          document: write.op === 'upsert' ? copyOf(write.document) : null,
          position: write.position,
        });
        result.applied++;
      }
      return result;
    },

    async prepareTarget(target) {
      targetOf(target);
    },

    async slot(projection) {
      const slot = slots.get(projection);
      return slot ? publicSlot(slot) : null;
    },

    async createSlot(projection, collection, version) {
      const existing = slots.get(projection);
      if (existing) return publicSlot(existing);
      for (const slot of slots.values()) {
        if (slot.collection === collection) {
          throw new Error(`collection ${collection} already belongs to projection ${slot.projection}`);
        }
      }
      const slot = {
        projection,
        collection,
        version,
        target: targetName(collection, 1),
        checkpoint: null,
        shadow: null,
        generation: 1,
      };
      targets.set(slot.target, new Map());
      slots.set(projection, slot);
      return publicSlot(slot);
    },

    async saveCheckpoint(projection, target, position, token) {
      if (token !== undefined) {
        const highest = fenced(projection, token);
        if (highest !== null) return { outcome: 'fenced', highest };
      }
      const slot = slots.get(projection);
      if (slot?.target === target) slot.checkpoint = position;
      else if (slot?.shadow?.target === target) slot.shadow.checkpoint = position;
      else return { outcome: 'superseded' };
      return { outcome: 'saved' };
    },

    async beginShadow(projection, version) {
      const slot = slots.get(projection);
      if (!slot) throw new Error(`projection ${projection} has no slot`);
      if (slot.shadow) targets.delete(slot.shadow.target);
      slot.generation = Math.max(slot.generation, generationOf(slot.target)) + 1;
      const shadow: ShadowSlot = {
        target: targetName(slot.collection, slot.generation),
        version,
        checkpoint: null,
      };
      targets.set(shadow.target, new Map());
      slot.shadow = shadow;
      return { ...shadow };
    },

    async swap(projection, expected) {
      const slot = slots.get(projection);
      if (
        !slot?.shadow ||
        !expected.shadow ||
        slot.target !== expected.target ||
        slot.shadow.target !== expected.shadow.target
      ) {
        return { outcome: 'conflict', slot: slot ? publicSlot(slot) : null };
      }
      const previous = slot.target;
      slot.target = slot.shadow.target;
      slot.version = slot.shadow.version;
      slot.checkpoint = slot.shadow.checkpoint;
      slot.shadow = null;
      return { outcome: 'swapped', previous };
    },

    async retire(target) {
      targets.delete(target);
    },

    async recordSkip(projection, skip) {
      const list = skips.get(projection) ?? [];
      if (!list.some((s) => s.eventId === skip.eventId)) list.push({ ...skip });
      list.sort((a, b) => comparePositions(a.position, b.position));
      skips.set(projection, list);
    },

    async skips(projection) {
      return (skips.get(projection) ?? []).map((s) => ({ ...s }));
    },

    async close() {},
  };
}
