import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { variables } from '../../src/app/config.ts';
import { DEAD_LETTER_HEADROOM_BYTES } from '../../src/kafka/topics.ts';
import {
  type Container,
  filesUnder,
  type KubernetesObject,
  podTemplateOf,
  readEnvFile,
  readmeConfigurationNames,
  readObjects,
} from '../support/kubernetes-manifests.ts';

// The manifests cannot run here (no cluster), so this test keeps them honest from their sources:
// the service gets only variables it reads and documents, the single-projector rule holds, and
// the Kafka topics, partitions and limits agree with the service's configuration.
// test/integration/deploy/kubernetes.test.ts validates the rendered overlays against the schemas.

const root = fileURLToPath(new URL('../../', import.meta.url));
const deploy = `${root}deploy/kubernetes/`;
const readme = readFileSync(`${root}README.md`, 'utf8');
const serviceVariables = new Set(variables.map((variable) => variable.name));

const base = filesUnder(`${deploy}base`, '.yaml')
  .filter((path) => !path.endsWith('kustomization.yaml'))
  .flatMap(readObjects);
const platform = filesUnder(`${deploy}platform`, '.yaml').flatMap(readObjects);
const config = readEnvFile(`${deploy}base/service.env`);

function find(objects: readonly KubernetesObject[], kind: string, name: string): KubernetesObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  assert.ok(found, `no ${kind} ${name}`);
  return found;
}

function containerOf(object: KubernetesObject): Container {
  const container = podTemplateOf(object)?.spec.containers[0];
  assert.ok(container, `${object.metadata.name} has no container`);
  return container;
}

function literal(container: Container, name: string): string | undefined {
  return container.env?.find((entry) => entry.name === name)?.value;
}

const api = find(base, 'Deployment', 'kyc-case-service-api');

type Kustomization = {
  configMapGenerator?: { envs?: string[]; literals?: string[] }[];
  secretGenerator?: { literals?: string[] }[];
};

/** Every variable name the manifests set: Deployment env, ConfigMap env files, Secret literals. */
function namesSetByManifests(): Map<string, string> {
  const names = new Map<string, string>();
  for (const deployment of [api]) {
    for (const entry of containerOf(deployment).env ?? []) names.set(entry.name, deployment.metadata.name);
  }
  for (const path of filesUnder(deploy, 'kustomization.yaml')) {
    const kustomization = parse(readFileSync(path, 'utf8')) as Kustomization;
    const folder = path.slice(0, -'kustomization.yaml'.length);
    for (const generator of kustomization.configMapGenerator ?? []) {
      for (const file of generator.envs ?? []) {
        for (const key of readEnvFile(folder + file).keys()) names.set(key, folder + file);
      }
    }
    for (const generator of [
      ...(kustomization.configMapGenerator ?? []),
      ...(kustomization.secretGenerator ?? []),
    ]) {
      for (const entry of generator.literals ?? []) names.set(entry.split('=')[0] ?? '', path);
    }
  }
  return names;
}

describe('Kubernetes manifests', () => {
  it('set only variables that the service reads and README documents', () => {
    const documented = readmeConfigurationNames(readme);
    const names = namesSetByManifests();
    assert.ok(names.size > 10, 'the manifests set the service configuration');
    for (const [name, where] of names) {
      assert.ok(serviceVariables.has(name), `${where} sets ${name}, which src/app/config.ts does not read`);
      assert.ok(documented.has(name), `${where} sets ${name}, which README's Configuration table lacks`);
    }
  });

  it('point the service at the real event store, Kafka and MongoDB, with credentials from Secrets', () => {
    for (const deployment of [api]) {
      const container = containerOf(deployment);
      for (const name of ['API_KEYS', 'EVENTSTORE_URL', 'MONGODB_URL', 'PERSONAL_DATA_KEK']) {
        const entry = container.env?.find((candidate) => candidate.name === name);
        assert.ok(entry?.valueFrom?.secretKeyRef, `${deployment.metadata.name}: ${name} comes from a Secret`);
      }
      assert.deepEqual(container.envFrom, [{ configMapRef: { name: 'kyc-case-service-config' } }]);
    }
    assert.equal(
      config.get('HOST'),
      '0.0.0.0',
      'the pods listen beyond loopback (API_KEYS is required then)',
    );
    assert.ok(config.get('KAFKA_BROKERS'), 'the Kafka bridge is on');
  });

  it('run every replica the same: one Deployment placing processors by lease, scaled and protected as a whole', () => {
    const deployments = base.filter((object) => object.kind === 'Deployment');
    assert.deepEqual(
      deployments.map((deployment) => deployment.metadata.name),
      ['kyc-case-service-api'],
      'no separate projector Deployment',
    );
    assert.equal(literal(containerOf(api), 'PROJECTOR'), 'auto');
    assert.equal(literal(containerOf(api), 'REPLICA_ID'), undefined, 'each process names itself');
    const autoscaler = find(base, 'HorizontalPodAutoscaler', 'kyc-case-service-api');
    const target = (autoscaler.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name;
    assert.equal(target, 'kyc-case-service-api');
    const budgets = base.filter((object) => object.kind === 'PodDisruptionBudget');
    assert.equal(budgets.length, 1);
    const budget = find(base, 'PodDisruptionBudget', 'kyc-case-service-api');
    const selector = (budget.spec as { selector: { matchLabels: Record<string, string> } }).selector;
    assert.deepEqual(
      selector.matchLabels,
      (api.spec as { selector: { matchLabels: unknown } }).selector.matchLabels,
    );
    const { ttlMs, renewAfterMs, marginMs } = {
      ttlMs: Number(config.get('LEASE_TTL_MS')),
      renewAfterMs: Number(config.get('LEASE_RENEW_AFTER_MS')),
      marginMs: Number(config.get('LEASE_MARGIN_MS')),
    };
    assert.ok(renewAfterMs + marginMs < ttlMs, 'a lease timing the service accepts');
  });

  it('probe liveness and readiness on the port the service listens on, as a non-root user', () => {
    for (const deployment of [api]) {
      const container = containerOf(deployment);
      const port = container.ports?.find((candidate) => candidate.name === 'http');
      assert.equal(String(port?.containerPort), config.get('PORT'));
      assert.equal(container.livenessProbe?.httpGet?.path, '/health/live');
      assert.equal(container.startupProbe?.httpGet?.path, '/health/live');
      assert.equal(container.readinessProbe?.httpGet?.path, '/health/ready');
      assert.ok(container.resources?.requests && container.resources.limits?.memory, 'resources are set');
      assert.equal(podTemplateOf(deployment)?.spec.securityContext?.runAsNonRoot, true);
      assert.equal(container.securityContext?.readOnlyRootFilesystem, true);
      assert.equal(container.securityContext?.allowPrivilegeEscalation, false);
    }
  });

  it('have Kafka topics, partitions and message limits that agree with the service configuration', () => {
    const topics = platform.filter((object) => object.kind === 'KafkaTopic');
    const byName = new Map(
      topics.map((topic) => [String(topic.spec?.topicName), topic.spec as Record<string, unknown>]),
    );
    for (const key of ['KAFKA_INBOUND_TOPIC', 'KAFKA_DLQ_TOPIC', 'KAFKA_NOTIFICATION_TOPIC']) {
      const spec = byName.get(config.get(key) ?? '');
      assert.ok(spec, `${key}=${config.get(key)} has a KafkaTopic`);
      assert.equal(spec.replicas, 3);
      assert.equal((spec.config as Record<string, unknown>)['min.insync.replicas'], 2);
    }
    assert.equal(config.get('KAFKA_CREATE_TOPICS'), 'false', 'the Kafka operator owns the topics');

    const inbound = byName.get(config.get('KAFKA_INBOUND_TOPIC') ?? '')!;
    const dlq = byName.get(config.get('KAFKA_DLQ_TOPIC') ?? '')!;
    const inboundBytes = Number((inbound.config as Record<string, unknown>)['max.message.bytes']);
    const dlqBytes = Number((dlq.config as Record<string, unknown>)['max.message.bytes']);
    assert.equal(inboundBytes, Number(config.get('KAFKA_MAX_MESSAGE_BYTES')));
    assert.ok(dlqBytes >= inboundBytes + DEAD_LETTER_HEADROOM_BYTES, 'dead letters fit with their headers');

    // Every replica joins the intake group once: more than the partitions would leave some idle.
    const autoscaler = find(base, 'HorizontalPodAutoscaler', 'kyc-case-service-api');
    const maxReplicas = Number(autoscaler.spec?.maxReplicas);
    assert.ok(maxReplicas <= Number(inbound.partitions), 'replicas ≤ intake partitions');
    assert.equal(Number(config.get('KAFKA_TOPIC_PARTITIONS')), Number(inbound.partitions));
  });

  it('ask the platform for three event store nodes, a three-member MongoDB replica set with w=majority, and a Kafka cluster that keeps two in-sync replicas', () => {
    const only = (kind: string): KubernetesObject => {
      const found = platform.filter((object) => object.kind === kind);
      assert.equal(found.length, 1, `one ${kind} in platform/`);
      return found[0]!;
    };
    assert.equal(only('KurrentDB').spec?.replicas, 3);
    const mongodb = only('MongoDBCommunity');
    assert.equal(mongodb.spec?.members, 3);
    const options = mongodb.spec?.additionalConnectionStringConfig as Record<string, unknown>;
    assert.equal(options.w, 'majority');
    const kafka = only('Kafka');
    const settings = (kafka.spec as { kafka: { config: Record<string, unknown> } }).kafka.config;
    assert.equal(settings['default.replication.factor'], 3);
    assert.equal(settings['min.insync.replicas'], 2);
    assert.equal(settings['unclean.leader.election.enable'], false);
    assert.equal(only('KafkaNodePool').spec?.replicas, 3);
    // The names the service is given are the ones the operators create.
    assert.equal(config.get('KAFKA_BROKERS'), `${kafka.metadata.name}-kafka-bootstrap:9092`);
    const users = mongodb.spec?.users as { connectionStringSecretName: string }[];
    const mongoUrl = containerOf(api).env?.find((entry) => entry.name === 'MONGODB_URL');
    assert.equal(mongoUrl?.valueFrom?.secretKeyRef?.name, users[0]?.connectionStringSecretName);
  });
});
