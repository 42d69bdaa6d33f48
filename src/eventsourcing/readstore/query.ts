import type { ReadDocument } from '../core/projection.ts';
import type { FieldValue, Filter, Sort } from './port.ts';

/** Reads a dotted path (`owner.name`) from a document. */
export function fieldAt(document: unknown, path: string): unknown {
  let value: unknown = document;
  for (const key of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** MongoDB's equality: `null` matches null or missing; an array field matches when it contains the value. */
export function matches(document: ReadDocument, filter: Filter): boolean {
  for (const [path, expected] of Object.entries(filter)) {
    const actual = fieldAt(document, path);
    if (!equalsField(actual, expected)) return false;
  }
  return true;
}

function equalsField(actual: unknown, expected: FieldValue): boolean {
  if (expected === null) return actual === null || actual === undefined;
  if (Array.isArray(actual)) return actual.includes(expected);
  return actual === expected;
}

/** Type rank in MongoDB's comparison order, for the types read models hold. */
function rank(value: unknown): number {
  if (value === null || value === undefined) return 0;
  if (typeof value === 'number') return 1;
  if (typeof value === 'string') return 2;
  if (Array.isArray(value)) return 4;
  if (typeof value === 'object') return 3;
  if (typeof value === 'boolean') return 5;
  return 6;
}

export function compareValues(a: unknown, b: unknown): number {
  const ra = rank(a);
  const rb = rank(b);
  if (ra !== rb) return ra - rb;
  if (ra === 1) return (a as number) - (b as number);
  if (ra === 2) return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
  if (ra === 5) return Number(a) - Number(b);
  return 0;
}

/** Sorts by the keys in order, then by id so pages are stable. */
export function comparator(sort: Sort): (a: ReadDocument, b: ReadDocument) => number {
  return (a, b) => {
    for (const [path, direction] of sort) {
      const order = compareValues(fieldAt(a, path), fieldAt(b, path));
      if (order !== 0) return order * direction;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}
