import type { Logger } from 'pino';
import type { IntakePort } from '../cases/application/ports.ts';
import type { EventRegistry } from '../eventsourcing/core/event-definitions.ts';
import type { EventStore } from '../eventsourcing/eventstore/port.ts';
import type { ComponentHealth } from '../http/health.ts';
import { createKafkaClient } from '../kafka/client.ts';
import { createInboundBridge, type InboundStatus } from '../kafka/inbound.ts';
import { createNotificationPublisher, type NotificationPublisher } from '../kafka/outbound.ts';
import { type BridgeTopicLimits, ensureBridgeTopics } from '../kafka/topics.ts';
import type { KafkaConfig } from './config.ts';

/**
 * How long the intake consumer may go without an answer from its group coordinator before
 * health calls it down: the broker's default session timeout, after which the group has dropped
 * it anyway (heartbeats come every 3 s while all is well).
 */
export const NO_CONTACT_MS = 30_000;

/**
 * The intake's health, from its status: `down` while the consumer is not running (starting,
 * restarting after a crash, stopped) or has not heard from its group coordinator for
 * {@link NO_CONTACT_MS}; `degraded` while a partition retries its head message; else `up`.
 * Each answer carries the consumer's state and since when, and the dead-letter counts.
 */
export function intakeHealth(
  status: InboundStatus,
  warnings: readonly string[],
  now: number,
): ComponentHealth {
  const { consumer, stalled } = status;
  const facts = {
    consumer,
    deadLettered: status.deadLettered,
    deadLetteredReduced: status.deadLetteredReduced,
    auditSkipped: status.auditSkipped,
    ...(warnings.length === 0 ? {} : { warnings }),
  };
  if (consumer.state !== 'running') {
    const lastCrash = consumer.lastCrash === undefined ? '' : `; last error: ${consumer.lastCrash.error}`;
    return {
      status: 'down',
      detail: `consumer ${consumer.state} since ${consumer.since}${lastCrash}`,
      ...facts,
    };
  }
  const lastContact = consumer.lastContactAt ?? consumer.since;
  if (now - Date.parse(lastContact) > NO_CONTACT_MS) {
    return {
      status: 'down',
      detail: `no answer from the Kafka group coordinator since ${lastContact}`,
      ...facts,
    };
  }
  if (stalled.length > 0) {
    return {
      status: 'degraded',
      detail: `${stalled.length} partition(s) retrying their head message`,
      stalled,
      ...facts,
    };
  }
  return { status: 'up', ...facts };
}

export type KafkaBridgeDependencies = {
  intake: IntakePort;
  eventStore: EventStore;
  events: EventRegistry;
  logger: Logger;
  onLag?: (topic: string, partition: number, lag: number) => void;
  /** Wraps the publisher before it starts: with PROJECTOR=auto, a lease so one replica publishes. */
  placePublisher?: (publisher: NotificationPublisher) => NotificationPublisher;
};

/**
 * Both directions of the Kafka bridge: topics checked (or created), the intake consumer, and the
 * notification publisher. `stop` stops taking intake first, then publishing.
 */
export async function startKafkaBridge(config: KafkaConfig, dependencies: KafkaBridgeDependencies) {
  const { logger } = dependencies;
  const kafka = createKafkaClient({ clientId: config.clientId, brokers: config.brokers, logger });
  const admin = kafka.admin();
  await admin.connect();
  let limits: BridgeTopicLimits;
  try {
    limits = await ensureBridgeTopics(admin, {
      inbound: config.inboundTopic,
      dlq: config.dlqTopic,
      notifications: config.notificationTopic,
      partitions: config.topicPartitions,
      create: config.createTopics,
      retentionMs: config.topicRetentionMs,
      dlqRetentionMs: config.dlqRetentionMs,
    });
  } finally {
    await admin.disconnect();
  }
  for (const warning of limits.warnings) logger.warn({ logCode: 'kafka.dlq_limit_smaller' }, warning);
  for (const warning of limits.retentionWarnings) {
    logger.warn({ logCode: 'kafka.topic_retention_longer' }, warning);
  }

  const inbound = createInboundBridge({
    kafka,
    logger,
    topic: config.inboundTopic,
    dlqTopic: config.dlqTopic,
    groupId: config.groupId,
    intake: dependencies.intake,
    maxMessageBytes: config.maxMessageBytes,
    concurrency: config.intakeConcurrency,
    ...(dependencies.onLag === undefined ? {} : { onLag: dependencies.onLag }),
  });
  const publisher = createNotificationPublisher({
    kafka,
    eventStore: dependencies.eventStore,
    events: dependencies.events,
    logger,
    topic: config.notificationTopic,
  });
  const outbound = dependencies.placePublisher?.(publisher) ?? publisher;
  await outbound.start();
  await inbound.start();

  return {
    inbound,
    outbound,
    async stop(): Promise<void> {
      await inbound.stop();
      await outbound.stop();
    },
    health(): Record<string, ComponentHealth> {
      const kafkaIntake = intakeHealth(
        inbound.status(),
        [...limits.warnings, ...limits.retentionWarnings],
        Date.now(),
      );
      const publisher = outbound.status();
      const consumer = outbound.consumerStatus();
      const lease = publisher.lease;
      const kafkaNotifications: ComponentHealth =
        lease?.role === 'follower'
          ? {
              status: 'up',
              role: 'follower',
              detail: `another replica publishes (lease held by ${lease.holder ?? 'nobody yet'})`,
            }
          : consumer.state === 'running'
            ? { status: 'up', published: outbound.counts().published, parked: consumer.parked }
            : { status: 'degraded', detail: `publisher ${publisher.state} (${consumer.state})` };
      return { kafkaIntake, kafkaNotifications };
    },
  };
}

export type KafkaBridge = Awaited<ReturnType<typeof startKafkaBridge>>;
