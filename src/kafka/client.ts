import { Kafka, logLevel } from 'kafkajs';

/** Structured logger (pino's call shape): the client's own warnings go there. */
type Logger = { warn(fields: object, message: string): void };

/**
 * The one Kafka client of a process, its warnings routed to our logger (the client's own
 * console output would bypass log levels and trace fields).
 */
export function createKafkaClient(options: { clientId: string; brokers: readonly string[]; logger: Logger }) {
  const { logger } = options;
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: logLevel.WARN,
    logCreator: () => (entry) =>
      logger.warn({ kafka: entry.namespace, ...entry.log }, `kafka: ${entry.log.message}`),
  });
}
