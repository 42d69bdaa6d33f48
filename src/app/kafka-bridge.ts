import { Kafka, logLevel as kafkaLogLevel } from 'kafkajs';
import type { Logger } from 'pino';
import type { EventRegistry } from '../eventsourcing/core/event-definitions.ts';
import type { EventStore } from '../eventsourcing/eventstore/port.ts';
import type { ComponentHealth } from '../http/health.ts';
import { createInboundBridge, type IntakePort } from '../kafka/inbound.ts';
import { createNotificationPublisher } from '../kafka/outbound.ts';
import { ensureTopics } from '../kafka/topics.ts';
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
  try {
    await ensureTopics(
      admin,
      [
        { topic: config.inboundTopic, partitions: config.topicPartitions },
        { topic: config.dlqTopic, partitions: 1 },
        { topic: config.notificationTopic, partitions: config.topicPartitions },
      ],
      config.createTopics,
    );
  } finally {
    await admin.disconnect();
  }

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
      const { running, stalled } = inbound.status();
      const kafkaIntake: ComponentHealth = !running
        ? { status: 'down', detail: 'not consuming' }
        : stalled.length > 0
          ? {
              status: 'degraded',
              detail: `${stalled.length} partition(s) retrying their head message`,
              stalled,
            }
          : { status: 'up' };
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
