import { createHash } from 'node:crypto';

/** Namespace of our event ids (a random UUID fixed once; changing it changes every derived id). */
export const EVENT_ID_NAMESPACE = '6f1c8a52-2d3e-4b8f-9a47-0c5e1d7b3a90';

function uuidBytes(uuid: string): Buffer {
  const hex = uuid.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new Error(`not a UUID: ${uuid}`);
  return Buffer.from(hex, 'hex');
}

/**
 * A name-based UUID (RFC 9562 version 5: SHA-1 of namespace + name) for the `index`-th event a
 * command with `idempotencyKey` appends to `stream`. The same inputs always give the same id, so
 * a retried or redelivered command re-appends identical ids and the server can recognise them.
 */
export function deterministicEventId(
  stream: string,
  idempotencyKey: string,
  index: number,
  namespace: string = EVENT_ID_NAMESPACE,
): string {
  const hash = createHash('sha1')
    .update(uuidBytes(namespace))
    .update(`${stream}\u0000${idempotencyKey}\u0000${index}`, 'utf8')
    .digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
