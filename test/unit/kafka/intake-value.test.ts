import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeIntakeValue } from '../../../src/kafka/intake-value.ts';

const codeOf = (value: Buffer | null, maxBytes = 100) => {
  const decoded = decodeIntakeValue(value, maxBytes);
  return decoded.ok ? 'ok' : decoded.code;
};

describe('decoding an intake message value', () => {
  it('calls a null value and a zero-byte value empty', () => {
    assert.equal(codeOf(null), 'intake.empty');
    assert.equal(codeOf(Buffer.alloc(0)), 'intake.empty');
  });

  it('refuses a value one byte over the limit before reading it, and takes one at the limit', () => {
    assert.equal(codeOf(Buffer.from('"12345678"'), 9), 'intake.too_large');
    assert.equal(codeOf(Buffer.from('"1234567"'), 9), 'ok');
  });

  it('tells bytes that are not UTF-8 apart from text that is not JSON', () => {
    assert.equal(codeOf(Buffer.from([0x7b, 0xff, 0x7d])), 'intake.invalid_utf8');
    // A lone surrogate encoded as UTF-8 (CESU-style) and an overlong encoding are not UTF-8 either.
    assert.equal(codeOf(Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22])), 'intake.invalid_utf8');
    assert.equal(codeOf(Buffer.from([0x22, 0xc0, 0xaf, 0x22])), 'intake.invalid_utf8');
    assert.equal(codeOf(Buffer.from('{"client_id": ')), 'intake.invalid_json');
  });

  it('parses well-formed UTF-8 JSON, multi-byte characters included', () => {
    const decoded = decodeIntakeValue(Buffer.from('{"name":"Zoë 🚀"}'), 100);
    assert.deepEqual(decoded, { ok: true, value: { name: 'Zoë 🚀' } });
  });
});
