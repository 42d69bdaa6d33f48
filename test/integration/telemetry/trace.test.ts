import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { startService } from '../../../src/app/service.ts';
import { startTelemetry } from '../../../src/app/telemetry.ts';
import { headerText } from '../../../src/kafka/headers.ts';
import { kycIntakeExample } from '../../support/intake-examples.ts';
import { kafkaTestTopics } from '../../support/kafka-intake.ts';
import { kafkaBrokers } from '../../support/services.ts';

const exporter = new InMemorySpanExporter();
const telemetry = startTelemetry({
  serviceName: 'kyc-case-service-test',
  otlpEndpoint: undefined,
  spanProcessors: [new SimpleSpanProcessor(exporter)],
});
const cleanups: (() => Promise<unknown>)[] = [() => telemetry.shutdown()];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const upstream = `00-${traceId}-00f067aa0ba902b7-01`;

it('follows one intake message in one trace: Kafka consume, command, projection, Kafka produce', async (t) => {
  const brokers = kafkaBrokers(t);
  if (brokers === undefined) return;
  const { topics, env } = kafkaTestTopics(brokers);
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-trace-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const service = await startService(
    loadConfig({ DATA_DIR: dataDir, PORT: '0', ...env }),
    pino({ level: 'silent' }),
  );
  cleanups.push(() => service.stop());

  const kafka = new Kafka({ clientId: 'trace-test', brokers, logLevel: logLevel.NOTHING });
  const received: (string | undefined)[] = [];
  const reader = kafka.consumer({ groupId: `trace-reader-${topics.notifications}` });
  await reader.connect();
  cleanups.push(() => reader.disconnect());
  await reader.subscribe({ topic: topics.notifications, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => void received.push(headerText(message.headers, 'traceparent')),
  });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  await producer.send({
    topic: topics.inbound,
    acks: -1,
    messages: [
      {
        value: JSON.stringify(kycIntakeExample),
        headers: { traceparent: upstream, 'idempotency-key': `trace-${topics.inbound}` },
      },
    ],
  });

  const deadline = Date.now() + 30_000;
  while (received.length === 0) {
    assert.ok(Date.now() < deadline, 'the notification reached its topic');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.match(
    received[0] ?? '',
    new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`),
    'the notification carries the trace on',
  );

  // The consume span ends after the intake's audit record is written, which may be after the
  // notification went out: wait for every span to finish, then check.
  const expected = [
    `kafka.consume ${topics.inbound}`,
    'command OpenCase',
    'project cases CaseOpened',
    'project persons PersonAdded',
    `kafka.produce ${topics.notifications}`,
  ];
  const traced = () => exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId);
  const spanDeadline = Date.now() + 10_000;
  while (
    !expected.every((name) => traced().some((span) => span.name === name)) &&
    Date.now() < spanDeadline
  ) {
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const spans = traced();
  const names = new Set(spans.map((span) => span.name));
  for (const name of expected) {
    assert.ok(names.has(name), `span "${name}" in the trace (have: ${[...names].join(', ')})`);
  }
  const consume = spans.find((span) => span.name === `kafka.consume ${topics.inbound}`)!;
  const command = spans.find((span) => span.name === 'command OpenCase')!;
  assert.equal(
    command.parentSpanContext?.spanId,
    consume.spanContext().spanId,
    'the command runs inside the consume span',
  );
});

it("continues an HTTP caller's trace through the command", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-trace-http-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const service = await startService(loadConfig({ DATA_DIR: dataDir, PORT: '0' }), pino({ level: 'silent' }));
  cleanups.push(() => service.stop());
  const httpTrace = '0af7651916cd43dd8448eb211c80319c';
  const response = await fetch(`${service.url}/api/v1/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', traceparent: `00-${httpTrace}-b7ad6b7169203331-01` },
    body: JSON.stringify(kycIntakeExample),
  });
  assert.equal(response.status, 202);
  const spans = exporter.getFinishedSpans().filter((span) => span.spanContext().traceId === httpTrace);
  const names = spans.map((span) => span.name);
  assert.ok(names.includes('HTTP POST /api/v1/cases'), names.join(', '));
  assert.ok(names.includes('command OpenCase'), names.join(', '));
  const { case_id: openedId } = (await response.clone().json()) as { case_id: string };
  const append = spans.find((span) => span.name === `eventstore.append case-${openedId}`);
  assert.ok(append, `the case append has its span (have: ${names.join(', ')})`);
  assert.equal(append.attributes['eventstore.stream'], `case-${openedId}`);
  assert.equal(append.attributes['eventstore.outcome'], 'appended');
  assert.ok(Number(append.attributes['eventstore.event_count']) > 0, 'the span counts the events');
  assert.equal(typeof append.attributes['eventstore.revision'], 'number');
  // The audit record goes to a new stream: one append, no read before it.
  assert.ok(
    names.some((name) => name.startsWith('eventstore.append intake-')),
    `the audit append has its span (have: ${names.join(', ')})`,
  );
  assert.ok(!names.some((name) => name.startsWith('eventstore.read intake-')), 'no read of the audit stream');

  const { case_id: caseId, position } = (await response.json()) as { case_id: string; position: string };
  const queryTrace = 'a3ce929d0e0e47364bf92f3577b34da6';
  const query = await fetch(`${service.url}/api/v1/cases/${caseId}?min_position=${position}`, {
    headers: { traceparent: `00-${queryTrace}-b7ad6b7169203331-01` },
  });
  assert.equal(query.status, 200);
  const queryNames = exporter
    .getFinishedSpans()
    .filter((span) => span.spanContext().traceId === queryTrace)
    .map((span) => span.name);
  assert.ok(queryNames.includes('HTTP GET /api/v1/cases/:case_id'), queryNames.join(', '));
  assert.ok(queryNames.includes('memory.get cases'), queryNames.join(', '));
});
