import { isUtf8 } from 'node:buffer';

/** What an intake message's value turned out to be, before any schema looks at it. */
export type DecodedValue =
  | { ok: true; value: unknown }
  | {
      ok: false;
      code: 'intake.empty' | 'intake.too_large' | 'intake.invalid_utf8' | 'intake.invalid_json';
      reason: string;
    };

/**
 * Decodes one Kafka message value as UTF-8 JSON, checking in this order: a value at all (null or
 * zero bytes: `intake.empty`), its size (`intake.too_large`, before anything reads it), UTF-8
 * (`intake.invalid_utf8`: bytes no text can come from, told apart from text that is not JSON),
 * then JSON (`intake.invalid_json`). Never throws.
 */
export function decodeIntakeValue(value: Buffer | null, maxBytes: number): DecodedValue {
  if (value === null) return { ok: false, code: 'intake.empty', reason: 'the message has no value (null)' };
  if (value.length === 0)
    return { ok: false, code: 'intake.empty', reason: 'the message value is empty (0 bytes)' };
  if (value.length > maxBytes) {
    return {
      ok: false,
      code: 'intake.too_large',
      reason: `the message has ${value.length} bytes; at most ${maxBytes} are accepted`,
    };
  }
  if (!isUtf8(value)) {
    return { ok: false, code: 'intake.invalid_utf8', reason: 'the value is not valid UTF-8' };
  }
  try {
    return { ok: true, value: JSON.parse(value.toString('utf8')) };
  } catch (error) {
    return {
      ok: false,
      code: 'intake.invalid_json',
      reason: `not JSON: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
}
