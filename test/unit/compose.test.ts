import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parseDocument } from 'yaml';
import { variables } from '../../src/app/config.ts';

// compose.yaml and the Dockerfile cannot run in CI (no Docker there), so this test keeps them
// honest: the file parses, the stack is complete, the service only gets variables it reads, and
// its port, health check and image agree.

const composeText = readFileSync(new URL('../../compose.yaml', import.meta.url), 'utf8');
const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');

/** Every environment variable the service reads (src/app/config.ts is the only reader). */
const serviceVariables = new Set(variables.map((variable) => variable.name));

type Service = {
  image?: string;
  build?: unknown;
  profiles?: string[];
  environment?: Record<string, string | number | boolean | null> | string[];
  ports?: (string | { target: number; published?: number | string })[];
  healthcheck?: { test: string | string[] };
  depends_on?: string[] | Record<string, { condition?: string }>;
  command?: string | string[];
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

function parseCompose(): Compose {
  const document = parseDocument(composeText);
  assert.deepEqual(
    document.errors.map((error) => error.message),
    [],
    'compose.yaml is not valid YAML',
  );
  assert.deepEqual(
    document.warnings.map((warning) => warning.message),
    [],
  );
  return document.toJS() as Compose;
}

function service(compose: Compose, name: string): Service {
  const found = compose.services[name];
  assert.ok(found, `compose.yaml has no service "${name}"`);
  return found;
}

function environmentOf(definition: Service): Map<string, string> {
  const entries = new Map<string, string>();
  const environment = definition.environment ?? {};
  if (Array.isArray(environment)) {
    for (const line of environment) {
      const [key = '', ...value] = line.split('=');
      entries.set(key, value.join('='));
    }
  } else {
    for (const [key, value] of Object.entries(environment)) entries.set(key, String(value ?? ''));
  }
  return entries;
}

function containerPorts(definition: Service): number[] {
  return (definition.ports ?? []).map((port) =>
    typeof port === 'string' ? Number(port.split(':').at(-1)?.split('/')[0]) : port.target,
  );
}

function dependenciesOf(definition: Service): string[] {
  const dependsOn = definition.depends_on ?? [];
  return Array.isArray(dependsOn) ? dependsOn : Object.keys(dependsOn);
}

/** Host names in a connection string or a comma-separated broker list. */
function hostsIn(value: string): string[] {
  const withoutScheme = value.replace(/^[a-z+]+:\/\//, '');
  const authority = withoutScheme.split(/[/?]/)[0] ?? '';
  return authority.split(',').map((hostAndPort) => hostAndPort.split(':')[0] ?? '');
}

describe('compose.yaml', () => {
  it('is valid YAML with the whole stack and named volumes for the data', () => {
    const compose = parseCompose();
    for (const name of ['eventstore', 'kafka', 'mongodb', 'service', 'config-stub']) service(compose, name);
    assert.ok(compose.volumes && Object.keys(compose.volumes).length >= 3, 'data volumes are declared');
  });

  it('starts every server without a profile and the configuration stub only with its profile', () => {
    const compose = parseCompose();
    assert.deepEqual(service(compose, 'config-stub').profiles, ['config-stub']);
    for (const [name, definition] of Object.entries(compose.services)) {
      if (name !== 'config-stub') assert.equal(definition.profiles, undefined, `${name} has a profile`);
    }
  });

  it('gives the service only environment variables that it reads', () => {
    const environment = environmentOf(service(parseCompose(), 'service'));
    const unknown = [...environment.keys()].filter((key) => !serviceVariables.has(key));
    assert.deepEqual(unknown, [], `variables the service does not read: ${unknown.join(', ')}`);
    for (const key of ['EVENTSTORE_URL', 'MONGODB_URL', 'KAFKA_BROKERS']) {
      assert.ok(environment.get(key), `${key} is set, so the service uses the real servers`);
    }
  });

  it('points the service at servers that compose defines and waits for them', () => {
    const compose = parseCompose();
    const definition = service(compose, 'service');
    const environment = environmentOf(definition);
    for (const key of ['EVENTSTORE_URL', 'MONGODB_URL', 'KAFKA_BROKERS']) {
      for (const host of hostsIn(environment.get(key) ?? '')) {
        assert.ok(compose.services[host], `${key} names "${host}", which is not a service`);
      }
    }
    const dependencies = dependenciesOf(definition);
    for (const name of dependencies) assert.ok(compose.services[name], `depends_on names unknown "${name}"`);
    for (const name of ['eventstore', 'mongodb']) assert.ok(dependencies.includes(name), `waits for ${name}`);
  });

  it('creates the Kafka topics that the service is configured with', () => {
    const compose = parseCompose();
    const environment = environmentOf(service(compose, 'service'));
    const script = [service(compose, 'kafka-topics').command ?? []].flat().join('\n');
    for (const key of ['KAFKA_INBOUND_TOPIC', 'KAFKA_DLQ_TOPIC', 'KAFKA_NOTIFICATION_TOPIC']) {
      const topic = environment.get(key) ?? '';
      assert.ok(topic !== '' && script.includes(topic), `${key}=${topic} is created by kafka-topics`);
    }
  });

  it('publishes, listens on and health-checks the same port, beyond loopback', () => {
    const definition = service(parseCompose(), 'service');
    const environment = environmentOf(definition);
    const port = Number(environment.get('PORT'));
    assert.ok(Number.isInteger(port) && port > 0, 'PORT is set');
    assert.equal(
      environment.get('HOST'),
      '0.0.0.0',
      'a published port needs the service to bind beyond loopback',
    );
    assert.deepEqual(containerPorts(definition), [port]);

    const test = [definition.healthcheck?.test ?? []].flat().join(' ');
    assert.match(
      test,
      new RegExp(`127\\.0\\.0\\.1:${port}/health\\b`),
      'the health check calls GET /health on PORT',
    );
  });

  it('builds the service from the Dockerfile, which exposes and checks the same port', () => {
    const compose = parseCompose();
    const definition = service(compose, 'service');
    assert.ok(definition.build, 'the service is built from this repository');
    const port = environmentOf(definition).get('PORT');
    assert.match(dockerfile, new RegExp(`^EXPOSE ${port}$`, 'm'));
    assert.match(dockerfile, new RegExp(`^\\s*PORT=${port}$`, 'm'));
    assert.match(dockerfile, /^HEALTHCHECK .*\n?.*\/health/m);
    assert.match(dockerfile, /^USER node$/m, 'the service runs as a non-root user');
    assert.match(dockerfile, /^CMD \["node", "src\/app\/main\.ts"\]$/m);
    assert.match(dockerfile, /npm ci --omit=dev/, 'the image has no dev dependencies');
  });
});
