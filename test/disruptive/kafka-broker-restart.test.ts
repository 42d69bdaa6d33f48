import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '../../src/app/config.ts';
import { type RunningService, startService } from '../../src/app/service.ts';
import { kafkaTestTopics, numberedIntake, waitForCases } from '../support/kafka-intake.ts';
import { kafkaBrokers } from '../support/services.ts';

const run = promisify(execFile);
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

it('loses no intake message when the broker is killed and restarted mid-stream', async (t) => {
  const brokers = kafkaBrokers(t);
  if (brokers === undefined) return;
  const { suffix, env } = kafkaTestTopics(brokers);
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-broker-restart-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const service: RunningService = await startService(
    loadConfig({ DATA_DIR: dataDir, PORT: '0', ...env }),
    pino({ level: 'silent' }),
  );
  cleanups.push(() => service.stop());

  const kafka = new Kafka({
    clientId: 'restart-test',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 30 },
  });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  cleanups.push(() => producer.disconnect());

  const total = 60;
  const send = async (from: number, to: number) => {
    for (let n = from; n < to; n++) {
      const { key, value } = numberedIntake(n, suffix);
      await producer.send({
        topic: env.KAFKA_INBOUND_TOPIC,
        acks: -1,
        messages: [{ key, value, headers: { 'idempotency-key': key } }],
      });
    }
  };
  await send(0, 20);
  // A crash of the broker (SIGKILL), then the same broker back on the same port and data.
  await run('bash', ['scripts/services.sh', 'restart-kafka', '--kill'], {
    cwd: new URL('../../', import.meta.url),
  });
  await send(20, total);

  const cases = await waitForCases(service.url, suffix, total, 180_000);
  assert.equal(cases.length, total);
  assert.equal(new Set(cases.map((c) => c.client_id)).size, total, 'one case per message');
});
