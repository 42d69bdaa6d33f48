import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { kafkaTestTopics, numberedIntake, waitForCases } from '../support/kafka-intake.ts';
import { type RunningService, startService } from '../support/service-process.ts';
import { kafkaBrokers } from '../support/services.ts';

type Json = Record<string, unknown>;

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** What a case is, without the times at which it happened to be processed. */
async function caseFacts(baseUrl: string, caseId: string): Promise<unknown> {
  const events = (await (await fetch(`${baseUrl}/api/v1/cases/${caseId}/events`)).json()) as Json[];
  return events.map((event) => [event.event_type, event.event_id, event.revision]);
}

it('gives the same cases when the service is killed mid-stream and restarted as without the kill', async (t) => {
  const brokers = kafkaBrokers(t);
  if (brokers === undefined) return;
  const total = 80;

  async function ingest(kill: boolean): Promise<Map<string, unknown>> {
    const { env } = kafkaTestTopics(brokers!);
    const dataDir = await mkdtemp(join(tmpdir(), 'kyc-killed-'));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    let service: RunningService = await startService({ DATA_DIR: dataDir, ...env });
    const kafka = new Kafka({ clientId: 'kill-test', brokers: brokers!, logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ idempotent: true });
    await producer.connect();
    await producer.send({
      topic: env.KAFKA_INBOUND_TOPIC,
      acks: -1,
      messages: Array.from({ length: total }, (_, n) => {
        // The same run name on both sides, so the derived case ids are comparable.
        const { key, value } = numberedIntake(n, 'killed');
        return { key, value, headers: { 'idempotency-key': key } };
      }),
    });
    await producer.disconnect();
    if (kill) {
      // Let it get some way in, then crash it: no shutdown, no commit, no flush.
      const seen = (await waitForCases(service.baseUrl, 'killed', 10, 60_000)).length;
      await service.kill();
      assert.ok(seen < total, `the kill came mid-stream (${seen} of ${total} cases were in)`);
      t.diagnostic(`killed with ${seen} of ${total} cases in`);
      service = await startService({ DATA_DIR: dataDir, ...env });
    }
    const cases = await waitForCases(service.baseUrl, 'killed', total, 180_000);
    const facts = new Map<string, unknown>();
    for (const found of cases) facts.set(found.id, await caseFacts(service.baseUrl, found.id));
    await service.stop();
    return facts;
  }

  const withoutKill = await ingest(false);
  const withKill = await ingest(true);
  assert.equal(withKill.size, total);
  assert.deepEqual(withKill, withoutKill);
});
