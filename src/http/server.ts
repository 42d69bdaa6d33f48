import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyError,
  type FastifyInstance,
  type FastifyPluginAsync,
  type FastifyReply,
  type FastifyRequest,
  LogController,
  type preValidationAsyncHookHandler,
} from 'fastify';
import type { Logger } from 'pino';
import { INPUT_LIMITS } from '../cases/limits.ts';
import { enterSpan, type Span, SpanKind } from '../observability/tracing.ts';
import { type Authenticator, type Caller, ROLES, type Role } from './auth.ts';
import { registerJsonBody } from './body.ts';
import { type HealthProbe, healthRoutes } from './health.ts';
import {
  HttpProblem,
  invalidRequest,
  type Problem,
  ProblemSchema,
  problemErrorHandler,
  sendProblem,
} from './problem.ts';
import { PROBLEM_SCHEMA_ID } from './responses.ts';
import { SHARED_SCHEMAS } from './schemas.ts';

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
    // `x-examples` (named request examples for the OpenAPI) is documentation, not a rule.
    ajv: {
      customOptions: {
        allErrors: true,
        coerceTypes: 'array',
        removeAdditional: false,
        keywords: ['x-examples'],
      },
    },
    bodyLimit: INPUT_LIMITS.maxBytes,
    // Ids are at most 128 characters (routes/common.ts); longer ones never reach a route.
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkProblem,
    clientErrorHandler: clientErrorProblem,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.addSchema({ ...ProblemSchema, $id: PROBLEM_SCHEMA_ID });
  for (const [id, schema] of Object.entries(SHARED_SCHEMAS)) app.addSchema({ ...schema, $id: id });
  // Both hook into the root instance before any route exists (the logger type differs only).
  const root = app as unknown as FastifyInstance;
  registerJsonBody(root);
  const allow = methodsByPath(root);
  addStrictQueryIntegers(root);
  documentRoles(root);

  // A server span per request, continuing the caller's trace; registered first so that every
  // later hook and the handler run inside it. The route is read here once for every hook after
  // it: fastify builds `request.routeOptions` anew on each access.
  app.decorateRequest(ROUTE, null);
  app.decorateRequest(SPAN, null);
  app.addHook('onRequest', (request, _reply, done) => {
    const { url, config } = request.routeOptions;
    const route = url ?? 'unmatched';
    const state = instrumented(request);
    state[ROUTE] = { template: route, config };
    const traceparent = request.headers.traceparent;
    enterSpan(
      `HTTP ${request.method} ${route}`,
      {
        kind: SpanKind.SERVER,
        parent: typeof traceparent === 'string' ? traceparent : undefined,
        attributes: { 'http.request.method': request.method, 'http.route': route },
      },
      (span) => {
        state[SPAN] = span;
        done();
      },
    );
  });
  // One synchronous hook for the end of every request: the span, then the request metrics
  // (labelled by route template, never by raw URL, so ids do not explode the series count).
  const metrics = dependencies.metrics;
  app.addHook('onResponse', (request, reply, done) => {
    const state = instrumented(request);
    const span = state[SPAN];
    span?.setAttribute('http.response.status_code', reply.statusCode);
    span?.end();
    metrics?.request(
      state[ROUTE]?.template ?? request.routeOptions.url ?? 'unmatched',
      request.method,
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  // No route: 405 with Allow when the path exists under other methods, else 404.
  const unrouted = (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '';
    const methods = allow(path);
    if (methods.length > 0) {
      return sendProblem(reply.header('allow', methods.join(', ')), {
        type: 'urn:kyc-case-service:problem:method.not_allowed',
        title: `${request.method} is not allowed on ${path.slice(0, 200)}`,
        status: 405,
        code: 'method.not_allowed',
        detail: `Allowed: ${methods.join(', ')}.`,
      });
    }
    return sendProblem(reply, {
      type: 'urn:kyc-case-service:problem:route.not_found',
      title: `No route ${request.method} ${path.slice(0, 200)}`,
      status: 404,
      code: 'route.not_found',
    });
  };
  app.setNotFoundHandler(unrouted);
  // Fastify reads (and may refuse) a body even when no route matches; the missing route is the
  // answer then, not the body. A missing key stays a 401.
  app.setErrorHandler((error: FastifyError, request, reply) =>
    request.is404 && !(error instanceof HttpProblem && [401, 403].includes(error.problem.status))
      ? unrouted(request, reply)
      : problemErrorHandler(error, request, reply),
  );

  await app.register(swagger, {
    // Shared schemas appear under their own $id (components/schemas/Problem), not def-0.
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'KYC/KYB case service',
        description:
          'Event-sourced KYC/KYB case management: intake, cases, persons, companies and documents.\n\n' +
          'Access: with API_KEYS set (name:role:secret entries), press Authorize and give a secret, as ' +
          'Bearer or X-API-Key. Roles, each allowed what the ones before it are: reader (reads), ' +
          'operator (intake, documents, relationship end, erasure requests), reviewer (assignment, ' +
          'decisions, closing), approver (reopening, risk overrides, export, one subject’s erasure), ' +
          'admin (operations, legal holds, retention extensions). Each operation lists the roles that ' +
          'may call it. Without API_KEYS (the embedded default) the service listens on loopback only ' +
          'and needs no key.',
        version: dependencies.version ?? '0.1.0',
      },
      // Relative: the service that serves this document.
      servers: [{ url: '/', description: 'This service' }],
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'The secret of a key in API_KEYS, as `Authorization: Bearer <secret>`',
          },
          apiKey: {
            type: 'apiKey',
            in: 'header',
            name: 'X-API-Key',
            description: 'The secret of a key in API_KEYS, as `X-API-Key: <secret>`',
          },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
  // A browser pointed at the service lands on its documentation.
  app.get('/', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
    reply.redirect('/docs', 302),
  );

  app.decorateRequest('caller', null as unknown as Caller);
  app.addHook('onRequest', (request, _reply, done) => {
    const config = instrumented(request)[ROUTE]?.config ?? request.routeOptions.config;
    if (config.public === true || request.url.startsWith('/docs')) return done();
    const needed = neededRole(config.role, request.method);
    try {
      request.caller = dependencies.auth.authorize(request, needed);
    } catch (error) {
      return done(error as Error);
    }
    done();
  });

  if (metrics !== undefined) {
    app.get('/metrics', { config: { public: true }, schema: { hide: true } }, async (_request, reply) =>
      reply.type('text/plain; version=0.0.4; charset=utf-8').send(await metrics.scrape()),
    );
  }

  await app.register(healthRoutes(dependencies.health, dependencies.serviceName ?? 'kyc-case-service'));
  for (const resource of dependencies.resources ?? []) await app.register(resource);
  return app as unknown as AppServer;
}

const MAX_PARAM_LENGTH = 128;

/** Fastify's refusals before routing (bad percent-encoding, over-long parameters) as problems. */
function frameworkProblem(error: Error & { code?: string }, _request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    return sendProblem(
      reply,
      invalidRequest([{ path: 'params', message: `must be at most ${MAX_PARAM_LENGTH} characters each` }])
        .problem,
    );
  }
  if (error.code === 'FST_ERR_BAD_URL') {
    return sendProblem(
      reply,
      invalidRequest(
        [{ path: 'url', message: 'is not a valid percent-encoded UTF-8 path' }],
        'request.bad_url',
      ).problem,
    );
  }
  reply.log.error({ err: error }, 'request failed before routing');
  return sendProblem(reply, {
    type: 'urn:kyc-case-service:problem:internal',
    title: 'Internal error',
    status: 500,
    code: 'internal',
  });
}

/**
 * Requests Node's HTTP parser refuses (headers over 16 KiB, malformed request lines, timeouts)
 * never reach fastify: they are answered on the socket, still as problem+json, and the
 * connection is closed.
 */
function clientErrorProblem(error: Error & { code?: string }, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, title]: [number, string, string] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'request.headers_too_large', 'The request line and headers exceed 16 KiB']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request.timeout', 'The request was not received in time']
        : [400, 'request.malformed', 'The request is not valid HTTP/1.1'];
  const problem: Problem = { type: `urn:kyc-case-service:problem:${code}`, title, status, code };
  const body = JSON.stringify(problem);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/problem+json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Remembers the methods of every route as it is added, so that a request whose path exists under
 * other methods gets 405 with `Allow` instead of 404. Must be called before any route is added.
 */
function methodsByPath(app: FastifyInstance): (path: string) => string[] {
  const routes = new Map<string, { pattern: RegExp; methods: Set<string> }>();
  app.addHook('onRoute', (route) => {
    const entry = routes.get(route.url) ?? {
      pattern: new RegExp(
        `^${route.url
          .split('/')
          .map((segment) =>
            segment === '*' ? '.*' : segment.startsWith(':') ? '[^/]+' : escapeRegExp(segment),
          )
          .join('/')}$`,
      ),
      methods: new Set<string>(),
    };
    for (const method of [route.method].flat()) {
      entry.methods.add(method);
      if (method === 'GET') entry.methods.add('HEAD');
    }
    routes.set(route.url, entry);
  });
  return (path) => {
    const methods = new Set<string>();
    for (const { pattern, methods: found } of routes.values()) {
      if (pattern.test(path)) for (const method of found) methods.add(method);
    }
    return [...methods].sort();
  };
}

/** The role a route needs: its own, else reader for reads and operator for the rest. */
function neededRole(role: Role | undefined, method: string): Role {
  return role ?? (method === 'GET' || method === 'HEAD' ? 'reader' : 'operator');
}

/**
 * Opens each operation's description in the OpenAPI with the roles that may call it, read off the
 * same route config the authorization uses, so Swagger UI says which key to authorize with.
 */
function documentRoles(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const schema = route.schema as { hide?: boolean; description?: string } | undefined;
    if (schema === undefined || schema.hide === true) return;
    const needed = neededRole(route.config?.role, [route.method].flat()[0] ?? 'GET');
    const access =
      route.config?.public === true
        ? 'No key needed.'
        : `Roles: ${ROLES.slice(ROLES.indexOf(needed)).join(', ')} (a key from API_KEYS; without API_KEYS no key is needed).`;
    route.schema = {
      ...schema,
      description: schema.description ? `${access}\n\n${schema.description}` : access,
      // A public route takes no key: Swagger UI shows it without a lock and sends none.
      ...(route.config?.public === true ? { security: [] } : {}),
    };
  });
}

type SchemaProperties = { properties?: Record<string, { type?: unknown }> };

/**
 * Query parameters declared as integers must be written as decimal digits. The validator's
 * coercion would otherwise accept "Infinity", "1e309", "0x10" or " 5", and ajv skips `maximum`
 * for a non-finite number, so `limit=Infinity` would pass as unbounded. The check is added to
 * each route that declares such a parameter, as the route is added, so other routes pay nothing.
 */
function addStrictQueryIntegers(app: FastifyInstance): void {
  app.addHook('onRoute', (route) => {
    const properties = (route.schema?.querystring as SchemaProperties | undefined)?.properties ?? {};
    const names = Object.keys(properties).filter((name) => properties[name]?.type === 'integer');
    if (names.length === 0) return;
    const check: preValidationAsyncHookHandler = async (request) => {
      const query = request.query as Record<string, unknown>;
      const violations = [];
      for (const name of names) {
        if (query[name] === undefined) continue;
        const values = [query[name]].flat();
        if (values.some((value) => typeof value !== 'string' || !/^-?[0-9]{1,15}$/.test(value))) {
          violations.push({ path: `querystring/${name}`, message: 'must be an integer in decimal digits' });
        }
      }
      if (violations.length > 0) throw invalidRequest(violations);
    };
    route.preValidation = [...[route.preValidation ?? []].flat(), check];
  });
}

/** What the first hook records on each request for the hooks after it. */
const ROUTE = Symbol('route');
const SPAN = Symbol('server span');
type Instrumented = {
  [ROUTE]: { template: string; config: FastifyRequest['routeOptions']['config'] } | null;
  [SPAN]: Span | null;
};
const instrumented = (request: FastifyRequest) => request as FastifyRequest & Instrumented;
