import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger } from 'pino';
import {
  caseProjections,
  casesProjection,
  documentRequirementsProjection,
  erasureIndexProjection,
  intakeProjections,
  readModelPersonalData,
  retentionProjections,
  timelineProjection,
} from '../../projections/index.ts';
import { type CaseService, createCaseService } from '../cases/application/case-service.ts';
import {
  ACCESS_STREAM_PREFIX,
  accessEventDefinitions,
  CASE_STREAM_PREFIX,
  CaseStatusSchema,
  caseEventDefinitions,
  caseStreamName,
  createCaseDecider,
  createCaseEventRegistry,
  createIntakeEventRegistry,
  DOCUMENT_STATUSES,
  type ErasureSummary,
  INTAKE_STREAM_PREFIX,
  intakeAuditDecider,
  intakeEventDefinitions,
  intakeStreamName,
  parseNotificationRules,
  parseReasonCodes,
  parseRequirementRules,
  parseRiskRules,
  personalDataDeclarations,
  RETENTION_STREAM_PREFIX,
  type ReasonCodes,
  retentionEventDefinitions,
} from '../cases/index.ts';
import { IntakeSchema } from '../cases/intake.ts';
import { startEmulator } from '../emulator/index.ts';
import { createCommandHandler } from '../eventsourcing/command/handler.ts';
import type { StateCacheStats } from '../eventsourcing/command/state-cache.ts';
import { DomainError } from '../eventsourcing/core/errors.ts';
import { createEventRegistry } from '../eventsourcing/core/event-definitions.ts';
import type { AllPosition } from '../eventsourcing/core/events.ts';
import { comparePositions, formatPosition } from '../eventsourcing/core/positions.ts';
import type { Projection } from '../eventsourcing/core/projection.ts';
import { createEsdbEventStore } from '../eventsourcing/eventstore/esdb.ts';
import { createInProcessEventStore } from '../eventsourcing/eventstore/in-process.ts';
import type { EventStore } from '../eventsourcing/eventstore/port.ts';
import { createMongoLeaseStore } from '../eventsourcing/leadership/mongo.ts';
import { type Following, leased } from '../eventsourcing/processor/leased.ts';
import type { Processor, ProcessorStatus } from '../eventsourcing/processor/processor.ts';
import { createProjectorProcessor } from '../eventsourcing/processor/projector-processor.ts';
import { createProcessorRegistry, type ProcessorRegistry } from '../eventsourcing/processor/registry.ts';
import type { Lag } from '../eventsourcing/projection/lag.ts';
import { relevanceOf } from '../eventsourcing/projection/lag.ts';
import { createProjectionObserver } from '../eventsourcing/projection/observer.ts';
import { eventStoreSkipLog } from '../eventsourcing/projection/skip-log.ts';
import {
  type DecryptionCounts,
  guardTampered,
  protectPersonalData,
} from '../eventsourcing/protection/protected-event-store.ts';
import {
  type DocumentDecryptionCounts,
  protectReadModels,
} from '../eventsourcing/protection/protected-read-store.ts';
import { createInMemoryReadStore } from '../eventsourcing/readstore/memory.ts';
import { createMongoReadStore } from '../eventsourcing/readstore/mongo.ts';
import type { ReadStore } from '../eventsourcing/readstore/port.ts';
import { createAuthenticator } from '../http/auth.ts';
import type { ComponentHealth } from '../http/health.ts';
import type { AccessLog, Operations } from '../http/ports.ts';
import { adminRoutes } from '../http/routes/admin.ts';
import { caseRoutes } from '../http/routes/cases.ts';
import { consoleRoutes } from '../http/routes/console.ts';
import { documentRoutes } from '../http/routes/documents.ts';
import { erasureRoutes } from '../http/routes/erasure.ts';
import { caseExportRoutes } from '../http/routes/export.ts';
import { partyRoutes } from '../http/routes/parties.ts';
import { reviewRoutes } from '../http/routes/review.ts';
import { timelineRoutes } from '../http/routes/timeline.ts';
import { type AppServer, buildServer } from '../http/server.ts';
import { createConfigServiceClient } from '../notification-rules/config-service.ts';
import { inSpanSync } from '../observability/tracing.ts';
import { type AccessLogStats, createAccessLog, type RecordingAccessLog } from './access-log.ts';
import type { Config } from './config.ts';
import { createErasureIndex } from './erasure-index.ts';
import { createErasureService, type ErasureService, replayErasureLedger } from './erasure-service.ts';
import { type KafkaBridge, startKafkaBridge } from './kafka-bridge.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { deriveId } from './name-based-ids.ts';
import { createOperations, processorsHealth, projectorsSummary } from './operations.ts';
import { openKeyStore } from './personal-data.ts';
import { readStoreErasureCheck } from './read-store-erasure-check.ts';
import { createReadModelReadiness } from './readiness.ts';
import { tracedEventStore } from './traced-event-store.ts';
import { tracedReadStore } from './traced-read-store.ts';

/** The running service; its parts are exposed for operations tooling and benchmarks. */
/**
 * The same projection, with a span around each application of an event, in the trace of the
 * command that wrote it (its traceparent travels in the event's metadata).
 */
function traced(projection: Projection): Projection {
  return {
    ...projection,
    evolve: (current, event, documentId) =>
      inSpanSync(
        `project ${projection.name} ${event.type}`,
        event.metadata.traceparent,
        { 'event.id': event.id, 'projection.name': projection.name },
        () => projection.evolve(current, event, documentId),
      ),
  };
}

/** How long one count of the read models by status serves scrapes before it is taken again. */
const STATUS_COUNTS_MAX_AGE_MS = 30_000;

/**
 * Cases and documents by status, counted in the read models at scrape time: one count per status
 * (2 case statuses, 6 document statuses), taken at most once per {@link STATUS_COUNTS_MAX_AGE_MS}
 * whatever the scrape rate. Counting where the data is keeps the figures right on every replica
 * (PROJECTOR=off too) and across rebuilds, at the cost of a scan per status where the store has
 * no index on `status` (the in-memory store, FerretDB).
 */
function observeStatusCounts(metrics: Metrics, readStore: ReadStore): void {
  const count = (collection: string, statuses: readonly string[]) =>
    Promise.all(
      statuses.map(async (status) => ({
        value: await readStore.count(collection, { status }),
        attributes: { status },
      })),
    );
  type Counted = { value: number; attributes: { status: string } }[];
  let last: { at: number; counts: Promise<{ cases: Counted; documents: Counted }> } | undefined;
  const counts = () => {
    if (last === undefined || Date.now() - last.at > STATUS_COUNTS_MAX_AGE_MS) {
      const taken = {
        at: Date.now(),
        counts: Promise.all([
          count(casesProjection.collection, CaseStatusSchema.enum),
          count(documentRequirementsProjection.collection, DOCUMENT_STATUSES),
        ]).then(([cases, documents]) => ({ cases, documents })),
      };
      // A failed count is not kept: the next scrape tries again.
      taken.counts.catch(() => {
        if (last === taken) last = undefined;
      });
      last = taken;
    }
    return last.counts;
  };
  metrics.observe('kyc_cases', 'Cases in the read model, by status', async () => (await counts()).cases);
  metrics.observe(
    'kyc_documents',
    'Required documents in the read model, by status',
    async () => (await counts()).documents,
  );
}

/**
 * Erasure requests by status and the overdue ones, counted in the erasure index at most once per
 * STATUS_COUNTS_MAX_AGE_MS however many scrapes ask.
 */
function observeErasures(metrics: Metrics, erasure: ErasureService, overdueAfterMs: number): void {
  let last: { at: number; summary: Promise<ErasureSummary> } | undefined;
  const summary = () => {
    if (last === undefined || Date.now() - last.at > STATUS_COUNTS_MAX_AGE_MS) {
      const taken = { at: Date.now(), summary: erasure.summary(overdueAfterMs) };
      // A failed read is not kept: the next scrape tries again.
      taken.summary.catch(() => {
        if (last === taken) last = undefined;
      });
      last = taken;
    }
    return last.summary;
  };
  metrics.observe('kyc_erasure_requests', 'Erasure requests, by status', async () =>
    Object.entries((await summary()).byStatus)
      .filter(([status]) => status !== 'none')
      .map(([status, value]) => ({ value, attributes: { status } })),
  );
  metrics.observe(
    'kyc_erasures_overdue',
    'Erasure requests due (retention over, no legal hold) for longer than ERASURE_OVERDUE_AFTER_SECONDS',
    async () => [{ value: (await summary()).overdue }],
  );
}

/** Metrics read from the parts' own status at scrape time. */
function observeParts(
  metrics: Metrics,
  readModels: { lag(maxCount: number): Promise<Lag> },
  processors: ProcessorRegistry,
  projecting: boolean,
  kafka: KafkaBridge | undefined,
  commandCache: () => StateCacheStats,
): void {
  metrics.observe('kyc_command_cache_entries', 'Case streams whose state the command handler holds', () => [
    { value: commandCache().entries },
  ]);
  metrics.observe('kyc_command_cache_bytes', "Estimated size of the command handler's cache", () => [
    { value: commandCache().bytes },
  ]);
  for (const [name, help, read] of [
    ['hits', 'Commands that found their stream in the cache', (s: StateCacheStats) => s.hits],
    ['misses', 'Commands that read their whole stream', (s: StateCacheStats) => s.misses],
    ['tail_reads', 'Reads of only the events after a cached revision', (s: StateCacheStats) => s.tailReads],
    ['evictions', 'Cache entries dropped to stay within the bounds', (s: StateCacheStats) => s.evictions],
  ] as const) {
    metrics.observe(
      `kyc_command_cache_${name}_total`,
      help,
      () => [{ value: read(commandCache()) }],
      'counter',
    );
  }
  // Both lag gauges are read in one scrape: one read of $all serves them.
  let lastLag: { at: number; lag: Promise<Lag> } | undefined;
  const lagOfScrape = (): Promise<Lag> => {
    if (lastLag === undefined || Date.now() - lastLag.at > 1_000) {
      lastLag = { at: Date.now(), lag: readModels.lag(10_000) };
    }
    return lastLag.lag;
  };
  metrics.observe(
    'kyc_projection_lag_events',
    'Events of $all the read models have not applied yet',
    async () => [{ value: (await lagOfScrape()).events, attributes: { projector: 'read-models' } }],
  );
  metrics.observe(
    'kyc_projection_lag_seconds',
    'Age of the oldest event the read models have not applied',
    async () => [{ value: (await lagOfScrape()).seconds, attributes: { projector: 'read-models' } }],
  );
  if (projecting) {
    metrics.observe('kyc_projector_healthy', '1 when the projector runs, 0 when an event stopped it', () => [
      { value: projectorsSummary(processors).healthy ? 1 : 0, attributes: { projector: 'read-models' } },
    ]);
  }
  observeProcessors(metrics, processors);
  if (kafka === undefined) return;
  metrics.observe(
    'kyc_kafka_dead_lettered_total',
    'Intake messages sent to the dead-letter topic',
    () => [{ value: kafka.inbound.status().deadLettered }],
    'counter',
  );
  metrics.observe(
    'kyc_kafka_dead_lettered_reduced_total',
    'Dead letters written without their full value (the dead-letter topic refused the size)',
    () => [{ value: kafka.inbound.status().deadLetteredReduced }],
    'counter',
  );
  metrics.observe(
    'kyc_kafka_intake_audit_skipped_total',
    'Dead letters written although their raw intake audit record could not be',
    () => [{ value: kafka.inbound.status().auditSkipped }],
    'counter',
  );
  metrics.observe(
    'kyc_kafka_intake_consumer_restarts_total',
    'Times the intake consumer crashed and was rebuilt',
    () => [{ value: kafka.inbound.status().consumer.restarts }],
    'counter',
  );
  metrics.observe(
    'kyc_kafka_intake_stalled_partitions',
    'Intake partitions waiting to retry a message',
    () => [{ value: kafka.inbound.status().stalled.length }],
  );
  metrics.observe(
    'kyc_notifications_published_total',
    'Notifications Kafka acknowledged',
    () => [{ value: kafka.outbound.counts().published }],
    'counter',
  );
  metrics.observe(
    'kyc_notifications_retried_total',
    'Notification publish attempts that failed and were retried',
    () => [{ value: kafka.outbound.counts().retried + kafka.outbound.consumerStatus().retried }],
    'counter',
  );
  metrics.observe(
    'kyc_notifications_parked_total',
    'Notifications parked after their retries ran out',
    () => [{ value: kafka.outbound.consumerStatus().parked }],
    'counter',
  );
  metrics.observe(
    'kyc_notifications_parked_backlog',
    'Parked notifications waiting for an operator (up to 1000)',
    async () => [{ value: (await kafka.outbound.listParked(1_000)).length }],
  );
}

/** Decryptions of personal data by store and outcome; any `tampered` deserves an alert. */
function observeDecryptions(
  metrics: Metrics,
  events: () => DecryptionCounts,
  readModels: { decryptions(): DocumentDecryptionCounts } | undefined,
): void {
  const of = (store: string, counts: Record<string, number>) =>
    Object.entries(counts).map(([outcome, value]) => ({ value, attributes: { store, outcome } }));
  metrics.observe(
    'kyc_personal_data_decryptions_total',
    'Personal data read back, by store and outcome: ok, erased (key destroyed), tampered (failed authentication), clear (a read model stored before sealing)',
    () => [...of('event_store', events()), ...(readModels ? of('read_store', readModels.decryptions()) : [])],
    'counter',
  );
}

/**
 * Per processor (label `processor`, and `kind`): its state, failures waiting for an operator,
 * events handled and lag. Read from the registry at scrape time, so a processor registered
 * later (the notification publisher) shows up too.
 */
function observeProcessors(metrics: Metrics, processors: ProcessorRegistry): void {
  const each = (read: (status: ProcessorStatus) => number) => () =>
    processors.list().map((processor) => {
      const status = processor.status();
      return { value: read(status), attributes: { processor: status.name, kind: status.kind } };
    });
  metrics.observe(
    'kyc_processor_running',
    '1 when the processor follows the log on this replica; 0 when stopped, waiting for an operator, or following another replica holding its lease',
    each((status) => (status.state === 'running' ? 1 : 0)),
  );
  metrics.observe(
    'kyc_processor_failures',
    'Events waiting for an operator: stopped a projector, or parked by a reactor',
    each((status) => status.failures.length),
  );
  metrics.observe(
    'kyc_processor_handled_events_total',
    'Events the processor handled since this process started',
    each((status) => status.handledEvents),
    'counter',
  );
  metrics.observe(
    'kyc_processor_leader',
    '1 when this replica runs the processor (holds its lease, or PROJECTOR=on), 0 when another does',
    each((status) =>
      status.lease ? (status.lease.role === 'leader' ? 1 : 0) : status.state === 'stopped' ? 0 : 1,
    ),
  );
  metrics.observe(
    'kyc_processor_lease_expires_seconds',
    'Seconds until the processor lease ends unless renewed, by the holder clock (PROJECTOR=auto, while held)',
    () =>
      processors.list().flatMap((processor) => {
        const status = processor.status();
        const expiresAt = status.lease?.expiresAt;
        if (expiresAt === null || expiresAt === undefined) return [];
        const value = (expiresAt.getTime() - Date.now()) / 1000;
        return [{ value, attributes: { processor: status.name, kind: status.kind } }];
      }),
  );
  metrics.observe(
    'kyc_processor_fenced_out_total',
    'Times the read store refused a write of this replica for a newer lease token: it stepped down',
    each((status) => (typeof status.details.fencedOut === 'number' ? status.details.fencedOut : 0)),
    'counter',
  );
  // One lag read per processor and scrape serves both lag gauges.
  let lastLags: { at: number; lags: Promise<{ name: string; kind: string; lag: Lag | null }[]> } | undefined;
  const lags = () => {
    if (lastLags === undefined || Date.now() - lastLags.at > 1_000) {
      lastLags = {
        at: Date.now(),
        lags: Promise.all(
          processors.list().map(async (processor) => ({
            name: processor.name,
            kind: processor.kind,
            lag: await processor.lag(10_000).catch(() => null),
          })),
        ),
      };
    }
    return lastLags.lags;
  };
  for (const [unit, read] of [
    ['events', (lag: Lag) => lag.events],
    ['seconds', (lag: Lag) => lag.seconds],
  ] as const) {
    metrics.observe(
      `kyc_processor_lag_${unit}`,
      unit === 'events'
        ? 'Events of $all the processor handles and has not handled yet'
        : 'Age of the oldest event the processor has not handled yet',
      async () =>
        (await lags()).flatMap(({ name, kind, lag }) =>
          lag === null ? [] : [{ value: read(lag), attributes: { processor: name, kind } }],
        ),
    );
  }
}

/** The personal-data read log: what it stored, holds, dropped, and how often the store failed it. */
function observeAccessLog(metrics: Metrics, accessLog: RecordingAccessLog): void {
  for (const [name, help, kind, read] of [
    [
      'recorded_total',
      'Personal-data reads recorded in the event store',
      'counter',
      (s: AccessLogStats) => s.recorded,
    ],
    ['pending', 'Personal-data reads waiting to be recorded', 'gauge', (s: AccessLogStats) => s.pending],
    [
      'dropped_total',
      'Personal-data reads never recorded (the queue overflowed while the store failed)',
      'counter',
      (s: AccessLogStats) => s.dropped,
    ],
    [
      'append_failures_total',
      'Failed appends of personal-data read records (retried)',
      'counter',
      (s: AccessLogStats) => s.appendFailures,
    ],
  ] as const) {
    metrics.observe(
      `kyc_personal_data_reads_${name}`,
      help,
      () => [{ value: read(accessLog.stats()) }],
      kind,
    );
  }
}

/** A connection string fit for a log line: any password replaced. */
function redacted(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password === '') return url;
    parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** A start failure that says which dependency, configured where, could not be used. */
function dependencyFailed(dependency: string, variable: string, address: string, error: unknown): Error {
  const why = error instanceof Error ? error.message : String(error);
  return new Error(`${dependency} (${variable}=${address}) cannot be used: ${why}`, { cause: error });
}

/**
 * The HTTP resources over the case service and the admin operations: one list, so the process
 * and the route tests that inject (test/support/inject-app.ts) serve the same routes.
 */
export function apiResources(parts: {
  service: Pick<CaseService, 'commands' | 'queries' | 'review' | 'reviewQueries'>;
  reasonCodes: ReasonCodes;
  operations: Operations;
  /** Where reads of personal data are recorded; none when left out. */
  accessLog?: AccessLog;
  /** Retention and erasure routes; left out when there is no erasure service. */
  erasure?: ErasureService;
}): FastifyPluginAsync[] {
  const { service, reasonCodes, operations, erasure } = parts;
  const accessLog = parts.accessLog ?? { record() {} };
  return [
    caseRoutes(service.commands, service.queries, IntakeSchema, accessLog),
    documentRoutes(service.commands, service.queries),
    partyRoutes(service.queries, accessLog),
    reviewRoutes(
      service.review,
      { ...service.reviewQueries, waitForPosition: service.queries.waitForPosition },
      reasonCodes,
    ),
    timelineRoutes(service.queries),
    ...(erasure === undefined
      ? []
      : [
          erasureRoutes(erasure, service.queries),
          caseExportRoutes(service.commands, service.queries, erasure, accessLog),
        ]),
    consoleRoutes,
    adminRoutes(operations),
  ];
}

export type RunningService = {
  server: AppServer;
  url: string;
  eventStore: EventStore;
  /** The read models as the API reads them: personal fields opened. */
  readStore: ReadStore;
  /** The read models as stored: personal fields sealed (for checks and tests). */
  storedDocuments: ReadStore;
  /**
   * Everything that follows the log here, by name: a projector per read model (none when another
   * replica projects, PROJECTOR=off) and, with the Kafka bridge, the notification publisher.
   */
  processors: ProcessorRegistry;
  /** Retention and erasure of cases; its due job is run by the caller (no periodic trigger yet). */
  erasure: ErasureService;
  stop(): Promise<void>;
};

const bundledRulesDir = new URL('../cases/rules/', import.meta.url);

async function loadRules<T>(
  file: string,
  parse: (
    json: unknown,
  ) => { ok: true; value: T } | { ok: false; violations: { path: string; message: string }[] },
): Promise<T> {
  const url = new URL(file, bundledRulesDir);
  const parsed = parse(JSON.parse(await readFile(url, 'utf8')));
  if (!parsed.ok) {
    const problems = parsed.violations.map((v) => `${v.path} ${v.message}`).join('; ');
    throw new Error(`invalid rules file ${url.pathname}: ${problems}`);
  }
  return parsed.value;
}

export type StartOptions = {
  /**
   * False serves personal data without recording who read it: only for the benchmark that
   * measures what the recording costs (bench/personal-data-reads.ts); never a configuration.
   */
  recordPersonalDataReads?: boolean;
  /**
   * False stores the read models' personal fields in clear: only for the benchmark that measures
   * what sealing costs and the test that shows its scan finds names then; never a configuration.
   */
  protectReadModels?: boolean;
};

/**
 * Builds and starts every part of the service from the configuration, and returns how to stop
 * it: parts are closed in reverse order of their start, so nothing writes into a closed client.
 */
export async function startService(
  config: Readonly<Config>,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningService> {
  const closers: { name: string; close: () => Promise<unknown> }[] = [];
  const stop = async (): Promise<void> => {
    for (const { name, close } of closers.reverse()) {
      await close().catch((error: unknown) =>
        logger.error({ err: error, part: name }, 'error while stopping'),
      );
    }
    closers.length = 0;
  };

  try {
    let eventStore: EventStore;
    if (config.eventStoreUrl === undefined) {
      const emulator = await startEmulator({
        dataDir: config.dataDir,
        groupCommit: config.eventLogGroupCommit,
        port: 0,
        logger,
      });
      closers.push({ name: 'embedded event store', close: () => emulator.close() });
      const { connectionString } = emulator;
      logger.info({ dataDir: config.dataDir, connectionString }, 'embedded event store started');
      // Commands, reads and catch-up subscriptions go to the store in this process; persistent
      // subscriptions (the notification publisher's group) stay in the emulator's gRPC service,
      // whose port also stays open for outside tools.
      const grpc = createEsdbEventStore({ connectionString });
      closers.push({ name: 'event store client (persistent subscriptions)', close: () => grpc.close() });
      const inProcess = createInProcessEventStore(emulator, { persistent: grpc.persistent });
      closers.push({ name: 'in-process event store', close: () => inProcess.close() });
      eventStore = tracedEventStore(inProcess, 'embedded');
    } else {
      const client = createEsdbEventStore({ connectionString: config.eventStoreUrl });
      closers.push({ name: 'event store client', close: () => client.close() });
      eventStore = tracedEventStore(client, 'eventstoredb');
    }

    const storedDocuments = tracedReadStore(
      config.mongoUrl === undefined
        ? createInMemoryReadStore()
        : createMongoReadStore({ url: config.mongoUrl, database: config.mongoDatabase }),
      config.mongoUrl === undefined ? 'memory' : 'mongodb',
    );
    closers.push({ name: 'read store', close: () => storedDocuments.close() });
    if (config.mongoUrl === undefined)
      logger.info('read models in memory: rebuilt from the event store at start');
    else {
      // One lookup by id: a MongoDB that cannot be reached stops the start here, named.
      const mongoUrl = config.mongoUrl;
      await storedDocuments.get('cases', 'start-probe').catch((error: unknown) => {
        throw dependencyFailed('MongoDB', 'MONGODB_URL', redacted(mongoUrl), error);
      });
    }

    // Personal fields are encrypted below everything that writes or reads events.
    const keyStore = await openKeyStore(config, logger).catch((error: unknown) => {
      if (config.mongoUrl === undefined) throw error;
      throw dependencyFailed('MongoDB key store', 'MONGODB_URL', redacted(config.mongoUrl), error);
    });
    closers.push({ name: 'personal data key store', close: () => keyStore.close() });
    const storedEvents = eventStore;
    const personalData = protectPersonalData(eventStore, {
      keyStore,
      declarations: personalDataDeclarations,
    });
    eventStore = personalData;
    // The same keys seal the personal fields of the read models, outermost on either store.
    const protectedReadModels =
      options.protectReadModels === false
        ? undefined
        : protectReadModels(storedDocuments, { keyStore, declarations: readModelPersonalData });
    const readStore: ReadStore = protectedReadModels ?? storedDocuments;
    // Before anything reads personal data: a key store restored from a backup must not bring
    // back keys that erasures destroyed since. The event store's retention streams say which.
    await replayErasureLedger(eventStore, keyStore).then(
      (report) => {
        const restored = report.destroyedAgain.length + report.tombstonesAdded.length;
        if (restored > 0) {
          logger.warn(
            report,
            'erasure ledger: keys destroyed by completed erasures were live in the key store (restored from a backup?) and are destroyed again',
          );
        } else
          logger.info(
            { erasures: report.erasures, keys: report.keys },
            'erasure ledger checked: every erased key is destroyed',
          );
      },
      (error: unknown) =>
        logger.error(
          { err: error },
          'erasure ledger could not be replayed at start; run `erasures reshred` once the event store answers',
        ),
    );

    const [requirementRules, bundledRules, riskRules, reasonCodes] = await Promise.all([
      loadRules('document-requirements.json', parseRequirementRules),
      loadRules('notification-rules.json', parseNotificationRules),
      loadRules('risk-rules.json', parseRiskRules),
      loadRules('reason-codes.json', parseReasonCodes),
    ]);
    const decider = createCaseDecider({
      ids: deriveId,
      requirementRules,
      notificationRules: bundledRules,
      riskRules,
      reasonCodes,
    });
    const caseEvents = guardTampered(createCaseEventRegistry());
    const cases = createCommandHandler({
      eventStore,
      decider,
      streamName: caseStreamName,
      events: caseEvents,
      cache:
        config.commandCacheMaxEntries === 0
          ? false
          : { maxEntries: config.commandCacheMaxEntries, maxBytes: config.commandCacheMaxBytes },
    });
    const intakeAudit = createCommandHandler({
      eventStore,
      decider: intakeAuditDecider,
      streamName: intakeStreamName,
      events: guardTampered(createIntakeEventRegistry()),
      // Each receipt's stream is written once: a cache would only hold memory, and a read before
      // the append would find nothing (a redelivered receipt's append fails, then it is read).
      cache: false,
      assumeNewStreams: true,
    });

    const projections: readonly Projection[] = [
      ...caseProjections,
      ...intakeProjections,
      ...retentionProjections,
    ];
    const projectionFilter = {
      streamPrefixes: [
        CASE_STREAM_PREFIX,
        INTAKE_STREAM_PREFIX,
        ACCESS_STREAM_PREFIX,
        RETENTION_STREAM_PREFIX,
      ],
    };
    // Readiness waits for the read models to reach what the log held when this process started.
    // Unknown (undefined) when the store cannot be reached now: then only a lag of zero counts.
    const headAtStart = await eventStore.headOfAll().then(
      (head) => head?.position ?? null,
      (error: unknown) => {
        // The service serves anyway (queries from the read models; readiness says the store is down).
        const address = redacted(config.eventStoreUrl ?? 'embedded');
        logger.warn(
          { dependency: 'event store', address, err: error },
          `event store (EVENTSTORE_URL=${address}) cannot be reached: serving without it; commands answer 503 and /health/ready reports it down until it answers`,
        );
        return undefined;
      },
    );
    // One processor per read model: its own subscription, checkpoint and failure domain, so an
    // event one read model cannot apply stops that one only.
    const processors = createProcessorRegistry();
    const mode = config.projector;
    const projecting = mode !== 'off';
    const replicaId = config.replicaId ?? `${hostname()}-${randomBytes(4).toString('hex')}`;
    if (config.mongoUrl === undefined)
      logger.info(
        'in-memory read models are single-replica by nature: this replica projects its own; run several replicas with MONGODB_URL (PROJECTOR=auto)',
      );
    // PROJECTOR=auto: each processor runs on the replica holding its lease, in the read store's database.
    const leaseStore =
      mode === 'auto' && config.mongoUrl !== undefined
        ? createMongoLeaseStore({ url: config.mongoUrl, database: config.mongoDatabase })
        : undefined;
    if (leaseStore !== undefined) {
      closers.push({ name: 'lease store', close: () => leaseStore.close() });
      logger.info(
        { replica: replicaId, ttlMs: config.lease.ttlMs },
        'PROJECTOR=auto: each processor runs on the replica holding its lease',
      );
    }
    const leaseFor = <P extends Processor>(processor: P, following?: Following): P =>
      leaseStore === undefined
        ? processor
        : leased(processor, leaseStore, {
            replicaId,
            timing: config.lease,
            logger,
            ...(following === undefined ? {} : { following }),
          });
    const relevantEvents = relevanceOf(projections, projectionFilter);
    if (projecting) {
      const projectionEvents = guardTampered(
        createEventRegistry([
          ...caseEventDefinitions,
          ...intakeEventDefinitions,
          ...accessEventDefinitions,
          ...retentionEventDefinitions,
        ]),
      );
      // In the event store, so a skip survives restarts in every mode (memory read models too).
      const skipLog = eventStoreSkipLog(eventStore);
      for (const projection of projections) {
        const processor = createProjectorProcessor({
          name: projection.name,
          eventStore,
          readStore,
          projections: [traced(projection)],
          filter: projectionFilter,
          // A short wait for partial batches keeps read-your-writes quick; catch-up fills batches anyway.
          batchDelayMs: 5,
          events: projectionEvents,
          // The timeline is read per case in time order.
          indexes: {
            [timelineProjection.name]: [['case_id', 'at', 'sequence']],
            // The due job's scan: open requests without a hold, by retention date.
            // The metrics count completed erasures of single subjects, and the list pages through them.
            [erasureIndexProjection.name]: [
              ['request_status', 'relationship_ended', 'held', 'due_at'],
              ['subject_status'],
            ],
          },
          skipLog,
          logger,
        });
        // A follower answers waits and lag from the checkpoints the leader stores.
        const following = createProjectionObserver({
          eventStore,
          readStore,
          projections: [projection.name],
          relevant: relevanceOf([projection], projectionFilter),
        });
        processors.register(leaseFor(processor, following));
      }
      for (const processor of processors.projectors()) {
        closers.push({ name: `projector ${processor.name}`, close: () => processor.stop() });
      }
      // In auto mode a start only begins the lease loop: those begin once the server listens,
      // since building the server can hold the event loop for seconds on a busy machine, longer
      // than a lease taken before it would last unrenewed.
      if (leaseStore === undefined) await startProjectors(processors);
    } else {
      logger.info('PROJECTOR=off: another replica projects the read models; this one serves them');
    }
    // Where the read models stand as a whole: this replica's projectors (PROJECTOR=on), or the
    // checkpoints whoever projects stores (auto, off).
    const observer =
      mode === 'on'
        ? undefined
        : createProjectionObserver({
            eventStore,
            readStore,
            projections: projections.map((p) => p.name),
            relevant: relevantEvents,
          });
    const readModels =
      observer !== undefined && !projecting
        ? observer
        : {
            waitFor: (position: AllPosition, timeoutMs: number) => processors.waitFor(position, timeoutMs),
            lag: (maxCount: number) => processors.projectorLag(maxCount),
          };

    const configService =
      config.configServiceUrl === undefined
        ? undefined
        : createConfigServiceClient({
            baseUrl: config.configServiceUrl,
            timeoutMs: config.configServiceTimeoutMs,
          });
    if (configService === undefined)
      logger.info('CONFIG_SERVICE_URL is not set: notifications use the bundled rules');

    const metrics = createMetrics({ otlp: config.otlpEndpoint !== undefined });
    closers.push({ name: 'metrics', close: () => metrics.shutdown() });
    const service = createCaseService({
      eventStore,
      readStore,
      cases,
      intakeAudit,
      decider,
      caseEvents,
      ids: deriveId,
      bundledRules,
      configService,
      waitForPosition: async (position, timeoutMs) => {
        if (await readModels.waitFor(position, 0)) return true;
        // A position past the end of the log was never handed out: waiting could never end.
        const head = await eventStore.headOfAll().catch(() => undefined);
        if (head === null || (head !== undefined && comparePositions(position, head.position) > 0)) {
          throw new DomainError(
            'read.position_beyond_head',
            'min_position is beyond the end of the event log; send a position a command returned',
            {
              violations: [
                {
                  path: 'querystring/min_position',
                  message: `is beyond the end of the event log (${head === null ? 'empty' : formatPosition(head.position)})`,
                },
              ],
            },
          );
        }
        return readModels.waitFor(position, timeoutMs);
      },
      clock: () => new Date(),
      observe: metrics,
    });

    const erasure = createErasureService({
      eventStore,
      storedEvents,
      keyStore,
      // The due job and the metrics read the index; it follows the log like every read model.
      index: createErasureIndex({
        readStore,
        waitFor: (position, timeoutMs) => readModels.waitFor(position, timeoutMs),
      }),
      clock: () => new Date(),
      retention: config.retention,
      rejectedIntakeRetention: { rule: 'INTAKE-REJECTED', days: config.rejectedIntakeRetentionDays },
      // The command cache holds the first person's name in the case state.
      onErased: (caseId) => cases.invalidate(caseId),
      ...(protectedReadModels === undefined
        ? {}
        : { checkReadStore: readStoreErasureCheck(storedDocuments, readModelPersonalData) }),
    });
    observeErasures(metrics, erasure, config.erasureOverdueAfterSeconds * 1000);

    if (config.erasureJobIntervalSeconds > 0) {
      // Every replica may run it: each step is idempotent and a concurrent one conflicts and retries.
      let running: Promise<void> | undefined;
      const job = setInterval(() => {
        if (running) return;
        running = erasure
          .runDue()
          .then(
            (completed) => {
              if (completed.length > 0) logger.info({ cases: completed }, 'erasures completed');
            },
            (error: unknown) =>
              logger.error({ err: error }, 'erasure job failed; it runs again at the next interval'),
          )
          .finally(() => {
            running = undefined;
          });
      }, config.erasureJobIntervalSeconds * 1000);
      job.unref();
      // Stopped before the stores it uses close, after finishing a run in progress.
      closers.push({
        name: 'erasure job',
        close: async () => {
          clearInterval(job);
          await running;
        },
      });
    }

    const auth = createAuthenticator(config.apiKeys);
    if (!auth.enabled) logger.warn('API_KEYS is not set: no authentication, serving on loopback only');
    const readiness = createReadModelReadiness({
      readModels: {
        position: () => (observer === undefined ? processors.projectorPosition() : observer.position()),
        lag: (maxCount) => readModels.lag(maxCount),
      },
      projectorStatus: projecting ? () => projectorsSummary(processors) : undefined,
      headAtStart,
      maxLagSeconds: config.readyMaxProjectionLagSeconds,
    });
    const health = async (): Promise<Record<string, ComponentHealth>> => {
      const projection = await readiness().catch(
        (error: unknown): ComponentHealth => ({ status: 'down', detail: `cannot assess: ${String(error)}` }),
      );
      const eventStoreHealth: ComponentHealth = await eventStore
        .headOfAll()
        .then((): ComponentHealth => ({ status: 'up' }))
        .catch((error: unknown): ComponentHealth => ({ status: 'down', detail: String(error) }));
      // A lookup by id: answered from the index on any server (a count scans on FerretDB).
      const readStoreHealth: ComponentHealth = await readStore
        .get('cases', 'readiness-probe')
        .then((): ComponentHealth => ({ status: 'up' }))
        .catch((error: unknown): ComponentHealth => ({ status: 'down', detail: String(error) }));
      return {
        eventStore: eventStoreHealth,
        readStore: readStoreHealth,
        projector: projection,
        processors: processorsHealth(processors, mode),
      };
    };
    const kafka =
      config.kafka === undefined
        ? undefined
        : await startKafkaBridge(config.kafka, {
            intake: service.intake,
            eventStore,
            events: caseEvents,
            logger,
            onLag: metrics.kafkaConsumerLag,
            // One publisher per cluster keeps each case's notifications in order without relying
            // on the group's pinning across replicas.
            placePublisher: (publisher) => leaseFor(publisher),
          }).catch((error: unknown) => {
            throw dependencyFailed('Kafka', 'KAFKA_BROKERS', config.kafka!.brokers.join(','), error);
          });
    if (kafka !== undefined) {
      closers.push({ name: 'kafka bridge', close: () => kafka.stop() });
      processors.register(kafka.outbound);
    } else logger.info('KAFKA_BROKERS is not set: the Kafka bridge is off');
    const healthWithKafka = async (): Promise<Record<string, ComponentHealth>> => ({
      ...(await health()),
      ...kafka?.health(),
    });

    // Reads of personal data go to the event store in batches, never in the way of the read.
    let accessLog: AccessLog = { record() {} };
    if (options.recordPersonalDataReads !== false) {
      const recording = createAccessLog({ eventStore, logger, clock: () => new Date() });
      closers.push({ name: 'personal-data read log', close: () => recording.close() });
      observeAccessLog(metrics, recording);
      accessLog = recording;
    }

    observeParts(metrics, readModels, processors, projecting, kafka, () => cases.stats());
    observeDecryptions(metrics, () => personalData.decryptions(), protectedReadModels);
    observeStatusCounts(metrics, readStore);
    const server = await buildServer({
      metrics,
      logger,
      auth,
      health: healthWithKafka,
      resources: apiResources({
        service,
        reasonCodes,
        accessLog,
        operations: createOperations({
          processors,
          projecting,
          leaseMode: mode,
          lag: (maxCount) => readModels.lag(maxCount),
          readiness,
          publisher: () => kafka?.outbound,
          deadLetters:
            config.kafka === undefined
              ? undefined
              : { brokers: config.kafka.brokers, topic: config.kafka.dlqTopic },
          logger,
        }),
        erasure,
      }),
    });
    closers.push({ name: 'http server', close: () => server.close() });
    const url = await server.listen({ host: config.host, port: config.port });
    if (projecting && leaseStore !== undefined) await startProjectors(processors);
    return { server, url, eventStore, readStore, storedDocuments, processors, erasure, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** Starts every projector together (PROJECTOR=on: subscribes; auto: begins its lease loop). */
async function startProjectors(processors: ProcessorRegistry): Promise<void> {
  await Promise.all(processors.projectors().map((processor) => processor.start()));
}
