import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { startService } from '../../../src/app/service.ts';
import { eventually } from '../../support/eventually.ts';
import { kycIntakeExample } from '../../support/intake-examples.ts';
import { kafkaBrokers } from '../../support/services.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

type Report = { name: string; kind: string; state: string; failures: { eventId: string; action: string }[] };

it('a notification that cannot be published is parked by the publisher alone: the read models go on, and skip then retry clears it', async (t) => {
  const brokers = kafkaBrokers(t);
  if (brokers === undefined) return;
  const suffix = randomUUID().slice(0, 8);
  const dataDir = await mkdtemp(join(tmpdir(), 'kyc-notification-poison-'));
  cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
  const service = await startService(
    loadConfig({
      DATA_DIR: dataDir,
      PORT: '0',
      KAFKA_BROKERS: brokers.join(','),
      KAFKA_GROUP_ID: `service-${suffix}`,
      KAFKA_INBOUND_TOPIC: `kyc_events_${suffix}`,
      KAFKA_DLQ_TOPIC: `kyc_events_${suffix}.dlq`,
      KAFKA_NOTIFICATION_TOPIC: `notification_events_${suffix}`,
    }),
    pino({ level: 'silent' }),
  );
  cleanups.push(() => service.stop());
  const publisher = 'notifications-to-kafka';
  const report = async (name: string) =>
    (await (await fetch(`${service.url}/api/v1/admin/processors/${name}`)).json()) as Report;

  // A notification no publisher can read, written past the command handler (as a buggy tool would).
  const poisonId = randomUUID();
  await service.eventStore.appendToStream(
    `case-poison-${poisonId}`,
    [
      {
        id: poisonId,
        type: 'NotificationRequired',
        // Ids enough to seal it; nothing a publisher can send.
        data: { case_id: `poison-${poisonId}`, notification_id: poisonId, not: 'a notification' },
        metadata: {},
      },
    ],
    'no_stream',
  );
  const failed = await eventually(
    'the publisher to park the poison',
    async () => {
      const current = await report(publisher);
      return current.state === 'failed' ? current : undefined;
    },
    20_000,
  );
  assert.deepEqual(
    failed.failures.map(({ eventId, action }) => [eventId, action]),
    [[poisonId, 'parked']],
  );

  // The read models that do not read notifications go on: a case opened now becomes readable. The
  // timeline reads notifications too, so the same event stops its projector (and min_position
  // waits answer 503 until an operator decides).
  const opened = await fetch(`${service.url}/api/v1/cases`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': `poison-${suffix}` },
    body: JSON.stringify(kycIntakeExample),
  });
  assert.equal(opened.status, 202);
  const { case_id: caseId } = (await opened.json()) as { case_id: string };
  await eventually('the new case in the cases read model', async () => {
    const read = await fetch(`${service.url}/api/v1/cases/${caseId}`);
    return read.status === 200 ? true : undefined;
  });
  const notRunning = async () =>
    (
      (await (await fetch(`${service.url}/api/v1/admin/processors`)).json()) as { processors: Report[] }
    ).processors
      .filter((p) => p.state !== 'running')
      .map((p) => [p.name, p.kind])
      .sort();
  assert.deepEqual(await notRunning(), [
    ['case_timeline', 'projector'],
    [publisher, 'reactor'],
  ]);
  const stopped = await fetch(`${service.url}/health/ready`);
  assert.equal(stopped.status, 503, 'a stopped projector makes the service unready');

  // The operator skips the event in the timeline: the service is ready again, the publisher's
  // parked notification only degrades it.
  const skipTimeline = await fetch(`${service.url}/api/v1/admin/processors/case_timeline/skip`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: poisonId, reason: 'written by a buggy tool; not part of any case' }),
  });
  assert.equal(skipTimeline.status, 200, await skipTimeline.text());
  assert.deepEqual(await notRunning(), [[publisher, 'reactor']]);
  const ready = await fetch(`${service.url}/health/ready`);
  assert.equal(ready.status, 200, 'parked notifications leave the service ready');
  assert.equal(
    ((await ready.json()) as { components: { processors: { status: string } } }).components.processors.status,
    'degraded',
  );

  // Rebuild is refused for a reactor, with the reason; skip then retry clears the parked event.
  const rebuild = await fetch(`${service.url}/api/v1/admin/processors/${publisher}/rebuild`, {
    method: 'POST',
  });
  assert.equal(rebuild.status, 409);
  assert.equal(((await rebuild.json()) as { code: string }).code, 'processor.rebuild_not_supported');
  const skip = await fetch(`${service.url}/api/v1/admin/processors/${publisher}/skip`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event_id: poisonId, reason: 'written by a buggy tool; nobody to notify' }),
  });
  assert.equal(skip.status, 200, await skip.text());
  assert.equal((await report(publisher)).state, 'running');
  const retry = await fetch(`${service.url}/api/v1/admin/processors/${publisher}/retry`, { method: 'POST' });
  assert.equal(retry.status, 202);
  await eventually(
    'the parked notification to be acknowledged unsent',
    async () => {
      const parked = (await (
        await fetch(`${service.url}/api/v1/admin/notifications/parked`)
      ).json()) as unknown[];
      return parked.length === 0 ? true : undefined;
    },
    20_000,
  );
});
