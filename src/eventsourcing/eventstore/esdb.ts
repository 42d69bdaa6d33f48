import {
  type AllStreamSubscription,
  ANY,
  BACKWARDS,
  CancelledError,
  DeadlineExceededError,
  DISPATCH_TO_SINGLE,
  END,
  EVENT_TYPE,
  EventStoreDBClient,
  type Filter,
  FORWARDS,
  jsonEvent,
  NO_STREAM,
  PersistentSubscriptionDoesNotExistError,
  PersistentSubscriptionExistsError,
  type PersistentSubscriptionToStreamSettings,
  PINNED,
  type Position,
  persistentSubscriptionToAllSettingsFromDefaults,
  persistentSubscriptionToStreamSettingsFromDefaults,
  type ResolvedEvent,
  ROUND_ROBIN,
  START,
  STREAM_EXISTS,
  STREAM_NAME,
  StreamNotFoundError,
  TimeoutError,
  UNBOUNDED,
  UnavailableError,
  WrongExpectedVersionError,
} from '@eventstore/db-client';
import type {
  AllFilter,
  AllSubscription,
  AllSubscriptionOptions,
  AppendOutcome,
  EnsureGroupOutcome,
  EventStore,
  ExpectedRevision,
  HeadOfAll,
  NewEvent,
  ParkedEvent,
  PersistentDelivery,
  PersistentGroupSettings,
  PersistentSource,
  PersistentSubscription,
  PersistentSubscriptions,
  StoredEvent,
  SubscriptionMessage,
} from './port.ts';
import { EventStoreUnavailableError } from './port.ts';
import { AsyncQueue } from './queue.ts';

/** Positions at or above 2^63 are the server's "no position" markers (e.g. TFPos(-1,-1)). */
const NO_POSITION_FLOOR = 1n << 63n;

type AnyResolved = {
  event?: {
    id: string;
    streamId: string;
    type: string;
    revision: bigint;
    created: Date;
    data: unknown;
    metadata?: unknown;
    position?: Position;
  };
  link?: { id: string; metadata?: unknown; created: Date };
  commitPosition?: bigint;
};

function toStored(resolved: AnyResolved): StoredEvent | null {
  const event = resolved.event;
  if (!event) return null;
  const position = event.position ?? {
    commit: resolved.commitPosition ?? 0n,
    prepare: resolved.commitPosition ?? 0n,
  };
  return {
    id: event.id,
    streamId: event.streamId,
    type: event.type,
    revision: event.revision,
    position: { commit: position.commit, prepare: position.prepare },
    created: event.created,
    data: event.data,
    metadata: event.metadata,
  };
}

function isTransient(error: unknown): boolean {
  return (
    error instanceof UnavailableError ||
    error instanceof DeadlineExceededError ||
    error instanceof TimeoutError ||
    error instanceof CancelledError
  );
}

/** Translates driver errors: transient ones become EventStoreUnavailableError, others pass. */
function translate(error: unknown): unknown {
  if (error instanceof EventStoreUnavailableError) return error;
  if (isTransient(error)) {
    return new EventStoreUnavailableError(`event store unavailable: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return error;
}

async function guarded<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    throw translate(error);
  }
}

function toClientExpected(expected: ExpectedRevision) {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      return expected;
  }
}

function toClientFilter(
  filter: AllFilter,
  checkpointInterval: number,
  onCheckpoint?: Filter['checkpointReached'],
): Filter {
  const base = { checkpointInterval, ...(onCheckpoint ? { checkpointReached: onCheckpoint } : {}) };
  if ('streamPrefixes' in filter)
    return { ...base, filterOn: STREAM_NAME, prefixes: [...filter.streamPrefixes] };
  if ('eventTypePrefixes' in filter)
    return { ...base, filterOn: EVENT_TYPE, prefixes: [...filter.eventTypePrefixes] };
  return { ...base, filterOn: STREAM_NAME, regex: filter.streamRegex };
}

function strategyName(strategy: PersistentGroupSettings['strategy']): string {
  if (strategy === 'pinned') return PINNED;
  if (strategy === 'round_robin') return ROUND_ROBIN;
  return DISPATCH_TO_SINGLE;
}

function clientSettings(settings: PersistentGroupSettings) {
  return {
    resolveLinkTos: true,
    extraStatistics: false,
    messageTimeout: settings.messageTimeoutMs,
    maxRetryCount: settings.maxRetryCount,
    checkPointAfter: settings.checkpointAfterMs,
    checkPointLowerBound: settings.minCheckpointCount,
    checkPointUpperBound: settings.maxCheckpointCount,
    maxSubscriberCount: settings.maxSubscriberCount === 0 ? UNBOUNDED : settings.maxSubscriberCount,
    liveBufferSize: settings.liveBufferSize,
    readBatchSize: settings.readBatchSize,
    historyBufferSize: settings.historyBufferSize,
    consumerStrategyName: strategyName(settings.strategy),
  } as const;
}

function sameSettings(
  current: Omit<PersistentSubscriptionToStreamSettings, 'startFrom'>,
  wanted: PersistentGroupSettings,
): boolean {
  const target = clientSettings(wanted);
  return (
    current.messageTimeout === target.messageTimeout &&
    current.maxRetryCount === target.maxRetryCount &&
    current.checkPointAfter === target.checkPointAfter &&
    current.checkPointLowerBound === target.checkPointLowerBound &&
    current.checkPointUpperBound === target.checkPointUpperBound &&
    String(current.maxSubscriberCount) === String(target.maxSubscriberCount) &&
    current.liveBufferSize === target.liveBufferSize &&
    current.readBatchSize === target.readBatchSize &&
    current.historyBufferSize === target.historyBufferSize &&
    current.consumerStrategyName === target.consumerStrategyName &&
    current.resolveLinkTos === target.resolveLinkTos
  );
}

function parkedStreamOf(source: PersistentSource, group: string): string {
  return `$persistentsubscription-${'stream' in source ? source.stream : '$all'}::${group}-parked`;
}

function parseParkMetadata(metadata: unknown): { reason: string; parkedAt: Date | null } {
  let value = metadata;
  if (value instanceof Uint8Array) {
    try {
      value = JSON.parse(Buffer.from(value).toString('utf8'));
    } catch {
      value = undefined;
    }
  }
  const record = (value ?? {}) as { Reason?: unknown; Added?: unknown };
  const raw = typeof record.Reason === 'string' ? record.Reason : '';
  const reason = raw.replace(/^Client explicitly NAK'ed message\.\n?/, '');
  const parkedAt = typeof record.Added === 'string' ? new Date(record.Added) : null;
  return { reason, parkedAt: parkedAt && !Number.isNaN(parkedAt.getTime()) ? parkedAt : null };
}

function createPersistent(client: EventStoreDBClient): PersistentSubscriptions {
  async function info(source: PersistentSource, group: string) {
    try {
      return 'stream' in source
        ? await client.getPersistentSubscriptionToStreamInfo(source.stream, group)
        : await client.getPersistentSubscriptionToAllInfo(group);
    } catch (error) {
      if (error instanceof PersistentSubscriptionDoesNotExistError) return null;
      throw error;
    }
  }

  async function create(source: PersistentSource, group: string, settings: PersistentGroupSettings) {
    const common = clientSettings(settings);
    if ('stream' in source) {
      await client.createPersistentSubscriptionToStream(
        source.stream,
        group,
        persistentSubscriptionToStreamSettingsFromDefaults({
          ...common,
          startFrom: settings.startFrom === 'start' ? START : END,
        }),
      );
    } else {
      await client.createPersistentSubscriptionToAll(
        group,
        persistentSubscriptionToAllSettingsFromDefaults({
          ...common,
          startFrom: settings.startFrom === 'start' ? START : END,
        }),
        source.filter ? { filter: toClientFilter(source.filter, 1) } : {},
      );
    }
  }

  async function update(source: PersistentSource, group: string, settings: PersistentGroupSettings) {
    const common = clientSettings(settings);
    if ('stream' in source) {
      await client.updatePersistentSubscriptionToStream(
        source.stream,
        group,
        persistentSubscriptionToStreamSettingsFromDefaults({
          ...common,
          startFrom: settings.startFrom === 'start' ? START : END,
        }),
      );
    } else {
      await client.updatePersistentSubscriptionToAll(
        group,
        persistentSubscriptionToAllSettingsFromDefaults({
          ...common,
          startFrom: settings.startFrom === 'start' ? START : END,
        }),
      );
    }
  }

  return {
    ensureGroup: (source, group, settings) =>
      guarded(async (): Promise<EnsureGroupOutcome> => {
        const existing = await info(source, group);
        if (!existing) {
          try {
            await create(source, group, settings);
            return 'created';
          } catch (error) {
            // Another instance created it between our look and our create: compare with theirs.
            if (!(error instanceof PersistentSubscriptionExistsError)) throw error;
            const raced = await info(source, group);
            if (raced && sameSettings(raced.settings, settings)) return 'unchanged';
            await update(source, group, settings);
            return 'updated';
          }
        }
        if (sameSettings(existing.settings, settings)) return 'unchanged';
        await update(source, group, settings);
        return 'updated';
      }),

    subscribe(source, group, options): PersistentSubscription {
      const subscription =
        'stream' in source
          ? client.subscribeToPersistentSubscriptionToStream(source.stream, group, {
              bufferSize: options.bufferSize,
            })
          : client.subscribeToPersistentSubscriptionToAll(group, { bufferSize: options.bufferSize });
      const queue = new AsyncQueue<PersistentDelivery>({
        pause: () => subscription.pause(),
        resume: () => subscription.resume(),
      });
      subscription.on('data', (resolved: ResolvedEvent & { retryCount: number }) => {
        const event = toStored(resolved as AnyResolved);
        if (!event) {
          // A link to a deleted event: nothing to hand over, settle it so it does not block.
          void subscription.nack('skip', 'link target missing', resolved).catch(() => undefined);
          return;
        }
        queue.push({
          event,
          retryCount: resolved.retryCount,
          ack: () => guarded(() => subscription.ack(resolved)),
          nack: (action, reason) => guarded(() => subscription.nack(action, reason, resolved)),
        });
      });
      subscription.on('error', (error) => queue.fail(translate(error)));
      subscription.on('end', () => queue.end());
      subscription.on('close', () => queue.end());
      return {
        [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
        close: async () => {
          queue.end();
          // A paused stream never finishes after a cancel, and the client's dispose waits for it.
          subscription.resume();
          await subscription.unsubscribe().catch(() => undefined);
        },
      };
    },

    listParked: (source, group, limit) =>
      guarded(async () => {
        const parked: ParkedEvent[] = [];
        try {
          for await (const resolved of client.readStream(parkedStreamOf(source, group), {
            direction: FORWARDS,
            fromRevision: START,
            resolveLinkTos: true,
            maxCount: limit,
          })) {
            const event = toStored(resolved as AnyResolved);
            if (!event) continue;
            parked.push({ event, ...parseParkMetadata(resolved.link?.metadata) });
          }
        } catch (error) {
          if (error instanceof StreamNotFoundError) return [];
          throw error;
        }
        return parked;
      }),

    replayParked: (source, group, stopAt) =>
      guarded(async () => {
        const options = stopAt === undefined ? {} : { stopAt };
        if ('stream' in source) await client.replayParkedMessagesToStream(source.stream, group, options);
        else await client.replayParkedMessagesToAll(group, options);
      }),

    deleteGroup: (source, group) =>
      guarded(async () => {
        try {
          if ('stream' in source) await client.deletePersistentSubscriptionToStream(source.stream, group);
          else await client.deletePersistentSubscriptionToAll(group);
        } catch (error) {
          if (!(error instanceof PersistentSubscriptionDoesNotExistError)) throw error;
        }
      }),
  };
}

function subscribe(client: EventStoreDBClient, options: AllSubscriptionOptions): AllSubscription {
  let subscription: AllStreamSubscription | null = null;
  const queue = new AsyncQueue<SubscriptionMessage>({
    pause: () => subscription?.pause(),
    resume: () => subscription?.resume(),
  });
  const readableDrainWaiters: (() => void)[] = [];
  const readableDrained = (): Promise<void> => {
    if (!subscription || subscription.readableLength === 0) return Promise.resolve();
    return new Promise((resolve) => readableDrainWaiters.push(resolve));
  };
  // The client invokes (and awaits) this between messages; events it pushed before may still sit
  // in its readable buffer, so wait until they reached our queue to keep `$all` order.
  const onCheckpoint = async (_sub: unknown, position: Position) => {
    if (position.commit >= NO_POSITION_FLOOR) return;
    await readableDrained();
    queue.push({ kind: 'checkpoint', position: { commit: position.commit, prepare: position.prepare } });
  };
  const filter = options.filter
    ? toClientFilter(options.filter, options.checkpointInterval ?? 1, onCheckpoint)
    : undefined;
  subscription = client.subscribeToAll({
    fromPosition: options.from === 'start' ? START : options.from,
    ...(filter ? { filter } : {}),
  });
  subscription.on('data', (resolved) => {
    const event = toStored(resolved as AnyResolved);
    if (event && !(filter === undefined && (event.streamId.startsWith('$') || event.type.startsWith('$')))) {
      queue.push({ kind: 'event', event });
    }
    if (subscription && subscription.readableLength === 0 && readableDrainWaiters.length > 0) {
      for (const resolve of readableDrainWaiters.splice(0)) resolve();
    }
  });
  subscription.on('caughtUp', () => {
    void readableDrained().then(() => queue.push({ kind: 'caughtUp' }));
  });
  subscription.on('error', (error) => queue.fail(translate(error)));
  subscription.on('end', () => queue.end());
  return {
    [Symbol.asyncIterator]: () => queue[Symbol.asyncIterator](),
    close: async () => {
      queue.end();
      // A paused stream never finishes after a cancel, and the client's dispose waits for it.
      subscription?.resume();
      await subscription?.unsubscribe().catch(() => undefined);
    },
  };
}

/**
 * The EventStoreDB adapter: the only module that imports `@eventstore/db-client`. Pass a
 * connection string (`esdb://host:port?tls=false`); `close()` disposes the client.
 */
export function createEsdbEventStore(options: { connectionString: string }): EventStore {
  const client = EventStoreDBClient.connectionString(options.connectionString);

  return {
    readStream: (stream, readOptions) =>
      guarded(async () => {
        const events: StoredEvent[] = [];
        try {
          for await (const resolved of client.readStream(stream, {
            direction: FORWARDS,
            fromRevision: readOptions?.fromRevision ?? START,
          })) {
            const event = toStored(resolved as AnyResolved);
            if (event) events.push(event);
          }
        } catch (error) {
          if (error instanceof StreamNotFoundError) return null;
          throw error;
        }
        return events;
      }),

    appendToStream: (stream, events: readonly NewEvent[], expected) =>
      guarded(async (): Promise<AppendOutcome> => {
        try {
          const result = await client.appendToStream(
            stream,
            events.map((event) =>
              jsonEvent({
                id: event.id,
                type: event.type,
                data: event.data as Record<string, unknown>,
                metadata: event.metadata as Record<string, unknown>,
              }),
            ),
            { expectedRevision: toClientExpected(expected) },
          );
          const position = result.position ?? { commit: 0n, prepare: 0n };
          return {
            outcome: 'appended',
            nextRevision: result.nextExpectedRevision,
            position: { commit: position.commit, prepare: position.prepare },
          };
        } catch (error) {
          if (error instanceof WrongExpectedVersionError) {
            const actual = error.actualVersion;
            return {
              outcome: 'conflict',
              expected,
              actual: typeof actual === 'bigint' && actual >= 0n ? actual : 'no_stream',
            };
          }
          throw error;
        }
      }),

    subscribeToAll: (subscriptionOptions) => subscribe(client, subscriptionOptions),

    readAll: (after, maxCount) =>
      guarded(async () => {
        const events: StoredEvent[] = [];
        // Reading forwards from a position includes it, so ask for one more and drop it.
        const read = client.readAll({
          direction: FORWARDS,
          fromPosition: after === 'start' ? START : after,
          maxCount: after === 'start' ? maxCount : maxCount + 1,
        });
        for await (const resolved of read) {
          const event = toStored(resolved as AnyResolved);
          if (!event) continue;
          if (
            after !== 'start' &&
            event.position.commit === after.commit &&
            event.position.prepare === after.prepare
          ) {
            continue;
          }
          if (events.length < maxCount) events.push(event);
        }
        return events;
      }),

    headOfAll: () =>
      guarded(async (): Promise<HeadOfAll | null> => {
        // Read to the end rather than returning from the loop: an abandoned read stays open on
        // the client and its dispose would wait for it forever.
        let head: HeadOfAll | null = null;
        for await (const resolved of client.readAll({
          direction: BACKWARDS,
          fromPosition: END,
          maxCount: 1,
        })) {
          const event = toStored(resolved as AnyResolved);
          if (event && !head) head = { position: event.position, created: event.created };
        }
        return head;
      }),

    persistent: createPersistent(client),

    close: () => client.dispose(),
  };
}
