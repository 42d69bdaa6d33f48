import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { Message } from 'kafkajs';
import {
  type DeadLetterInput,
  deadLetterMessage,
  isTooLarge,
  writeDeadLetter,
} from '../../../src/kafka/dead-letter-writer.ts';

const value = Buffer.alloc(200_000, 'x');
const input: DeadLetterInput = {
  topic: 'kyc_events',
  partition: 2,
  offset: '41',
  timestamp: '1700000000000',
  key: Buffer.from('client-1'),
  value,
  headers: { 'idempotency-key': 'k-1' },
  code: 'intake.too_large',
  reason: 'r'.repeat(5_000),
  violations: [],
  failedAt: '2024-01-01T00:00:00.000Z',
};
const sha256 = createHash('sha256').update(value).digest('hex');
const header = (message: Message, name: string) => {
  const raw = message.headers?.[name];
  return raw === undefined ? undefined : String(raw);
};

/** Kafka's refusal of an oversized record, as kafkajs wraps it after its retries. */
function tooLargeError(): Error {
  const protocol = Object.assign(new Error('The request included a message larger than the max'), {
    type: 'MESSAGE_TOO_LARGE',
  });
  return Object.assign(new Error(protocol.message), { name: 'KafkaJSNonRetriableError', cause: protocol });
}

describe('dead-letter records', () => {
  it('carry the whole message in full form, with size and SHA-256 of the value', () => {
    const message = deadLetterMessage(input, 'full');
    assert.equal(message.value, value);
    assert.equal(header(message, 'idempotency-key'), 'k-1');
    assert.equal(header(message, 'dlq-value-bytes'), '200000');
    assert.equal(header(message, 'dlq-value-sha256'), sha256);
    assert.equal(header(message, 'dlq-error-reason'), input.reason);
    assert.equal(header(message, 'dlq-reduced'), undefined);
  });

  it('cut the value at the documented limit in value-cut form and say so', () => {
    const message = deadLetterMessage(input, 'value-cut', 'refused');
    assert.equal((message.value as Buffer).length, 65_536);
    assert.equal(header(message, 'dlq-reduced'), 'value-cut');
    assert.equal(header(message, 'dlq-reduced-because'), 'refused');
    assert.equal(header(message, 'dlq-value-bytes'), '200000');
    assert.equal(header(message, 'dlq-value-sha256'), sha256);
    assert.equal(header(message, 'idempotency-key'), 'k-1', 'small original headers are kept');
    assert.ok((header(message, 'dlq-error-reason') ?? '').length <= 1_001);
  });

  it('keep no value and no original headers in value-omitted form', () => {
    const message = deadLetterMessage(input, 'value-omitted');
    assert.equal(message.value, null);
    assert.equal(header(message, 'idempotency-key'), undefined);
    assert.equal(header(message, 'dlq-original-headers-dropped'), '1');
    assert.equal(header(message, 'dlq-original-offset'), '41');
  });

  it('recognise a size refusal anywhere in the chain of causes, and nothing else', () => {
    assert.equal(isTooLarge(tooLargeError()), true);
    assert.equal(isTooLarge(new Error('Connection error: connect ECONNREFUSED')), false);
  });

  it('fall back to the next smaller form on a size refusal only', async () => {
    const tried: (string | undefined)[] = [];
    const written = await writeDeadLetter(async (message) => {
      tried.push(header(message, 'dlq-reduced') ?? 'full');
      if (tried.length < 3) throw tooLargeError();
    }, input);
    assert.deepEqual(tried, ['full', 'value-cut', 'value-omitted']);
    assert.equal(written.form, 'value-omitted');
    assert.match(written.reducedBecause ?? '', /value-cut form was refused/);

    await assert.rejects(
      writeDeadLetter(async () => {
        throw new Error('Connection error: connect ECONNREFUSED');
      }, input),
      /ECONNREFUSED/,
    );
  });

  it('start at the reduced forms when told the full one keeps failing', async () => {
    const tried: (string | undefined)[] = [];
    const written = await writeDeadLetter(
      async (message) => {
        tried.push(header(message, 'dlq-reduced'));
      },
      input,
      { reducedOnly: 'the full form failed 3 times' },
    );
    assert.deepEqual(tried, ['value-cut']);
    assert.deepEqual(written, { form: 'value-cut', reducedBecause: 'the full form failed 3 times' });
  });
});
