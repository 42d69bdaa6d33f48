import type { IHeaders } from 'kafkajs';

/** Kafka header values arrive as Buffers (or arrays of them); we only ever need the first as text. */
/** Message headers as the Kafka client gives them. */
export type KafkaHeaders = IHeaders;

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const raw = headers?.[name];
  const first = Array.isArray(raw) ? raw[0] : raw;
  if (first === undefined || first === null) return undefined;
  const text = Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
  return text === '' ? undefined : text;
}
