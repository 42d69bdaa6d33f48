import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import { problemResponses } from './responses.ts';

export type ComponentHealth = { status: 'up' | 'down' | 'degraded'; detail?: string } & Record<
  string,
  unknown
>;

/** What readiness asks of the rest of the service: each component says whether it can serve. */
export type HealthProbe = () => Promise<Record<string, ComponentHealth>>;

const ComponentSchema = Type.Object(
  { status: Type.Enum(['up', 'down', 'degraded']), detail: Type.Optional(Type.String()) },
  { additionalProperties: true },
);
const HealthSchema = Type.Object(
  {
    status: Type.Enum(['ok', 'unavailable']),
    service: Type.String(),
    components: Type.Record(Type.String(), ComponentSchema),
  },
  { additionalProperties: false },
);

/**
 * `/health/live`: the process answers. `/health/ready` and `/health`: every component is up;
 * otherwise 503 with what is down, so an orchestrator stops routing here and an operator sees why.
 */
export function healthRoutes(probe: HealthProbe, service: string) {
  return async function health(app: FastifyInstance): Promise<void> {
    app.get(
      '/health/live',
      {
        config: { public: true },
        schema: {
          operationId: 'live',
          tags: ['Monitoring'],
          summary: 'Liveness: the process answers',
          response: {
            200: Type.Object({ status: Type.Literal('ok') }, { additionalProperties: false }),
            ...problemResponses(),
          },
        },
      },
      async () => ({ status: 'ok' as const }),
    );
    const ready = async (_request: unknown, reply: { status(code: number): unknown }) => {
      const components = await probe();
      const allUp = Object.values(components).every((component) => component.status !== 'down');
      reply.status(allUp ? 200 : 503);
      return { status: allUp ? ('ok' as const) : ('unavailable' as const), service, components };
    };
    const schema = (operationId: string, summary: string) => ({
      operationId,
      tags: ['Monitoring'],
      summary,
      response: {
        200: { ...HealthSchema, description: 'Every component can serve' },
        503: { ...HealthSchema, description: 'A component is down: each one says why' },
        ...problemResponses(),
      },
    });
    app.get(
      '/health',
      { config: { public: true }, schema: schema('health', 'Readiness (the same as /health/ready)') },
      ready,
    );
    app.get(
      '/health/ready',
      { config: { public: true }, schema: schema('ready', 'Readiness: every component can serve') },
      ready,
    );
  };
}
