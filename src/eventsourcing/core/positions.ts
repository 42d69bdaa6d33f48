import type { AllPosition } from './events.ts';

/** The position before every event in `$all`. Stored checkpoints never hold it; callers use `null`. */
const HEX_WIDTH = 16;

/** Orders two positions: negative when `a` is before `b`, zero when equal, positive after. */
export function comparePositions(a: AllPosition, b: AllPosition): number {
  if (a.commit !== b.commit) return a.commit < b.commit ? -1 : 1;
  if (a.prepare !== b.prepare) return a.prepare < b.prepare ? -1 : 1;
  return 0;
}

/** The later of two positions; `null` stands for "before everything". */
export function maxPosition(a: AllPosition | null, b: AllPosition | null): AllPosition | null {
  if (a === null) return b;
  if (b === null) return a;
  return comparePositions(a, b) >= 0 ? a : b;
}

/**
 * A fixed-width string whose lexical order is the position order, so that stores without a
 * 64-bit unsigned type can compare positions with `$lt` on a string.
 */
export function positionKey(position: AllPosition): string {
  return `${position.commit.toString(16).padStart(HEX_WIDTH, '0')}:${position.prepare.toString(16).padStart(HEX_WIDTH, '0')}`;
}

/** Inverse of {@link positionKey}; throws on a malformed key. */
export function positionFromKey(key: string): AllPosition {
  const match = /^([0-9a-f]{16}):([0-9a-f]{16})$/.exec(key);
  if (!match) throw new Error(`not a position key: ${key}`);
  return { commit: BigInt(`0x${match[1]}`), prepare: BigInt(`0x${match[2]}`) };
}

/** Renders a position for logs and JSON (`C:commit/P:prepare`, as the server writes it). */
export function formatPosition(position: AllPosition): string {
  return `C:${position.commit}/P:${position.prepare}`;
}
