/**
 * Stream metadata as the server enforces it on reads: `$tb` (truncate before), `$maxCount` and
 * `$maxAge` (seconds). Other keys (`$acl`, `$cacheControl`, custom ones) are stored and returned
 * untouched but not enforced.
 */
export type StreamMetadata = {
  truncateBefore?: number;
  maxCount?: number;
  maxAgeSeconds?: number;
  raw: Record<string, unknown>;
};

/** `$tb` written by a soft delete: long.MaxValue on the real server. */
export const DELETED_TRUNCATE_BEFORE = '9223372036854775807';

/** Any `$tb` this large is the soft-delete marker (JSON numbers lose the exact 2^63-1). */
const DELETED_THRESHOLD = 2 ** 62;

export function isSoftDeleteMarker(metadata: StreamMetadata | undefined): boolean {
  return metadata?.truncateBefore !== undefined && metadata.truncateBefore >= DELETED_THRESHOLD;
}

function positiveNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Parses a `$metadata` event body; an unparsable body counts as empty metadata, as on the server. */
export function parseMetadata(data: Uint8Array): StreamMetadata {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
  } catch {
    return { raw: {} };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return { raw: {} };
  const record = raw as Record<string, unknown>;
  const metadata: StreamMetadata = { raw: record };
  const truncateBefore = positiveNumber(record.$tb);
  const maxCount = positiveNumber(record.$maxCount);
  const maxAge = positiveNumber(record.$maxAge);
  if (truncateBefore !== undefined) metadata.truncateBefore = truncateBefore;
  if (maxCount !== undefined && maxCount > 0) metadata.maxCount = maxCount;
  if (maxAge !== undefined && maxAge > 0) metadata.maxAgeSeconds = maxAge;
  return metadata;
}

/** The body a soft delete writes to `$$stream`: only `$tb`, other keys are dropped. */
export function softDeleteBody(): Buffer {
  return Buffer.from(`{"$tb":${DELETED_TRUNCATE_BEFORE}}`);
}

/** Re-creating a soft-deleted stream keeps its other metadata keys and moves `$tb` past the old events. */
export function undeleteBody(raw: Record<string, unknown>, truncateBefore: number): Buffer {
  return Buffer.from(JSON.stringify({ ...raw, $tb: truncateBefore }));
}
