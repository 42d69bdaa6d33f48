import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { Operations } from '../ports.ts';
import { HttpProblem } from '../problem.ts';
import { AUTH, BODY, PARAMETERS, problemResponses } from '../responses.ts';

const Anything = Type.Object({}, { additionalProperties: true });

function bridgeOff(): HttpProblem {
  return new HttpProblem(409, 'kafka.bridge_off', 'The Kafka bridge is off', {
    detail: 'Parked notifications and dead letters exist only when KAFKA_BROKERS is set.',
  });
}

function projectorOff(): HttpProblem {
  return new HttpProblem(409, 'projector.off', 'No projector runs in this replica', {
    detail: 'It was started with PROJECTOR=off: retry, skip and rebuild on the replica that projects.',
  });
}

/** Operations routes (admin role): projector status and repair, parked notifications. */
export function adminRoutes(operations: Operations) {
  return async function admin(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const config = { role: 'admin' as const };
    const tags = ['Operations'];

    app.get(
      '/api/v1/admin/projections',
      {
        config,
        schema: {
          tags,
          summary: 'Projector state, lag, failure and rebuilds',
          response: { 200: Anything, ...problemResponses(AUTH) },
        },
      },
      async () => operations.projections(),
    );

    app.post(
      '/api/v1/admin/projections/retry',
      {
        config,
        schema: {
          tags,
          summary: 'Retry the event that stopped the projector',
          response: { 202: Anything, ...problemResponses(AUTH, BODY, { 409: ['projector.off'] }) },
        },
      },
      async (_request, reply) => {
        if (!operations.retryProjections()) throw projectorOff();
        return reply.status(202).send({ retrying: true });
      },
    );

    app.post(
      '/api/v1/admin/projections/skip',
      {
        config,
        schema: {
          tags,
          summary: 'Skip the event that stopped the projector (recorded, and skipped by rebuilds too)',
          body: Type.Object(
            {
              event_id: Type.String({ minLength: 1 }),
              reason: Type.String({ minLength: 3, maxLength: 1_000 }),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Anything,
            ...problemResponses(AUTH, BODY, {
              409: ['projector.off', 'projection.not_stopped_at_event'],
            }),
          },
        },
      },
      async (request) => {
        const skipped = await operations.skipEvent(request.body.event_id, {
          reason: request.body.reason,
          operator: request.caller.name,
        });
        if (!skipped) throw projectorOff();
        return { skipped: request.body.event_id };
      },
    );

    app.post(
      '/api/v1/admin/projections/:name/rebuild',
      {
        config,
        schema: {
          tags,
          summary: 'Rebuild one read model into a shadow collection and swap when caught up',
          params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }),
          response: {
            202: Anything,
            ...problemResponses(AUTH, BODY, PARAMETERS, { 409: ['projection.rebuild_refused'] }),
          },
        },
      },
      async (request, reply) => {
        const outcome = operations.startRebuild(request.params.name);
        if (!outcome.started) {
          throw new HttpProblem(409, 'projection.rebuild_refused', outcome.reason ?? 'rebuild refused');
        }
        return reply.status(202).send({ rebuilding: request.params.name });
      },
    );

    app.get(
      '/api/v1/admin/notifications/parked',
      {
        config,
        schema: {
          tags,
          summary: 'Notifications parked after their publish attempts ran out, oldest first',
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000, default: 100 })),
          }),
          response: {
            200: Type.Array(Anything),
            ...problemResponses(AUTH, PARAMETERS, { 409: ['kafka.bridge_off'] }),
          },
        },
      },
      async (request) => {
        const parked = await operations.parked(request.query.limit ?? 100);
        if (parked === undefined) throw bridgeOff();
        return parked;
      },
    );

    app.get(
      '/api/v1/admin/dlq',
      {
        config,
        schema: {
          tags,
          summary: 'Intake messages the Kafka bridge refused, with code, reason and violations',
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 50 })),
          }),
          response: {
            200: Anything,
            ...problemResponses(AUTH, PARAMETERS, { 409: ['kafka.bridge_off'] }),
          },
        },
      },
      async (request) => {
        const found = await operations.deadLetters(request.query.limit ?? 50);
        if (found === undefined) throw bridgeOff();
        return found;
      },
    );

    app.post(
      '/api/v1/admin/notifications/parked/replay',
      {
        config,
        schema: {
          tags,
          summary: 'Send parked notifications back to the publisher (all, or the first stop_at)',
          querystring: Type.Object({
            stop_at: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          }),
          response: {
            202: Anything,
            ...problemResponses(AUTH, BODY, PARAMETERS, { 409: ['kafka.bridge_off'] }),
          },
        },
      },
      async (request, reply) => {
        if (!(await operations.replayParked(request.query.stop_at))) throw bridgeOff();
        return reply.status(202).send({ replaying: request.query.stop_at ?? 'all' });
      },
    );
  };
}
