import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { pino } from 'pino';
import { caseProjections, intakeProjections, retentionProjections } from '../../projections/index.ts';
import type { ApiKey } from '../../src/app/config.ts';
import { createErasureIndex } from '../../src/app/erasure-index.ts';
import { createErasureService, type ErasureService } from '../../src/app/erasure-service.ts';
import { deriveId } from '../../src/app/name-based-ids.ts';
import { createOperations, processorsHealth, projectorsSummary } from '../../src/app/operations.ts';
import { createReadModelReadiness } from '../../src/app/readiness.ts';
import { apiResources } from '../../src/app/service.ts';
import { createCaseService } from '../../src/cases/application/case-service.ts';
import {
  accessEventDefinitions,
  caseEventDefinitions,
  caseStreamName,
  createCaseDecider,
  createCaseEventRegistry,
  createIntakeEventRegistry,
  intakeAuditDecider,
  intakeEventDefinitions,
  intakeStreamName,
  parseNotificationRules,
  parseReasonCodes,
  parseRequirementRules,
  parseRiskRules,
  retentionEventDefinitions,
} from '../../src/cases/index.ts';
import { createCommandHandler } from '../../src/eventsourcing/command/handler.ts';
import { createEventRegistry } from '../../src/eventsourcing/core/event-definitions.ts';
import type { AllPosition } from '../../src/eventsourcing/core/events.ts';
import type { Projection } from '../../src/eventsourcing/core/projection.ts';
import { createProjectorProcessor } from '../../src/eventsourcing/processor/projector-processor.ts';
import {
  createProcessorRegistry,
  type ProcessorRegistry,
} from '../../src/eventsourcing/processor/registry.ts';
import { eventStoreSkipLog } from '../../src/eventsourcing/projection/skip-log.ts';
import { createKeyStore, createMemoryKeyRecords } from '../../src/eventsourcing/protection/key-store.ts';
import { createInMemoryReadStore } from '../../src/eventsourcing/readstore/memory.ts';
import type { ReadStore } from '../../src/eventsourcing/readstore/port.ts';
import { createInMemoryEventStore } from '../../src/eventsourcing/testing/in-memory-event-store.ts';
import { createAuthenticator } from '../../src/http/auth.ts';
import type { AccessLog } from '../../src/http/ports.ts';
import { type AppServer, buildServer } from '../../src/http/server.ts';

export type InjectApp = {
  /** The whole HTTP API; drive it with `app.inject(...)`. Never listens. */
  app: AppServer;
  eventStore: ReturnType<typeof createInMemoryEventStore>;
  readStore: ReadStore;
  /** A projector processor per read model. */
  processors: ProcessorRegistry;
  /** Retention and erasure of cases (keys in memory; this event store seals nothing). */
  erasure: ErasureService;
  /** Resolves once the read models hold every event appended so far (read-your-writes). */
  settled(): Promise<void>;
  close(): Promise<void>;
};

export type InjectAppOptions = {
  /** API keys; none means no authentication, as in the service. */
  keys?: readonly ApiKey[];
  /** Projections the projector runs; default every read model. A test may add a failing one. */
  projections?: readonly Projection[];
  /** Where reads of personal data are reported; none when left out. */
  accessLog?: AccessLog;
};

const rulesDir = new URL('../../src/cases/rules/', import.meta.url);

async function bundledRules<T>(
  file: string,
  parse: (json: unknown) => { ok: true; value: T } | { ok: false; violations: unknown[] },
): Promise<T> {
  const parsed = parse(JSON.parse(await readFile(new URL(file, rulesDir), 'utf8')));
  if (!parsed.ok) throw new Error(`bundled ${file} does not parse: ${JSON.stringify(parsed.violations)}`);
  return parsed.value;
}

/**
 * The service's HTTP API composed as `startService` composes it (same decider, command handlers,
 * case service, projector, operations, and the routes of `apiResources`) over the in-memory event store and
 * read store: no process, no port, no files, no server. Kafka and the configuration service are
 * off, as in the embedded default without their variables.
 *
 * Writes are read back either with `min_position` (as a client would) or after `settled()`.
 * Unlike the process, a `min_position` past the end of the log is waited for (503 after the
 * route's wait), not refused; `errors.test.ts` covers that answer. Call `close()` when done (the
 * projector's loop holds the event loop open).
 */
export async function injectApp(options: InjectAppOptions = {}): Promise<InjectApp> {
  const logger = pino({ level: 'silent' });
  const eventStore = createInMemoryEventStore();
  const readStore = createInMemoryReadStore();
  const [requirementRules, notificationRules, riskRules, reasonCodes] = await Promise.all([
    bundledRules('document-requirements.json', parseRequirementRules),
    bundledRules('notification-rules.json', parseNotificationRules),
    bundledRules('risk-rules.json', parseRiskRules),
    bundledRules('reason-codes.json', parseReasonCodes),
  ]);
  const decider = createCaseDecider({
    ids: deriveId,
    requirementRules,
    notificationRules,
    riskRules,
    reasonCodes,
  });
  const caseEvents = createCaseEventRegistry();
  const cases = createCommandHandler({
    eventStore,
    decider,
    streamName: caseStreamName,
    events: caseEvents,
    cache: { maxEntries: 1_000, maxBytes: 16 * 1024 * 1024 },
  });
  const intakeAudit = createCommandHandler({
    eventStore,
    decider: intakeAuditDecider,
    streamName: intakeStreamName,
    events: createIntakeEventRegistry(),
    cache: false,
    assumeNewStreams: true,
  });
  const projectedStreams = ['case-', 'intake-', 'access-', 'retention-'];
  // One projector processor per read model, as the service composes them.
  const processors = createProcessorRegistry();
  const projectionEvents = createEventRegistry([
    ...caseEventDefinitions,
    ...intakeEventDefinitions,
    ...accessEventDefinitions,
    ...retentionEventDefinitions,
  ]);
  const skipLog = eventStoreSkipLog(eventStore);
  for (const projection of options.projections ?? [
    ...caseProjections,
    ...intakeProjections,
    ...retentionProjections,
  ]) {
    processors.register(
      createProjectorProcessor({
        name: projection.name,
        eventStore,
        readStore,
        projections: [projection],
        filter: { streamPrefixes: projectedStreams },
        batchDelayMs: 0,
        events: projectionEvents,
        skipLog,
        logger,
      }),
    );
  }
  for (const processor of processors.projectors()) await processor.start();

  const service = createCaseService({
    eventStore,
    readStore,
    cases,
    intakeAudit,
    decider,
    caseEvents,
    ids: deriveId,
    bundledRules: notificationRules,
    configService: undefined,
    waitForPosition: (position, timeoutMs) => processors.waitFor(position, timeoutMs),
    clock: () => new Date(),
  });
  const readiness = createReadModelReadiness({
    readModels: {
      position: () => processors.projectorPosition(),
      lag: (max) => processors.projectorLag(max),
    },
    projectorStatus: () => projectorsSummary(processors),
    headAtStart: null,
    maxLagSeconds: 30,
  });
  const erasure = createErasureService({
    eventStore,
    storedEvents: eventStore,
    keyStore: createKeyStore({
      records: createMemoryKeyRecords(),
      kek: { id: 'test-kek', key: randomBytes(32) },
    }),
    index: createErasureIndex({
      readStore,
      waitFor: (position, timeoutMs) => processors.waitFor(position, timeoutMs),
    }),
    clock: () => new Date(),
    retention: { rule: 'AMLR-77', years: 5 },
    onErased: (caseId) => cases.invalidate(caseId),
  });
  const app = await buildServer({
    logger,
    auth: createAuthenticator(options.keys ?? []),
    health: async () => ({ projector: await readiness(), processors: processorsHealth(processors) }),
    resources: apiResources({
      service,
      reasonCodes,
      erasure,
      ...(options.accessLog === undefined ? {} : { accessLog: options.accessLog }),
      operations: createOperations({
        processors,
        projecting: true,
        lag: (max) => processors.projectorLag(max),
        readiness,
        publisher: () => undefined,
        deadLetters: undefined,
        logger,
      }),
    }),
  });

  return {
    app,
    eventStore,
    readStore,
    processors,
    erasure,
    async settled() {
      // The last event the projectors follow: the skip log's own stream is outside their filter.
      const head: AllPosition | undefined = eventStore
        .all()
        .findLast((event) => projectedStreams.some((prefix) => event.streamId.startsWith(prefix)))?.position;
      if (head === undefined) return;
      if (!(await processors.waitFor(head, 5_000))) {
        throw new Error(`the read models did not reach ${head.commit}-${head.prepare} within 5 s`);
      }
    },
    async close() {
      await app.close();
      for (const processor of processors.list()) await processor.stop();
      await readStore.close();
      await eventStore.close();
    },
  };
}
