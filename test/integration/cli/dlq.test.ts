import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { after, describe, it, type TestContext } from 'node:test';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { kafkaBrokers } from '../../support/services.ts';
import { runCli } from './run-cli.ts';

/** The headers the intake bridge adds when it dead-letters a message (src/kafka/inbound.ts). */
function dlqHeaders(code: string, reason: string, violations: unknown[], offset: string) {
  return {
    'idempotency-key': `key-${offset}`,
    'dlq-error-code': code,
    'dlq-error-reason': reason,
    'dlq-violations': JSON.stringify(violations),
    'dlq-original-topic': 'kyc_events',
    'dlq-original-partition': '2',
    'dlq-original-offset': offset,
    'dlq-original-timestamp': String(Date.now()),
    'dlq-failed-at': new Date().toISOString(),
  };
}

describe('dlq list on the real broker', { concurrency: false }, () => {
  let kafka: Kafka | undefined;
  let admin: Admin | undefined;
  const topics: string[] = [];

  async function connect(t: TestContext): Promise<string[] | undefined> {
    const brokers = kafkaBrokers(t);
    if (brokers === undefined) return undefined;
    if (admin === undefined) {
      kafka = new Kafka({ clientId: 'dlq-cli-test', brokers, logLevel: logLevel.NOTHING });
      admin = kafka.admin();
      await admin.connect();
    }
    return brokers;
  }

  async function createTopic(partitions: number): Promise<string> {
    const topic = `dlq-cli-${randomUUID()}`;
    await admin!.createTopics({ waitForLeaders: true, topics: [{ topic, numPartitions: partitions }] });
    topics.push(topic);
    return topic;
  }

  after(async () => {
    if (topics.length > 0) await admin?.deleteTopics({ topics }).catch(() => undefined);
    await admin?.disconnect();
  });

  it('prints each dead letter with its origin, code, reason, violations, key and value, and exits 0', async (t) => {
    const brokers = await connect(t);
    if (brokers === undefined) return;
    const topic = await createTopic(2);
    const producer = kafka!.producer();
    await producer.connect();
    await producer.send({
      topic,
      acks: -1,
      messages: [
        {
          partition: 0,
          key: 'client-17',
          value: JSON.stringify({ client_id: 'client-17', version: '2.0', persons: [{ firstname: '' }] }),
          headers: dlqHeaders(
            'intake.invalid',
            '2 schema violation(s)',
            [
              { path: '/version', message: 'Version must be 1.0 for this schema processing' },
              { path: '/persons/0/firstname', message: 'must not be blank' },
            ],
            '41',
          ),
        },
        {
          partition: 1,
          key: null,
          value: `{"client_id": ${'x'.repeat(300)}`,
          headers: dlqHeaders('intake.invalid_json', 'not UTF-8 JSON: Unexpected token', [], '42'),
        },
      ],
    });
    await producer.disconnect();

    const run = await runCli(['dlq', 'list', '--brokers', brokers.join(','), '--topic', topic]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(
      run.stdout,
      /^kyc_events\/2\/41 {2}intake\.invalid {2}failed at \S+ {2}\(dlq-cli-[\w-]+\/0\/0\)$/m,
    );
    assert.match(run.stdout, /^kyc_events\/2\/42 {2}intake\.invalid_json /m);
    assert.match(run.stdout, /^ {2}reason: 2 schema violation\(s\)$/m);
    assert.match(run.stdout, /^ {2}violation \/persons\/0\/firstname: must not be blank$/m);
    assert.match(run.stdout, /^ {2}violation \/version: Version must be 1\.0 for this schema processing$/m);
    assert.match(run.stdout, /^ {2}key: client-17$/m);
    assert.match(run.stdout, /^ {2}key: \(none\)$/m);
    assert.match(run.stdout, /^ {2}value: \{"client_id": x{186}…$/m, 'the value is cut at 200 characters');
    assert.match(run.stdout, new RegExp(`^2 dead letter\\(s\\) in ${topic}$`, 'm'));
  });

  it('stops at --limit and says how many more there are', async (t) => {
    const brokers = await connect(t);
    if (brokers === undefined) return;
    const topic = await createTopic(1);
    const producer = kafka!.producer();
    await producer.connect();
    await producer.send({
      topic,
      messages: ['1', '2', '3'].map((offset) => ({
        value: '{}',
        headers: dlqHeaders('intake.invalid', 'missing fields', [], offset),
      })),
    });
    await producer.disconnect();

    const run = await runCli(['dlq', 'list', '--limit', '2', '--topic', topic], {
      KAFKA_BROKERS: brokers.join(','),
    });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^kyc_events\/2\/1 /m);
    assert.match(run.stdout, /^kyc_events\/2\/2 /m);
    assert.doesNotMatch(run.stdout, /^kyc_events\/2\/3 /m);
    assert.match(
      run.stdout,
      new RegExp(`^2 dead letter\\(s\\) in ${topic} \\(of 3 on the topic; --limit to see more\\)$`, 'm'),
    );
  });

  it('says "no dead letters" on an empty topic and exits 0', async (t) => {
    const brokers = await connect(t);
    if (brokers === undefined) return;
    const topic = await createTopic(3);
    const run = await runCli(['dlq', 'list', '--topic', topic], { KAFKA_BROKERS: brokers.join(',') });
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.equal(run.stdout, `no dead letters in ${topic}\n`);
  });

  it('names a topic that does not exist and exits 1', async (t) => {
    const brokers = await connect(t);
    if (brokers === undefined) return;
    const topic = `dlq-cli-missing-${randomUUID()}`;
    const run = await runCli(['dlq', 'list', '--brokers', brokers.join(','), '--topic', topic]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`^error: topic "${topic}" does not exist on `, 'm'));
  });
});

describe('dlq list without a broker', () => {
  it('gives a clear error and exits 1 when the broker is unreachable', async () => {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    server.close();
    await once(server, 'close');
    const run = await runCli(['dlq', 'list', '--brokers', `127.0.0.1:${port}`]);
    assert.equal(run.code, 1, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stderr, new RegExp(`^error: cannot reach Kafka at 127\\.0\\.0\\.1:${port}: `, 'm'));
  });

  it('explains missing brokers and exits 2', async () => {
    const run = await runCli(['dlq', 'list']);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /error: no brokers: pass --brokers or set KAFKA_BROKERS/);
  });
});
