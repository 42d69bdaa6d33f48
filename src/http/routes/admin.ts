import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import type { Operations, ProcessorAction } from '../ports.ts';
import { HttpProblem } from '../problem.ts';
import { AUTH, BODY, PARAMETERS, problemResponses } from '../responses.ts';

const open = { additionalProperties: true } as const;
const closed = { additionalProperties: false } as const;

/** The projector's status: the fields a client relies on are declared; the details stay open. */
const ProjectionsStatus = Type.Object(
  {
    state: Type.String({ description: 'The projector state; `off` when another replica projects' }),
    healthy: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'False while an event stops a projection; null when another replica projects',
    }),
    failure: Type.Union([Type.Object({}, open), Type.Null()], {
      description: 'The first event that stopped a projection, with the projection and the reason',
    }),
    projections: Type.Array(
      Type.Object(
        { name: Type.String(), version: Type.Integer(), rebuilding: Type.Boolean(), stopped: Type.Boolean() },
        open,
      ),
    ),
    lag: Type.Object({}, { ...open, description: 'How far each projection is behind the log' }),
    readiness: Type.Object(
      { status: Type.Enum(['up', 'down', 'degraded']) },
      { ...open, description: 'The read-model verdict /health/ready uses' },
    ),
  },
  { ...open, description: 'Projector state, lag, failure and rebuilds' },
);

const Position = Type.Union([Type.Object({ commit: Type.String(), prepare: Type.String() }), Type.Null()], {
  description: 'Where in `$all` (commit and prepare positions as decimal strings)',
});

const ProcessorFailure = Type.Object(
  {
    eventId: Type.String(),
    streamId: Type.String(),
    type: Type.String(),
    position: Position,
    reason: Type.String(),
    at: Type.String({ format: 'date-time' }),
    action: Type.Enum(['stopped', 'parked'], {
      description: 'A projector stopped in front of it; a reactor parked it and went on',
    }),
  },
  open,
);

/** One processor: the fields a client relies on are declared; engine details stay open. */
const ProcessorReport = Type.Object(
  {
    name: Type.String(),
    kind: Type.Enum(['projector', 'reactor']),
    state: Type.Enum(['running', 'stopped', 'failed'], {
      description: '`failed`: events wait for an operator (retry, skip or rebuild)',
    }),
    phase: Type.String({ description: 'The engine state: catching_up, live, retrying, reconnecting …' }),
    position: Position,
    handledEvents: Type.Integer({ minimum: 0 }),
    failures: Type.Array(ProcessorFailure),
    rebuilds: Type.Array(Type.Object({}, open)),
    lag: Type.Union([Type.Object({}, open), Type.Null()], {
      description: 'Events it handles not handled yet and the age of the oldest; null when unknown',
    }),
    rebuilding: Type.Boolean({ description: 'A rebuild started through this API is running' }),
    rebuildError: Type.Union([Type.String(), Type.Null()], {
      description: 'Why the last rebuild started through this API failed (null: it did not)',
    }),
    rebuildSupport: Type.Object(
      { supported: Type.Boolean(), reason: Type.Optional(Type.String()) },
      { ...open, description: 'Whether rebuild can run here, and why not' },
    ),
    details: Type.Object({}, open),
    lease: Type.Object(
      {
        mode: Type.Enum(['auto', 'on', 'off'], {
          description: 'PROJECTOR: auto places it by lease; on runs it here always; off never',
        }),
        role: Type.Enum(['leader', 'follower', 'none'], {
          description:
            'leader: runs here; follower: another replica holds the lease (or none yet); none: no lease (PROJECTOR=on runs it here, off never)',
        }),
        holder: Type.Union([Type.String(), Type.Null()], { description: 'The replica holding the lease' }),
        token: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
          description: 'Fencing token of the lease: raised by every acquisition',
        }),
        expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
          description: 'When the lease ends unless renewed, by the clock of its holder',
        }),
      },
      { ...closed, description: 'Who runs the processor among the replicas' },
    ),
  },
  { ...open, description: 'A processor: projector (read models) or reactor (side effects)' },
);

const ProcessorName = Type.Object({ name: Type.String({ minLength: 1, maxLength: 128 }) });

const ParkedNotification = Type.Object(
  {
    event_id: Type.String(),
    stream: Type.String(),
    revision: Type.String({ pattern: '^[0-9]+$' }),
    type: Type.String(),
    reason: Type.String(),
    parked_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
    data: Type.Unknown(),
  },
  open,
);

const DeadLetters = Type.Object(
  {
    total: Type.Integer({ minimum: 0, description: 'Messages on the dead-letter topic' }),
    letters: Type.Array(
      Type.Object({}, { ...open, description: 'A refused intake message with code, reason and violations' }),
    ),
  },
  closed,
);

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

/** The answer of a per-processor action, or the problem that says why there is none. */
function outcomeOf<T>(name: string, action: ProcessorAction<T>): T {
  if (action.outcome === 'not_found') {
    throw new HttpProblem(404, 'processor.not_found', `No processor named "${name}"`, {
      detail: `Processors: ${action.known.join(', ') || 'none'}`,
    });
  }
  if (action.outcome === 'refused') throw new HttpProblem(409, action.code, action.reason);
  return action;
}

/**
 * Operations routes (admin role): each processor by name (status, retry, skip, rebuild); the
 * older `/projections` routes over the read models as a whole (kept for existing clients);
 * parked notifications and dead letters.
 */
export function adminRoutes(operations: Operations) {
  return async function admin(root: FastifyInstance): Promise<void> {
    const app = root.withTypeProvider<TypeBoxTypeProvider>();
    const config = { role: 'admin' as const };
    const tags = ['Operations'];

    app.get(
      '/api/v1/admin/processors',
      {
        config,
        schema: {
          operationId: 'listProcessors',
          tags,
          summary: 'Every processor (projectors and reactors): state, position, lag and failures',
          description:
            "One entry per processor this replica knows: a projector per read model, and the notification publisher when the Kafka bridge is on. `lease` says who runs each among the replicas: with PROJECTOR=auto the replica holding its lease (`role` leader here, follower elsewhere, `holder` naming the leader); with PROJECTOR=on this replica, without a lease (`role` none). State, failures and rebuilds are this replica's: ask the leader for those of a processor it runs.",
          response: {
            200: Type.Object({ processors: Type.Array(ProcessorReport) }, closed),
            ...problemResponses(AUTH),
          },
        },
      },
      async () => ({ processors: (await operations.processors()) as Static<typeof ProcessorReport>[] }),
    );

    app.get(
      '/api/v1/admin/processors/:name',
      {
        config,
        schema: {
          operationId: 'getProcessor',
          tags,
          summary: 'One processor: state, position, lag, failures and rebuilds',
          description:
            'The events it failed on (id, type, reason), rebuild progress, whether it can be rebuilt here, and its `lease` (mode, role, holder, fencing token, end). On a follower (PROJECTOR=auto) the processor is stopped by design: the replica in `lease.holder` runs it.',
          params: ProcessorName,
          response: {
            200: ProcessorReport,
            ...problemResponses(AUTH, PARAMETERS, { 404: ['processor.not_found'] }),
          },
        },
      },
      async (request) =>
        outcomeOf(request.params.name, await operations.processor(request.params.name)).report as Static<
          typeof ProcessorReport
        >,
    );

    app.post(
      '/api/v1/admin/processors/:name/retry',
      {
        config,
        schema: {
          operationId: 'retryProcessor',
          tags,
          summary: 'Try the events the processor failed on again (a reactor replays what it parked)',
          description:
            'After a fix: a stopped projector resumes at the event it stopped on; the notification publisher sends its parked notifications again. Acts on this replica only; nothing failed answers 202 with no events.',
          params: ProcessorName,
          response: {
            202: Type.Object(
              {
                processor: Type.String(),
                events: Type.Array(Type.String(), { description: 'The failed events retried' }),
              },
              closed,
            ),
            ...problemResponses(AUTH, BODY, PARAMETERS, { 404: ['processor.not_found'] }),
          },
        },
      },
      async (request, reply) => {
        const { name } = request.params;
        const { events } = outcomeOf(name, await operations.retryProcessor(name));
        return reply.status(202).send({ processor: name, events });
      },
    );

    app.post(
      '/api/v1/admin/processors/:name/skip',
      {
        config,
        schema: {
          operationId: 'skipProcessorEvent',
          tags,
          summary: 'Pass over one event the processor failed on, for good (recorded with who and why)',
          description:
            'The skip is stored in the event store (stream `projection-skips`) with the caller and the reason, so it holds across restarts and replicas. 409 `processor.not_failed_at_event` when the processor has not failed on that event.',
          params: ProcessorName,
          body: Type.Object(
            {
              event_id: Type.String({ minLength: 1, maxLength: 128 }),
              reason: Type.String({ minLength: 3, maxLength: 1_000 }),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object(
              { processor: Type.String(), skipped: Type.String({ description: 'The event id skipped' }) },
              closed,
            ),
            ...problemResponses(AUTH, BODY, PARAMETERS, {
              404: ['processor.not_found'],
              409: ['processor.not_failed_at_event'],
            }),
          },
        },
      },
      async (request) => {
        const { name } = request.params;
        const { skipped } = outcomeOf(
          name,
          await operations.skipProcessorEvent(name, request.body.event_id, {
            reason: request.body.reason,
            operator: request.caller.name,
          }),
        );
        return { processor: name, skipped };
      },
    );

    app.post(
      '/api/v1/admin/processors/:name/rebuild',
      {
        config,
        schema: {
          operationId: 'rebuildProcessor',
          tags,
          summary: "Rebuild a projector's read models into shadow collections and swap when caught up",
          description:
            'Answers 202 at once; follow the progress with GET /api/v1/admin/processors/{name}. The old collections serve until the swap. 409 for a reactor (nothing to rebuild), while a rebuild runs, or on a follower replica (PROJECTOR=auto): the message names the leader to ask.',
          params: ProcessorName,
          response: {
            202: Type.Object({ rebuilding: Type.String({ description: 'The processor' }) }, closed),
            ...problemResponses(AUTH, BODY, PARAMETERS, {
              404: ['processor.not_found'],
              409: ['processor.rebuild_not_supported', 'processor.rebuild_refused'],
            }),
          },
        },
      },
      async (request, reply) => {
        const { name } = request.params;
        const { rebuilding } = outcomeOf(name, operations.rebuildProcessor(name));
        return reply.status(202).send({ rebuilding });
      },
    );

    app.get(
      '/api/v1/admin/projections',
      {
        config,
        schema: {
          operationId: 'getProjections',
          tags,
          summary:
            'Compatibility: the read models as one projector (state, lag, failures, rebuilds); see /processors',
          response: { 200: ProjectionsStatus, ...problemResponses(AUTH) },
        },
      },
      async () => (await operations.projections()) as Static<typeof ProjectionsStatus>,
    );

    app.post(
      '/api/v1/admin/projections/retry',
      {
        config,
        schema: {
          operationId: 'retryProjections',
          tags,
          summary:
            'Compatibility: retry every read-model projector an event stopped; see /processors/{name}/retry',
          response: {
            202: Type.Object({ retrying: Type.Literal(true) }, closed),
            ...problemResponses(AUTH, BODY, { 409: ['projector.off'] }),
          },
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
          operationId: 'skipProjectionEvent',
          tags,
          summary:
            'Compatibility: skip the event in every projector it stopped (recorded); see /processors/{name}/skip',
          body: Type.Object(
            {
              event_id: Type.String({ minLength: 1 }),
              reason: Type.String({ minLength: 3, maxLength: 1_000 }),
            },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ skipped: Type.String({ description: 'The event id skipped' }) }, closed),
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
          operationId: 'rebuildProjection',
          tags,
          summary:
            'Compatibility: rebuild one read model (shadow collection, swap); see /processors/{name}/rebuild',
          params: Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) }),
          response: {
            202: Type.Object({ rebuilding: Type.String({ description: 'The projection' }) }, closed),
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
          operationId: 'listParkedNotifications',
          tags,
          summary: 'Notifications parked after their publish attempts ran out, oldest first',
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000, default: 100 })),
          }),
          response: {
            200: Type.Array(ParkedNotification),
            ...problemResponses(AUTH, PARAMETERS, { 409: ['kafka.bridge_off'] }),
          },
        },
      },
      async (request) => {
        const parked = await operations.parked(request.query.limit ?? 100);
        if (parked === undefined) throw bridgeOff();
        return parked as Static<typeof ParkedNotification>[];
      },
    );

    app.get(
      '/api/v1/admin/dlq',
      {
        config,
        schema: {
          operationId: 'listDeadLetters',
          tags,
          summary: 'Intake messages the Kafka bridge refused, with code, reason and violations',
          querystring: Type.Object({
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 50 })),
          }),
          response: {
            200: DeadLetters,
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
          operationId: 'replayParkedNotifications',
          tags,
          summary: 'Send parked notifications back to the publisher (all, or the first stop_at)',
          querystring: Type.Object({
            stop_at: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          }),
          response: {
            202: Type.Object(
              {
                replaying: Type.Union([Type.Integer({ minimum: 1 }), Type.Literal('all')], {
                  description: 'How many parked notifications are sent back: stop_at, or all',
                }),
              },
              closed,
            ),
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
