import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyInstance, type FastifyPluginAsync, LogController } from 'fastify';
import type { Logger } from 'pino';
import { enterSpan, type Span, SpanKind } from '../observability/tracing.ts';
import type { Authenticator, Caller, Role } from './auth.ts';
import { type HealthProbe, healthRoutes } from './health.ts';
import { problemErrorHandler, sendProblem } from './problem.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Minimum role a route needs; GET defaults to reader, other methods to operator. */
    role?: Role;
    /** Health and documentation routes need no key. */
    public?: boolean;
  }
  interface FastifyRequest {
    caller: Caller;
  }
}

export type ServerDependencies = {
  logger: Logger;
  auth: Authenticator;
  health: HealthProbe;
  serviceName?: string;
  version?: string;
  /** Resource plugins (cases, documents, ...), registered under the API prefix by their own paths. */
  resources?: readonly FastifyPluginAsync[];
  /** Request metrics and the Prometheus text served at `GET /metrics`. */
  metrics?: {
    request(route: string, method: string, status: number, seconds: number): void;
    scrape(): Promise<string>;
  };
};

export type AppServer = FastifyInstance;

/** Builds the HTTP server with every route registered; the caller decides when to listen. */
export async function buildServer(dependencies: ServerDependencies): Promise<AppServer> {
  const app = Fastify({
    loggerInstance: dependencies.logger,
    // Request lines are left to the access metrics; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    // Report every violation of a request, not only the first.
    ajv: { customOptions: { allErrors: true, coerceTypes: 'array', removeAdditional: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setErrorHandler(problemErrorHandler);

  // A server span per request, continuing the caller's trace; registered first so that every
  // later hook and the handler run inside it.
  const spans = new WeakMap<object, Span>();
  app.addHook('onRequest', (request, _reply, done) => {
    const traceparent = request.headers.traceparent;
    const route = request.routeOptions.url ?? 'unmatched';
    const span = enterSpan(
      `HTTP ${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        parent: typeof traceparent === 'string' ? traceparent : undefined,
        attributes: { 'http.request.method': request.method, 'http.route': route },
      },
      done,
    );
    spans.set(request, span);
  });
  app.addHook('onResponse', async (request, reply) => {
    const span = spans.get(request);
    span?.setAttribute('http.response.status_code', reply.statusCode);
    span?.end();
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, {
      type: 'urn:kyc-case-service:problem:route.not_found',
      title: `No route ${request.method} ${request.url.split('?')[0]}`,
      status: 404,
      code: 'route.not_found',
    }),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'KYC/KYB case service',
        description:
          'Event-sourced KYC/KYB case management: intake, cases, persons, companies and documents.',
        version: dependencies.version ?? '0.1.0',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());

  app.decorateRequest('caller', null as unknown as Caller);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config.public === true || request.url.startsWith('/docs')) return;
    const needed =
      config.role ?? (request.method === 'GET' || request.method === 'HEAD' ? 'reader' : 'operator');
    request.caller = dependencies.auth.authorize(request, needed);
  });

  const metrics = dependencies.metrics;
  if (metrics !== undefined) {
    // Labelled by route template, never by raw URL, so ids do not explode the series count.
    app.addHook('onResponse', async (request, reply) => {
      metrics.request(
        request.routeOptions.url ?? 'unmatched',
        request.method,
        reply.statusCode,
        reply.elapsedTime / 1000,
      );
    });
    app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(await metrics.scrape()),
    );
  }

  await app.register(healthRoutes(dependencies.health, dependencies.serviceName ?? 'kyc-case-service'));
  for (const resource of dependencies.resources ?? []) await app.register(resource);
  return app as unknown as AppServer;
}
