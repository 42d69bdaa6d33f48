import { pino } from 'pino';
import { createAuthenticator } from '../http/auth.ts';
import { buildServer } from '../http/server.ts';
import { loadConfig } from './config.ts';

/** Composition root: reads configuration once, builds every part, and closes them in reverse order. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const logger = pino({ level: config.logLevel });
  const auth = createAuthenticator(config.apiKeys);
  if (!auth.enabled) logger.warn('API_KEYS is not set: no authentication, serving on loopback only');
  const server = await buildServer({ logger, auth, health: async () => ({}) });
  const url = await server.listen({ host: config.host, port: config.port });
  logger.info({ url }, 'service listening');

  const shutdown = async (signal: string): Promise<void> => {
    logger.info({ signal }, 'shutting down');
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
