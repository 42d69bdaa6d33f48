import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import type { Logger } from 'pino';
import type { EventRegistry } from '../eventsourcing/core/event-definitions.ts';
import type { EventStore } from '../eventsourcing/eventstore/port.ts';
import type { ComponentHealth } from '../http/health.ts';
import { createInboundBridge, type IntakePort } from '../kafka/inbound.ts';
import { createNotificationPublisher } from '../kafka/outbound.ts';
import { type BridgeTopicLimits, ensureBridgeTopics } from '../kafka/topics.ts';
import type { KafkaConfig } from './config.ts';

export type KafkaBridgeDependencies = {
  intake: IntakePort;
  eventStore: EventStore;
  events: EventRegistry;
  logger: Logger;
  onLag?: (topic: string, partition: number, lag: number) => void;
};

/**
 * Both directions of the Kafka bridge: topics checked (or created), the intake consumer, and the
 * notification publisher. `stop` stops taking intake first, then publishing.
 */
export async function startKafkaBridge(config: KafkaConfig, dependencies: KafkaBridgeDependencies) {
  const { logger } = dependencies;
  const kafka = new Kafka({
    clientId: config.clientId,
    brokers: [...config.brokers],
    logLevel: kafkaLogLevel.WARN,
    logCreator: () => (entry) =>
      logger.warn({ kafka: entry.namespace, ...entry.log }, `kafka: ${entry.log.message}`),
  });
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
    });
  } finally {
    await admin.disconnect();
  }
  for (const warning of limits.warnings) logger.warn({ logCode: 'kafka.dlq_limit_smaller' }, warning);

  const inbound = createInboundBridge({
    kafka,
    logger,
    topic: config.inboundTopic,
    dlqTopic: config.dlqTopic,
    groupId: config.groupId,
    intake: dependencies.intake,
    maxMessageBytes: config.maxMessageBytes,
    ...(dependencies.onLag === undefined ? {} : { onLag: dependencies.onLag }),
  });
  const outbound = createNotificationPublisher({
    kafka,
    eventStore: dependencies.eventStore,
    events: dependencies.events,
    logger,
    topic: config.notificationTopic,
  });
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
      const intake = inbound.status();
      const { consumer, stalled } = intake;
      const facts = {
        consumer,
        deadLettered: intake.deadLettered,
        deadLetteredReduced: intake.deadLetteredReduced,
        auditSkipped: intake.auditSkipped,
        ...(limits.warnings.length === 0 ? {} : { warnings: limits.warnings }),
      };
      const lastCrash = consumer.lastCrash === undefined ? '' : `; last error: ${consumer.lastCrash.error}`;
      const kafkaIntake: ComponentHealth =
        consumer.state !== 'running'
          ? {
              status: 'down',
              detail: `consumer ${consumer.state} since ${consumer.since}${lastCrash}`,
              ...facts,
            }
          : stalled.length > 0
            ? {
                status: 'degraded',
                detail: `${stalled.length} partition(s) retrying their head message`,
                stalled,
                ...facts,
              }
            : { status: 'up', ...facts };
      const publisher = outbound.status();
      const kafkaNotifications: ComponentHealth =
        publisher.consumer?.state === 'running'
          ? { status: 'up', published: publisher.published, parked: publisher.consumer.parked }
          : { status: 'degraded', detail: `publisher ${publisher.consumer?.state ?? 'not started'}` };
      return { kafkaIntake, kafkaNotifications };
    },
  };
}

export type KafkaBridge = Awaited<ReturnType<typeof startKafkaBridge>>;
