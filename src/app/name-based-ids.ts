import { createHash } from 'node:crypto';
import type { IdDeriver } from '../cases/ids.ts';

/** Namespace of every id the case domain derives; changing it would change every id. */
const CASE_ID_NAMESPACE = 'c6a7e0c4-5a8b-4d59-9a1e-3f0e6b2d7c11';

/**
 * Name-based UUID (version 5 layout, SHA-1) over the parts joined by NUL, so the same parts always
 * give the same id. Gives the pure domain its `IdDeriver`.
 */
export const deriveId: IdDeriver = (...parts) => {
  const namespace = Buffer.from(CASE_ID_NAMESPACE.replaceAll('-', ''), 'hex');
  const bytes = createHash('sha1')
    .update(namespace)
    .update(parts.join('\u0000'), 'utf8')
    .digest()
    .subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
};
