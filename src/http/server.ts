import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

export type ServerDependencies = {
  logger: Logger;
};

/** Builds the HTTP server with every route registered; the caller decides when to listen. */
export function buildServer(dependencies: ServerDependencies): FastifyInstance {
  const app = Fastify({ loggerInstance: dependencies.logger, disableRequestLogging: true });
  app.get('/health', async () => ({ status: 'ok' }));
  return app as unknown as FastifyInstance;
}
