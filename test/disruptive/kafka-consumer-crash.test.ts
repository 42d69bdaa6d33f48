import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { after, it } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { intakeHealth } from '../../src/app/kafka-bridge.ts';
import type { IntakePort } from '../../src/cases/application/ports.ts';
import { createInboundBridge } from '../../src/kafka/inbound.ts';
import { DAY_MS, ensureBridgeTopics } from '../../src/kafka/topics.ts';
import { eventually } from '../support/eventually.ts';
import { kafkaBrokers } from '../support/services.ts';

const run = promisify(execFile);
const services = (...args: string[]) =>
  run('bash', ['scripts/services.sh', ...args], { cwd: new URL('../../', import.meta.url) });
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

it('brings the intake consumer back after it crashed with the broker gone, says so meanwhile, and goes on consuming', async (t) => {
  const brokers = kafkaBrokers(t);
  if (brokers === undefined) return;
  const kafka = new Kafka({
    clientId: 'crash-test',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 30 },
  });
  const topic = `intake-crash-${randomUUID()}`;
  const admin = kafka.admin();
  await admin.connect();
  await ensureBridgeTopics(admin, {
    inbound: topic,
    dlq: `${topic}.dlq`,
    notifications: `${topic}.notifications`,
    partitions: 2,
    create: true,
    retentionMs: 7 * DAY_MS,
    dlqRetentionMs: 7 * DAY_MS,
  });
  await admin.disconnect();

  const opened: string[] = [];
  const port: IntakePort = {
    validate: (value) => ({ ok: true, intake: value }),
    open: async (intake) => {
      opened.push((intake as { client_id: string }).client_id);
    },
    recordRejected: async () => undefined,
  };
  // The bridge's own client gives up on an unreachable broker after one retry, so the crash
  // comes within seconds instead of after kafkajs' default minute of retries.
  const impatient = new Kafka({
    clientId: 'crash-test-bridge',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 1, initialRetryTime: 100 },
  });
  const bridge = createInboundBridge({
    kafka: impatient,
    logger: pino({ level: 'silent' }),
    topic,
    dlqTopic: `${topic}.dlq`,
    groupId: `crash-${randomUUID()}`,
    intake: port,
    maxMessageBytes: 10_000,
    restartDelayMs: { initial: 500, max: 2_000 },
  });
  await bridge.start();
  cleanups.push(() => bridge.stop());
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  const send = (clientId: string) =>
    producer.send({
      topic,
      acks: -1,
      messages: [{ key: clientId, value: JSON.stringify({ client_id: clientId }) }],
    });

  await send('before');
  await eventually('the first message opened', () => (opened.includes('before') ? true : undefined), 20_000);

  await services('stop-kafka', '--kill');
  cleanups.push(() => services('start-kafka'));
  const down = await eventually(
    'the consumer to be reported as restarting',
    () => (bridge.status().consumer.state === 'restarting' ? bridge.status().consumer : undefined),
    120_000,
  );
  assert.ok(
    down.lastCrash !== undefined && down.lastCrash.error !== '',
    'the crash is reported with its error',
  );
  assert.equal(bridge.status().running, false);
  const health = intakeHealth(bridge.status(), [], Date.now());
  assert.equal(health.status, 'down');
  assert.match(health.detail ?? '', /^consumer restarting since \S+; last error: /);

  await services('start-kafka');
  const up = await eventually(
    'the consumer to run again',
    () => (bridge.status().consumer.state === 'running' ? bridge.status().consumer : undefined),
    120_000,
  );
  assert.ok(up.restarts >= 1);
  assert.ok(Date.parse(up.since) >= Date.parse(down.since), 'running since the restart');

  for (const clientId of ['after-1', 'after-2', 'after-3']) await send(clientId);
  await eventually('every later message opened', () => (opened.length >= 4 ? true : undefined), 60_000);
  assert.deepEqual(opened.filter((id) => id !== 'before').sort(), ['after-1', 'after-2', 'after-3']);
  assert.equal(
    opened.filter((id) => id === 'before').length,
    1,
    'the committed message is not consumed again',
  );
});
