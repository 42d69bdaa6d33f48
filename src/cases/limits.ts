import type { Violation } from './validation.ts';

/**
 * Limits on the shape of any JSON that reaches the service (HTTP bodies, Kafka intake values),
 * checked before a schema looks at it and long before anything is stored. They bound what a
 * hostile input can cost: a value nested thousands of levels deep overflows the stack of every
 * recursive reader downstream (serialisers included), and one huge array or string costs memory
 * in every read model that copies it. The schemas set tighter limits on the fields they know;
 * these cover the free-form parts (`metadata_changes`, `context_data`) and what comes before.
 */
export const INPUT_LIMITS = {
  /** Bytes of one HTTP body or one Kafka message value. */
  maxBytes: 1_048_576,
  /** Nesting of objects and arrays; the value itself is depth 1. */
  maxDepth: 16,
  /** UTF-16 code units in one string value. */
  maxStringLength: 10_000,
  /** UTF-16 code units in one property name. */
  maxKeyLength: 256,
  /** Items in one array. */
  maxArrayItems: 1_000,
  /** Properties of one object. */
  maxObjectProperties: 256,
} as const;

export type InputLimits = { readonly [K in keyof typeof INPUT_LIMITS]: number };

/** The check stops after this many violations: an input may not make its own error unbounded. */
const MAX_REPORTED = 50;

const escapePointer = (key: string) => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Every way a parsed JSON value breaks the limits, as JSON Pointer paths (at most 50, in document
 * order). Also refuses numbers too large for a double (1e400 parses as Infinity), strings and names that are not well-formed Unicode (a lone surrogate cannot
 * be stored as UTF-8 without being silently replaced). Iterative, so no input can overflow it.
 */
export function inputLimitViolations(value: unknown, limits: InputLimits = INPUT_LIMITS): Violation[] {
  const violations: Violation[] = [];
  // A node to visit, or a broken property name found while listing its object's children: kept
  // on the same stack so every violation comes out in document order.
  type Entry = { value: unknown; path: string; depth: number } | { violation: Violation };
  const stack: Entry[] = [{ value, path: '', depth: 1 }];
  while (stack.length > 0 && violations.length < MAX_REPORTED) {
    const entry = stack.pop()!;
    if ('violation' in entry) {
      violations.push(entry.violation);
      continue;
    }
    const problem = limitProblem(entry.value, entry.depth, limits);
    if (problem !== undefined) {
      violations.push({ path: entry.path, message: problem });
      continue;
    }
    const children = childrenOf(entry, limits);
    // Pushed in reverse so they are visited in document order.
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return violations;

  function childrenOf(entry: { value: unknown; path: string; depth: number }, limits: InputLimits): Entry[] {
    const { value: current, path, depth } = entry;
    if (typeof current !== 'object' || current === null) return [];
    if (Array.isArray(current)) {
      return current.map((item, index) => ({ value: item, path: `${path}/${index}`, depth: depth + 1 }));
    }
    return Object.keys(current).map((key): Entry => {
      const keyPath = `${path}/${escapePointer(key.slice(0, limits.maxKeyLength))}`;
      if (key.length > limits.maxKeyLength) {
        return {
          violation: {
            path: keyPath,
            message: `property names must be at most ${limits.maxKeyLength} characters`,
          },
        };
      }
      if (!key.isWellFormed()) {
        return {
          violation: {
            path: keyPath,
            message: 'property names must be well-formed Unicode (no lone surrogates)',
          },
        };
      }
      return { value: (current as Record<string, unknown>)[key], path: keyPath, depth: depth + 1 };
    });
  }
}

/** What is wrong with this one node itself (not its children), if anything. */
function limitProblem(value: unknown, depth: number, limits: InputLimits): string | undefined {
  // JSON.parse turns 1e400 into Infinity, which JSON cannot write back: it would be stored as null.
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : 'must be a finite number';
  if (typeof value === 'string') {
    if (value.length > limits.maxStringLength) return `must be at most ${limits.maxStringLength} characters`;
    if (!value.isWellFormed()) return 'must be well-formed Unicode (no lone surrogates)';
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  if (depth > limits.maxDepth) return `nests deeper than ${limits.maxDepth} levels`;
  if (Array.isArray(value)) {
    return value.length > limits.maxArrayItems
      ? `must have at most ${limits.maxArrayItems} items`
      : undefined;
  }
  return Object.keys(value).length > limits.maxObjectProperties
    ? `must have at most ${limits.maxObjectProperties} properties`
    : undefined;
}
