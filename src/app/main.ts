import { traceFields } from '../observability/tracing.ts';
import { loadConfig } from './config.ts';
import { chooseLogFormat, createLogger } from './logging.ts';
import { startService } from './service.ts';
import { startTelemetry } from './telemetry.ts';

/** Entry point of `make run`: configuration, logger, the service, and a clean stop on signals. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  // Without an exporter the SDK is not started: spans stay no-ops (cheap), and W3C trace context
  // still travels from headers into event metadata and on to the notification headers.
  const telemetry =
    config.otlpEndpoint === undefined
      ? { shutdown: async () => {} }
      : startTelemetry({ serviceName: 'kyc-case-service', otlpEndpoint: config.otlpEndpoint });
  // Every line logged inside a span carries its trace and span ids.
  const terminal = process.stdout.isTTY === true;
  const logger = createLogger({
    level: config.logLevel,
    format: chooseLogFormat(config.logFormat, terminal),
    mixin: traceFields,
    // Colour codes only where a terminal reads them, not in a file with LOG_FORMAT=pretty.
    colorize: terminal,
  });
  const service = await startService(config, logger);
  logger.info({ url: service.url }, 'service listening');

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const started = performance.now();
    await service.stop();
    logger.info({ ms: Math.round(performance.now() - started) }, 'stopped');
    await telemetry.shutdown();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
