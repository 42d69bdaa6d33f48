import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/app/config.ts';

describe('loadConfig', () => {
  it('gives the embedded defaults when the environment is empty', () => {
    const config = loadConfig({});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8080);
    assert.equal(config.logLevel, 'info');
  });

  it('reads PORT and HOST', () => {
    const config = loadConfig({ PORT: '9090', HOST: '0.0.0.0' });
    assert.equal(config.port, 9090);
    assert.equal(config.host, '0.0.0.0');
  });

  it('reports every invalid variable in one error', () => {
    assert.throws(
      () => loadConfig({ PORT: 'eighty', LOG_LEVEL: 'loud' }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.problems.some((p) => p.startsWith('PORT')) &&
        error.problems.some((p) => p.startsWith('LOG_LEVEL')),
    );
  });

  it('returns a frozen object', () => {
    assert.ok(Object.isFrozen(loadConfig({})));
  });
});
