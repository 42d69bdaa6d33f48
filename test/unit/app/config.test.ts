import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig } from '../../../src/app/config.ts';

const someSecret = 'abcdefghijklmnop0123';
const kek = Buffer.alloc(32, 7).toString('base64');

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
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      MONGODB_URL: 'http://x',
      PERSONAL_DATA_KEK: kek,
    });
    assert.equal(problems.length, 3);
    assert.ok(problems[0]?.startsWith('PORT'));
    assert.ok(problems.some((p) => p.startsWith('LOG_LEVEL')));
    assert.ok(problems.some((p) => p.startsWith('MONGODB_URL')));
  });

  it('places processors by lease with shared read models, on this replica with in-memory ones', () => {
    const shared = { MONGODB_URL: 'mongodb://db:27017', PERSONAL_DATA_KEK: kek };
    assert.equal(loadConfig({}).projector, 'on');
    assert.equal(loadConfig(shared).projector, 'auto');
    assert.equal(loadConfig({ ...shared, PROJECTOR: 'on' }).projector, 'on');
    assert.equal(loadConfig({ ...shared, PROJECTOR: 'off' }).projector, 'off');
    assert.match(problemsOf({ PROJECTOR: 'off' })[0] ?? '', /^PROJECTOR: off needs MONGODB_URL/);
    assert.match(
      problemsOf({ PROJECTOR: 'auto' })[0] ?? '',
      /^PROJECTOR: auto needs MONGODB_URL.*one replica/,
    );
    assert.match(
      problemsOf({ PROJECTOR: 'sometimes' })[0] ?? '',
      /^PROJECTOR: expected one of auto, on, off/,
    );
  });

  it('reads the lease timing and refuses one where a leader would stop before renewing', () => {
    assert.deepEqual(loadConfig({}).lease, { ttlMs: 15_000, renewAfterMs: 5_000, marginMs: 5_000 });
    assert.deepEqual(
      loadConfig({ LEASE_TTL_MS: '3000', LEASE_RENEW_AFTER_MS: '1000', LEASE_MARGIN_MS: '500' }).lease,
      { ttlMs: 3_000, renewAfterMs: 1_000, marginMs: 500 },
    );
    assert.match(
      problemsOf({ LEASE_TTL_MS: '10000', LEASE_RENEW_AFTER_MS: '5000', LEASE_MARGIN_MS: '5000' })[0] ?? '',
      /^LEASE_RENEW_AFTER_MS \+ LEASE_MARGIN_MS must be below LEASE_TTL_MS/,
    );
    assert.match(problemsOf({ LEASE_TTL_MS: 'soon' })[0] ?? '', /^LEASE_TTL_MS: expected a whole number/);
    assert.equal(loadConfig({}).replicaId, undefined);
    assert.equal(loadConfig({ REPLICA_ID: 'api-0' }).replicaId, 'api-0');
    assert.match(problemsOf({ REPLICA_ID: 'x'.repeat(201) })[0] ?? '', /^REPLICA_ID: at most 200/);
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

  it('needs a personal-data KEK with real servers, and none in the embedded mode', () => {
    assert.equal(loadConfig({}).personalData.kek, undefined);
    for (const env of [{ EVENTSTORE_URL: 'esdb://es:2113' }, { MONGODB_URL: 'mongodb://db:27017' }]) {
      assert.match(
        problemsOf(env)[0] ?? '',
        /^PERSONAL_DATA_KEK: required with EVENTSTORE_URL or MONGODB_URL/,
      );
    }
    const config = loadConfig({ EVENTSTORE_URL: 'esdb://es:2113', PERSONAL_DATA_KEK: kek });
    assert.equal(config.personalData.kek?.id, 'kek-1');
    assert.ok(config.personalData.kek?.key.equals(Buffer.alloc(32, 7)));
  });

  it('refuses a KEK of the wrong size or alphabet without quoting it', () => {
    for (const value of [Buffer.alloc(16).toString('base64'), 'not base64 at all!', `${kek}x`]) {
      const problems = problemsOf({ PERSONAL_DATA_KEK: value });
      assert.match(problems[0] ?? '', /^PERSONAL_DATA_KEK: expected 32 bytes in base64/);
      assert.ok(!problems.join().includes(value), 'the key never appears in a message');
    }
    assert.match(
      problemsOf({ PERSONAL_DATA_KEK: kek, PERSONAL_DATA_KEK_ID: 'a b' })[0] ?? '',
      /^PERSONAL_DATA_KEK: the KEK id must be/,
    );
  });

  it('reads previous KEKs for rotation and names each malformed one', () => {
    const old = Buffer.alloc(32, 1).toString('base64');
    const config = loadConfig({
      PERSONAL_DATA_KEK: kek,
      PERSONAL_DATA_KEK_ID: 'kek-2',
      PERSONAL_DATA_PREVIOUS_KEKS: `kek-1:${old}`,
    });
    assert.deepEqual(
      config.personalData.previousKeks.map((k) => k.id),
      ['kek-1'],
    );
    assert.deepEqual(
      problemsOf({ PERSONAL_DATA_KEK: kek, PERSONAL_DATA_PREVIOUS_KEKS: `nocolon,kek-1:${old},x:short` }),
      [
        'PERSONAL_DATA_PREVIOUS_KEKS: entry 1 must be id:base64',
        `PERSONAL_DATA_PREVIOUS_KEKS: "kek-1" is the current KEK's id`,
        'PERSONAL_DATA_PREVIOUS_KEKS (entry 3): expected 32 bytes in base64 (`openssl rand -base64 32`), got 3 bytes',
      ],
    );
    assert.match(
      problemsOf({ PERSONAL_DATA_PREVIOUS_KEKS: `kek-0:${old}` }).join(),
      /PERSONAL_DATA_PREVIOUS_KEKS: needs PERSONAL_DATA_KEK/,
    );
  });

  it('returns a frozen object', () => {
    assert.ok(Object.isFrozen(loadConfig({})));
  });
});
