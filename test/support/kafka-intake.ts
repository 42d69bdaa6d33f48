import { randomUUID } from 'node:crypto';
import { copyOf, kybIntakeExample, kycIntakeExample } from './intake-examples.ts';

/** Topic names unique to one test, with the service environment that points at them. */
export function kafkaTestTopics(brokers: readonly string[]) {
  const suffix = randomUUID().slice(0, 8);
  const topics = {
    inbound: `kyc_events_${suffix}`,
    dlq: `kyc_events_${suffix}.dlq`,
    notifications: `notification_events_${suffix}`,
  };
  const env = {
    KAFKA_BROKERS: brokers.join(','),
    KAFKA_GROUP_ID: `service-${suffix}`,
    KAFKA_INBOUND_TOPIC: topics.inbound,
    KAFKA_DLQ_TOPIC: topics.dlq,
    KAFKA_NOTIFICATION_TOPIC: topics.notifications,
    KAFKA_TOPIC_PARTITIONS: '3',
  };
  return { suffix, topics, env };
}

/** The n-th of a stream of distinct, valid intakes (KYC and KYB alternating), with its key. */
export function numberedIntake(n: number, run: string): { key: string; value: string } {
  const intake = copyOf(n % 2 === 0 ? kycIntakeExample : kybIntakeExample) as Record<string, unknown>;
  intake.client_id = `client-${run}-${n}`;
  return { key: `intake-${run}-${n}`, value: JSON.stringify(intake) };
}

/** Polls the service's case list until it holds `count` cases of this run (or fails after `timeoutMs`). */
export async function waitForCases(baseUrl: string, run: string, count: number, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const response = await fetch(`${baseUrl}/api/v1/cases?limit=500`).catch(() => undefined);
    if (response?.ok) {
      const cases = ((await response.json()) as { client_id: string; id: string }[]).filter((c) =>
        c.client_id.startsWith(`client-${run}-`),
      );
      if (cases.length >= count) return cases;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} cases of run ${run}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
