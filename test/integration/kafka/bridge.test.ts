import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Consumer, Kafka, logLevel, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { type RunningService, startService } from '../../../src/app/service.ts';
import { startEmulator } from '../../../src/emulator/index.ts';
import { headerText } from '../../../src/kafka/headers.ts';
import { eventually } from '../../support/eventually.ts';
import { kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { testPersonalDataEnv } from '../../support/personal-data.ts';
import { kafkaBrokers } from '../../support/services.ts';

type Json = Record<string, unknown>;

// Embedded (event store in process, persistent groups over its gRPC port) and production-like
// (the EventStoreDB client to a separate server): the same behaviour both ways.
const modes = [
  { name: 'embedded event store', grpc: false },
  { name: 'event store over gRPC (EVENTSTORE_URL)', grpc: true },
];

for (const mode of modes)
  describe(`the service with the Kafka bridge on (real broker, ${mode.name})`, () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    after(async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    });

    it('turns intake messages into cases once, dead-letters bad ones, and publishes notifications once each in case order', async (t) => {
      const brokers = kafkaBrokers(t);
      if (brokers === undefined) return;
      const suffix = randomUUID().slice(0, 8);
      const topics = {
        inbound: `kyc_events_${suffix}`,
        dlq: `kyc_events_${suffix}.dlq`,
        notifications: `notification_events_${suffix}`,
      };
      const dataDir = await mkdtemp(join(tmpdir(), 'kyc-bridge-'));
      cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
      const store = mode.grpc ? await startEmulator({ port: 0 }) : undefined;
      if (store) cleanups.push(() => store.close());
      const service: RunningService = await startService(
        loadConfig({
          DATA_DIR: dataDir,
          PORT: '0',
          ...(store ? { EVENTSTORE_URL: store.connectionString, ...testPersonalDataEnv } : {}),
          KAFKA_BROKERS: brokers.join(','),
          KAFKA_GROUP_ID: `service-${suffix}`,
          KAFKA_INBOUND_TOPIC: topics.inbound,
          KAFKA_DLQ_TOPIC: topics.dlq,
          KAFKA_NOTIFICATION_TOPIC: topics.notifications,
          KAFKA_TOPIC_PARTITIONS: '2',
        }),
        pino({ level: 'silent' }),
      );
      cleanups.push(() => service.stop());

      const kafka = new Kafka({ clientId: 'bridge-test', brokers, logLevel: logLevel.NOTHING });
      const producer: Producer = kafka.producer({ idempotent: true });
      await producer.connect();
      cleanups.push(() => producer.disconnect());
      const notifications: { key: string; value: Json; messageId: string | undefined; revision: number }[] =
        [];
      const dlq: Record<string, string | undefined>[] = [];
      const reader: Consumer = kafka.consumer({ groupId: `reader-${suffix}` });
      await reader.connect();
      cleanups.push(() => reader.disconnect());
      await reader.subscribe({ topics: [topics.notifications, topics.dlq], fromBeginning: true });
      await reader.run({
        eachMessage: async ({ topic, message }) => {
          if (topic === topics.dlq) {
            dlq.push({ code: headerText(message.headers, 'dlq-error-code'), key: message.key?.toString() });
            return;
          }
          notifications.push({
            key: message.key?.toString() ?? '',
            value: JSON.parse(message.value?.toString() ?? 'null') as Json,
            messageId: headerText(message.headers, 'message-id'),
            revision: Number(headerText(message.headers, 'case-revision')),
          });
        },
      });

      await producer.send({
        topic: topics.inbound,
        acks: -1,
        messages: [
          {
            key: 'kyc',
            value: JSON.stringify(kycIntakeExample),
            headers: { 'idempotency-key': `kyc-${suffix}` },
          },
          {
            key: 'kyb',
            value: JSON.stringify(kybIntakeExample),
            headers: { 'idempotency-key': `kyb-${suffix}` },
          },
          // The same KYC message again (a producer retry): no second case.
          {
            key: 'kyc',
            value: JSON.stringify(kycIntakeExample),
            headers: { 'idempotency-key': `kyc-${suffix}` },
          },
          { key: 'broken', value: '{"client_id":' },
          { key: 'invalid', value: JSON.stringify({ ...kycIntakeExample, version: '9.9' }) },
        ],
      });

      // Every message is in the intake audit once handled: after all five, no case can still come.
      const audit = await eventually(
        'the five messages in the intake audit',
        async () => {
          const response = await fetch(`${service.url}/api/v1/events/raw?limit=50`);
          const body = (await response.json()) as Json[];
          return body.length >= 5 ? body : undefined;
        },
        30_000,
      );
      assert.deepEqual(audit.map((entry) => entry.outcome).sort(), [
        'case_opened',
        'case_opened',
        'duplicate',
        'rejected',
        'rejected',
      ]);
      // Read at the head of the log, so the cases read model holds whatever was written by then.
      const head = (await service.eventStore.headOfAll())!.position;
      const cases = (await (
        await fetch(`${service.url}/api/v1/cases?limit=50&min_position=${head.commit}-${head.prepare}`)
      ).json()) as Json[];
      assert.deepEqual(cases.map((c) => c.client_id).sort(), ['kyb-client-002', 'kyc-client-001']);
      await eventually('two dead letters', async () => (dlq.length >= 2 ? true : undefined), 30_000);
      assert.deepEqual(dlq.map((entry) => entry.code).sort(), ['intake.invalid', 'intake.invalid_json']);

      // Walk the KYC case to review: that raises a second notification in the same case.
      const kycCase = cases.find((c) => c.client_id === 'kyc-client-001')!;
      const documents = (await (
        await fetch(`${service.url}/api/v1/documents/case/${kycCase.id}`)
      ).json()) as Json[];
      for (const document of documents) {
        const response = await fetch(`${service.url}/api/v1/documents/${document.id}/status`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ new_status: 'NOT_APPLICABLE' }),
        });
        assert.equal(response.status, 200);
      }

      await eventually(
        'three notifications',
        async () => (notifications.length >= 3 ? true : undefined),
        30_000,
      );
      // No more than that: the publisher says it published exactly as many as the log asks for,
      // and the reader has seen every one of them.
      const required = (await service.eventStore.readAll('start', 100_000)).filter(
        (event) => event.type === 'NotificationRequired',
      ).length;
      assert.equal(required, 3);
      await eventually(
        'the publisher to report every notification published',
        async () => {
          const text = await (await fetch(`${service.url}/metrics`)).text();
          return /^kyc_notifications_published_total 3$/m.test(text) ? true : undefined;
        },
        30_000,
      );
      assert.equal(notifications.length, 3);
      assert.equal(new Set(notifications.map((n) => n.messageId)).size, 3, 'each event id once');
      const kycNotifications = notifications.filter((n) => n.key === kycCase.id);
      assert.deepEqual(
        kycNotifications.map((n) => (n.value.payload as Json).event_trigger),
        ['CASE_CREATED_KYC_INDIVIDUAL_STANDARD', 'CASE_READY_FOR_REVIEW_KYC_INDIVIDUAL_STANDARD'],
      );
      assert.ok(kycNotifications[0]!.revision < kycNotifications[1]!.revision, 'in case order');
      for (const n of notifications) {
        assert.equal(n.value.event_type, 'NotificationRequired');
        assert.equal(n.value.aggregate_id, n.key);
        assert.equal(n.value.event_id, n.messageId);
      }

      const metrics = await (await fetch(`${service.url}/metrics`)).text();
      for (const metric of [
        'kyc_kafka_dead_lettered_total 2',
        'kyc_notifications_published_total 3',
        'kyc_notifications_parked_backlog 0',
        'kyc_kafka_consumer_lag_messages{topic=',
      ]) {
        assert.ok(metrics.includes(metric), `${metric} in /metrics`);
      }
      // Every metric the service exposes has a sample after such a run.
      for (const name of [
        'kyc_commands_total',
        'kyc_command_duration_seconds_bucket',
        'kyc_events_appended_total',
        'kyc_projection_lag_events',
        'kyc_projection_lag_seconds',
        'kyc_projector_healthy',
        'kyc_kafka_consumer_lag_messages',
        'kyc_kafka_dead_lettered_total',
        'kyc_kafka_dead_lettered_reduced_total',
        'kyc_kafka_intake_audit_skipped_total',
        'kyc_kafka_intake_consumer_restarts_total',
        'kyc_kafka_intake_stalled_partitions',
        'kyc_notifications_published_total',
        'kyc_notifications_retried_total',
        'kyc_notifications_parked_total',
        'kyc_notifications_parked_backlog',
        'kyc_http_requests_total',
        'kyc_http_request_duration_seconds_bucket',
      ]) {
        assert.match(metrics, new RegExp(`^${name}[{ ]`, 'm'), `${name} sampled in /metrics`);
      }

      const deadLetters = (await (await fetch(`${service.url}/api/v1/admin/dlq?limit=10`)).json()) as {
        total: number;
        letters: { error_code: string; original_topic: string }[];
      };
      assert.equal(deadLetters.total, 2);
      assert.deepEqual(deadLetters.letters.map((letter) => letter.error_code).sort(), [
        'intake.invalid',
        'intake.invalid_json',
      ]);
      assert.ok(deadLetters.letters.every((letter) => letter.original_topic === topics.inbound));

      const raw = (await (await fetch(`${service.url}/api/v1/events/raw?limit=50`)).json()) as Json[];
      const outcomes = raw.map((r) => r.outcome).sort();
      assert.deepEqual(outcomes, ['case_opened', 'case_opened', 'duplicate', 'rejected', 'rejected']);
    });
  });
