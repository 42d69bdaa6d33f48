// The framework's one entry point: applications import from here, never from deeper paths.
// Grouped by the data's path: events and deciders → commands → the event store → projections
// into read stores → processors (projectors and reactors) and persistent consumers; then the
// testing kit.

export {
  type CommandContext,
  type CommandHandler,
  type CommandHandlerOptions,
  type CommandResult,
  createCommandHandler,
} from './command/handler.ts';
export { type Decider, fold } from './core/decider.ts';
export {
  DomainError,
  EventValidationError,
  isTransient,
  type SchemaViolation,
  UnknownEventTypeError,
} from './core/errors.ts';
export {
  createEventRegistry,
  defineEvent,
  type EncodedEvent,
  type EventDefinition,
  type EventOf,
  type EventRegistry,
  type Upcaster,
} from './core/event-definitions.ts';
export type { AllPosition, DomainEvent, EventMetadata, RecordedEvent } from './core/events.ts';
export { comparePositions, formatPosition, maxPosition } from './core/positions.ts';
export {
  type DefinedProjection,
  defineProjection,
  type EventHandler,
  type Projection,
  type ProjectionDefinition,
  type ReadDocument,
} from './core/projection.ts';
export { categoryPrefix, streamIdOf, streamName } from './core/streams.ts';

export { createEsdbEventStore } from './eventstore/esdb.ts';
export { deterministicEventId } from './eventstore/event-ids.ts';
export {
  type AllFilter,
  type AppendOutcome,
  type EventStore,
  EventStoreUnavailableError,
  type ExpectedRevision,
  type NewEvent,
  type PersistentSource,
  type StoredEvent,
} from './eventstore/port.ts';
export {
  checkLeaseTiming,
  decideLease,
  type Leadership,
  type Lease,
  type LeaseDecision,
  type LeaseStore,
  type LeaseTiming,
  type LeaseWrite,
} from './leadership/lease.ts';
export { createMemoryLeaseStore } from './leadership/memory.ts';
export { createMongoLeaseStore, type MongoLeaseStoreOptions } from './leadership/mongo.ts';
export {
  type Following,
  type LeasedOptions,
  type LeasedProcessor,
  type LeaseTimers,
  leased,
} from './processor/leased.ts';
export type {
  LeaseMode,
  LeaseRole,
  LeaseView,
  Processor,
  ProcessorFailure,
  ProcessorKind,
  ProcessorState,
  ProcessorStatus,
  RebuildSupport,
  RetryOutcome,
} from './processor/processor.ts';
export { createProjectorProcessor, type ProjectorProcessor } from './processor/projector-processor.ts';
export { createReactor, type Reactor, type ReactorOptions } from './processor/reactor.ts';
export { createProcessorRegistry, type ProcessorRegistry } from './processor/registry.ts';
export { type EventRelevance, type Lag, relevanceOf } from './projection/lag.ts';
export { createProjectionObserver, type ProjectionObserver } from './projection/observer.ts';
export {
  createProjector,
  type ProjectionFailure,
  type Projector,
  type ProjectorOptions,
  type ProjectorState,
  type ProjectorStatus,
  type RebuildProgress,
} from './projection/projector.ts';
export { eventStoreSkipLog, readStoreSkipLog, type SkipLog } from './projection/skip-log.ts';
export { createInMemoryReadStore } from './readstore/memory.ts';
export { createMongoReadStore, type MongoReadStoreOptions } from './readstore/mongo.ts';
export {
  type Fence,
  FencedOutError,
  type FindQuery,
  type ReadStore,
  ReadStoreUnavailableError,
  type SkippedEvent,
} from './readstore/port.ts';
export {
  type ConsumerHandler,
  type ConsumerStatus,
  createPersistentConsumer,
  type PersistentConsumer,
  type PersistentConsumerOptions,
} from './subscription/consumer.ts';
export { type Backoff, defaultBackoff } from './support/backoff.ts';

export { createInMemoryEventStore } from './testing/in-memory-event-store.ts';
export { deciderSpec, projectionSpec, type SpecEvent } from './testing/specs.ts';
