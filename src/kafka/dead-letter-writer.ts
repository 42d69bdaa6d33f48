import { createHash } from 'node:crypto';
import type { IHeaders, Message } from 'kafkajs';

/** Bytes of the value a reduced (`value-cut`) dead letter keeps: the start of the original. */
export const DEAD_LETTER_CUT_VALUE_BYTES = 65_536;
/** Characters kept of the reason and of the violations JSON in a reduced dead letter. */
const REDUCED_TEXT_CHARS = 1_000;
/** A reduced dead letter keeps the original headers only when together they are this small. */
const REDUCED_ORIGINAL_HEADER_BYTES = 8_192;
/** Bytes of the key a reduced dead letter keeps. */
const REDUCED_KEY_BYTES = 1_024;

/**
 * How much of the refused message a dead letter carries:
 * - `full`: key, value and headers as received, plus the `dlq-*` headers;
 * - `value-cut`: the value cut to its first {@link DEAD_LETTER_CUT_VALUE_BYTES} bytes, the original
 *   headers only if small, reason and violations shortened;
 * - `value-omitted`: no value and no original headers, only the `dlq-*` headers.
 * Every form says the value's size and SHA-256, so a reduced one can still be matched to the original.
 */
export type DeadLetterForm = 'full' | 'value-cut' | 'value-omitted';

export type DeadLetterInput = {
  topic: string;
  partition: number;
  offset: string;
  timestamp: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders | undefined;
  code: string;
  reason: string;
  violations: readonly { path: string; message: string }[];
  failedAt: string;
  /** Why the intake audit holds no record of this message, when it could not be written. */
  auditFailure?: string;
};

const cut = (text: string, chars: number) => (text.length > chars ? `${text.slice(0, chars)}…` : text);

function headerBytes(headers: IHeaders | undefined): number {
  let total = 0;
  for (const [name, raw] of Object.entries(headers ?? {})) {
    for (const value of Array.isArray(raw) ? raw : [raw]) {
      total += Buffer.byteLength(name) + (value === undefined ? 0 : Buffer.byteLength(value));
    }
  }
  return total;
}

/** The record to send for `input` in the given form; `reducedBecause` says why it is not `full`. */
export function deadLetterMessage(
  input: DeadLetterInput,
  form: DeadLetterForm,
  reducedBecause?: string,
  cutValueBytes: number = DEAD_LETTER_CUT_VALUE_BYTES,
): Message {
  const { value } = input;
  const reduced = form !== 'full';
  const violations = JSON.stringify(input.violations);
  const dlq: Record<string, string> = {
    'dlq-error-code': input.code,
    'dlq-error-reason': reduced ? cut(input.reason, REDUCED_TEXT_CHARS) : input.reason,
    'dlq-violations': reduced ? cut(violations, REDUCED_TEXT_CHARS) : violations,
    'dlq-original-topic': input.topic,
    'dlq-original-partition': String(input.partition),
    'dlq-original-offset': input.offset,
    'dlq-original-timestamp': input.timestamp,
    'dlq-failed-at': input.failedAt,
  };
  if (value !== null) {
    dlq['dlq-value-bytes'] = String(value.length);
    dlq['dlq-value-sha256'] = createHash('sha256').update(value).digest('hex');
  }
  if (input.auditFailure !== undefined) dlq['dlq-audit-failed'] = cut(input.auditFailure, REDUCED_TEXT_CHARS);
  if (!reduced) return { key: input.key, value, headers: { ...input.headers, ...dlq } };

  dlq['dlq-reduced'] = form;
  if (reducedBecause !== undefined) dlq['dlq-reduced-because'] = cut(reducedBecause, REDUCED_TEXT_CHARS);
  const keepHeaders = form === 'value-cut' && headerBytes(input.headers) <= REDUCED_ORIGINAL_HEADER_BYTES;
  const dropped = keepHeaders ? 0 : Object.keys(input.headers ?? {}).length;
  if (dropped > 0) dlq['dlq-original-headers-dropped'] = String(dropped);
  const key = input.key === null ? null : input.key.subarray(0, REDUCED_KEY_BYTES);
  return {
    key,
    value: form === 'value-cut' && value !== null ? value.subarray(0, cutValueBytes) : null,
    headers: keepHeaders ? { ...input.headers, ...dlq } : dlq,
  };
}

/** Whether Kafka refused a record for its size (somewhere in the chain of causes). */
export function isTooLarge(error: unknown): boolean {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0) {
    const current = pending.pop();
    if (typeof current !== 'object' || current === null || seen.has(current)) continue;
    seen.add(current);
    const { type, cause, errors } = current as { type?: unknown; cause?: unknown; errors?: unknown };
    if (type === 'MESSAGE_TOO_LARGE' || type === 'RECORD_LIST_TOO_LARGE') return true;
    pending.push(cause);
    if (Array.isArray(errors)) pending.push(...errors);
  }
  return false;
}

/**
 * Writes one dead letter, as much of it as the dead-letter topic takes: the full form first
 * (unless `reducedOnly`), and on a size refusal the next smaller form, down to `value-omitted`.
 * Any other failure (broker down, timeout) is thrown as is, for the caller to retry later.
 * Returns the form that was written.
 */
export async function writeDeadLetter(
  send: (message: Message) => Promise<unknown>,
  input: DeadLetterInput,
  options: { reducedOnly?: string; cutValueBytes?: number } = {},
): Promise<{ form: DeadLetterForm; reducedBecause?: string }> {
  const forms: DeadLetterForm[] =
    options.reducedOnly === undefined
      ? ['full', 'value-cut', 'value-omitted']
      : ['value-cut', 'value-omitted'];
  let reducedBecause = options.reducedOnly;
  for (const [index, form] of forms.entries()) {
    try {
      await send(deadLetterMessage(input, form, reducedBecause, options.cutValueBytes));
      return reducedBecause === undefined ? { form } : { form, reducedBecause };
    } catch (error) {
      if (!isTooLarge(error) || index === forms.length - 1) throw error;
      reducedBecause = `the ${form} form was refused: ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  throw new Error('unreachable: the last form either returns or throws');
}
