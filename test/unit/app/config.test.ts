import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/app/config.ts';

const someSecret = 'abcdefghijklmnop0123';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('loadConfig', () => {
  it('gives the embedded defaults when the environment is empty', () => {
    const config = loadConfig({});
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.port, 8080);
    assert.equal(config.logLevel, 'info');
    assert.equal(config.eventStoreUrl, undefined);
    assert.equal(config.mongoUrl, undefined);
    assert.equal(config.dataDir, './data');
    assert.deepEqual(config.apiKeys, []);
  });

  it('reads PORT and HOST', () => {
    const config = loadConfig({ PORT: '9090', HOST: '127.0.0.2' });
    assert.equal(config.port, 9090);
    assert.equal(config.host, '127.0.0.2');
  });

  it('reports every invalid variable in one error', () => {
    const problems = problemsOf({ PORT: 'eighty', LOG_LEVEL: 'loud', MONGODB_URL: 'http://x' });
    assert.equal(problems.length, 3);
    assert.ok(problems[0]?.startsWith('PORT'));
    assert.ok(problems.some((p) => p.startsWith('LOG_LEVEL')));
    assert.ok(problems.some((p) => p.startsWith('MONGODB_URL')));
  });

  it('runs the projector unless PROJECTOR=off, which needs shared read models', () => {
    assert.equal(loadConfig({}).projector, 'on');
    assert.equal(loadConfig({ PROJECTOR: 'off', MONGODB_URL: 'mongodb://db:27017' }).projector, 'off');
    assert.match(problemsOf({ PROJECTOR: 'off' })[0] ?? '', /^PROJECTOR: off needs MONGODB_URL/);
    assert.match(problemsOf({ PROJECTOR: 'sometimes' })[0] ?? '', /^PROJECTOR: expected one of on, off/);
  });

  it('refuses a non-loopback address when no API keys are configured', () => {
    assert.match(problemsOf({ HOST: '0.0.0.0' })[0] ?? '', /^HOST: without API_KEYS/);
  });

  it('accepts a non-loopback address once API keys are configured', () => {
    const config = loadConfig({ HOST: '0.0.0.0', API_KEYS: `ops:operator:${someSecret}` });
    assert.deepEqual(config.apiKeys, [{ name: 'ops', role: 'operator', secret: someSecret }]);
  });

  it('names the malformed API key entries', () => {
    const problems = problemsOf({
      API_KEYS: `a:reader:short,b:boss:${someSecret},c:admin:${someSecret},c:reader:${someSecret}`,
    });
    assert.deepEqual(
      problems.map((p) => p.slice(0, 20)),
      ['API_KEYS: entry 1 ("', 'API_KEYS: entry 2 ("', 'API_KEYS: name "c" a'],
    );
  });

  it('returns a frozen object', () => {
    assert.ok(Object.isFrozen(loadConfig({})));
  });
});
