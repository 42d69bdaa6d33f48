import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { loadConfig } from '../../../src/app/config.ts';
import { chooseLogFormat, createLogger } from '../../../src/app/logging.ts';

/** A stream that keeps what is written to it. */
function capture(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

describe('log format', () => {
  it('is pretty on a terminal and JSON when standard output is a pipe or a file', () => {
    assert.equal(chooseLogFormat(undefined, true), 'pretty');
    assert.equal(chooseLogFormat(undefined, false), 'json');
  });

  it('follows LOG_FORMAT whatever standard output is', () => {
    assert.equal(chooseLogFormat('json', true), 'json');
    assert.equal(chooseLogFormat('pretty', false), 'pretty');
  });

  it('reads LOG_FORMAT as pretty or json, unset meaning the guess, and refuses anything else', () => {
    assert.equal(loadConfig({}).logFormat, undefined);
    assert.equal(loadConfig({ LOG_FORMAT: 'pretty' }).logFormat, 'pretty');
    assert.equal(loadConfig({ LOG_FORMAT: 'json' }).logFormat, 'json');
    assert.throws(
      () => loadConfig({ LOG_FORMAT: 'yaml' }),
      /LOG_FORMAT: expected one of pretty, json, got "yaml"/,
    );
  });

  it('writes one JSON object per line in the json format', () => {
    const out = capture();
    const logger = createLogger({ level: 'info', format: 'json', destination: out.stream as never });
    logger.info({ url: 'http://127.0.0.1:1' }, 'service listening');
    const lines = out.text().trim().split('\n');
    assert.equal(lines.length, 1);
    const entry = JSON.parse(lines[0]!) as Record<string, unknown>;
    assert.equal(entry.msg, 'service listening');
    assert.equal(entry.url, 'http://127.0.0.1:1');
  });

  it('writes a readable line, not JSON, in the pretty format', () => {
    const out = capture();
    const logger = createLogger({
      level: 'info',
      format: 'pretty',
      destination: out.stream as never,
      colorize: false,
    });
    logger.warn({ url: 'http://127.0.0.1:1' }, 'service listening');
    const text = out.text();
    assert.match(text, /WARN.*service listening/);
    assert.match(text, /url: "http:\/\/127\.0\.0\.1:1"/);
    assert.throws(() => JSON.parse(text.split('\n')[0]!));
  });
});
