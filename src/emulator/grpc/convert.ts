import sharedPb from '@eventstore/db-client/generated/shared_pb.js';
import { RequestError, rpcErrors } from './errors.ts';
import type { WireUuid } from './wire.ts';

type UuidMessage = InstanceType<typeof sharedPb.UUID>;

const HEX = /^[0-9a-fA-F]{32}$/;

/**
 * Parses an event id as the server does (.NET `Guid.Parse` forms: dashed, 32 hex digits, braces
 * or parentheses; or the structured most/least significant bits). Returns 16 bytes in canonical
 * order, or undefined when unparsable.
 */
export function parseUuid(message: UuidMessage | undefined): Buffer | undefined {
  if (message === undefined) return undefined;
  if (message.hasStructured()) {
    const structured = message.getStructured()!;
    try {
      return structuredUuid(
        BigInt(structured.getMostSignificantBits()),
        BigInt(structured.getLeastSignificantBits()),
      );
    } catch {
      return undefined;
    }
  }
  return parseUuidText(message.getString());
}

/** The same, for an id decoded by hand (see wire.ts). */
export function parseWireUuid(uuid: WireUuid | undefined): Buffer | undefined {
  if (uuid === undefined) return undefined;
  if ('string' in uuid) return parseUuidText(uuid.string);
  try {
    return structuredUuid(uuid.msb, uuid.lsb);
  } catch {
    return undefined;
  }
}

/** A hand-decoded id as the generated message (to echo a correlation id back). */
export function wireUuidMessage(uuid: WireUuid): UuidMessage {
  const message = new sharedPb.UUID();
  if ('string' in uuid) {
    message.setString(uuid.string);
  } else {
    const structured = new sharedPb.UUID.Structured();
    structured.setMostSignificantBits(uuid.msb.toString());
    structured.setLeastSignificantBits(uuid.lsb.toString());
    message.setStructured(structured);
  }
  return message;
}

function structuredUuid(msb: bigint, lsb: bigint): Buffer {
  const bytes = Buffer.alloc(16);
  bytes.writeBigInt64BE(msb, 0);
  bytes.writeBigInt64BE(lsb, 8);
  return bytes;
}

function parseUuidText(value: string): Buffer | undefined {
  let text = value.trim();
  if ((text.startsWith('{') && text.endsWith('}')) || (text.startsWith('(') && text.endsWith(')'))) {
    text = text.slice(1, -1);
  }
  if (text.length === 36) {
    if (text[8] !== '-' || text[13] !== '-' || text[18] !== '-' || text[23] !== '-') return undefined;
    text = text.replaceAll('-', '');
  }
  if (!HEX.test(text)) return undefined;
  return Buffer.from(text, 'hex');
}

/** Lower-case dashed form, as .NET `Guid.ToString()` prints it. */
export function formatUuid(bytes: Uint8Array): string {
  const hex = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function uuidMessage(bytes: Uint8Array, structured: boolean): UuidMessage {
  const message = new sharedPb.UUID();
  if (structured) {
    const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const value = new sharedPb.UUID.Structured();
    value.setMostSignificantBits(buffer.readBigInt64BE(0).toString());
    value.setLeastSignificantBits(buffer.readBigInt64BE(8).toString());
    message.setStructured(value);
  } else {
    message.setString(formatUuid(bytes));
  }
  return message;
}

export function streamName(identifier: InstanceType<typeof sharedPb.StreamIdentifier> | undefined): string {
  if (identifier === undefined)
    throw new RequestError(rpcErrors.invalidArgument('stream identifier is required'));
  return Buffer.from(identifier.getStreamName_asU8()).toString('utf8');
}

export function streamIdentifier(name: string): InstanceType<typeof sharedPb.StreamIdentifier> {
  const identifier = new sharedPb.StreamIdentifier();
  identifier.setStreamName(Buffer.from(name, 'utf8'));
  return identifier;
}

/** Largest stream revision the server accepts (long.MaxValue); the client sends uint64. */
const MAX_REVISION = 2n ** 63n - 1n;
/** Unknown positions and revisions go on the wire as uint64 max. */
export const UINT64_MAX = '18446744073709551615';
export const TOMBSTONE_WIRE_REVISION = '9223372036854775807';

export function parseRevision(text: string): bigint {
  const value = BigInt(text);
  if (value > MAX_REVISION)
    throw new RequestError(rpcErrors.invalidArgument(`'${text}' is not a valid stream revision`));
  return value;
}

/** .NET ticks (100 ns) since the Unix epoch, as the `created` metadata carries them. */
export function createdTicks(createdMicros: number): string {
  return (BigInt(createdMicros) * 10n).toString();
}
