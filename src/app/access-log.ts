import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import {
  accessStreamName,
  createAccessEventRegistry,
  type PersonalDataRead,
  type PersonalDataReadData,
} from '../cases/access.ts';
import type { EventMetadata } from '../eventsourcing/core/events.ts';
import type { EventStore, NewEvent } from '../eventsourcing/eventstore/port.ts';
import type { AccessLog, PersonalDataAccess } from '../http/ports.ts';

export type AccessLogOptions = {
  eventStore: EventStore;
  logger: Logger;
  clock: () => Date;
  /** How long a read waits for others to share its append. */
  flushIntervalMs?: number;
  /** A batch this large is appended at once, without waiting for the interval. */
  maxBatch?: number;
  /** Reads held while the event store fails; past this the oldest are dropped (and counted). */
  maxPending?: number;
};

export type AccessLogStats = {
  recorded: number;
  pending: number;
  dropped: number;
  appendFailures: number;
};

export type RecordingAccessLog = AccessLog & {
  /** Appends what is pending now; resolves when that is stored or has failed (and is kept). */
  flush(): Promise<void>;
  stats(): AccessLogStats;
  /** Stops the timer and makes a last attempt at what is pending. */
  close(): Promise<void>;
};

/**
 * Records reads of personal data in the `access-<case_id>` streams, batched: `record` only queues
 * (it never waits, never throws), and a timer appends what queued, one append per case. A read is
 * answered before its record is stored, so a crash loses at most the last interval's records;
 * while the event store fails, records stay queued (up to `maxPending`) and are retried with the
 * next batch, and every failure and drop is logged and counted in the metrics. Each record's
 * event id is fixed when it is queued, so an append that succeeded but was reported failed
 * writes nothing twice when retried.
 */
export function createAccessLog(options: AccessLogOptions): RecordingAccessLog {
  const flushIntervalMs = options.flushIntervalMs ?? 200;
  const maxBatch = options.maxBatch ?? 500;
  const maxPending = options.maxPending ?? 20_000;
  const registry = createAccessEventRegistry();
  const stats: AccessLogStats = { recorded: 0, pending: 0, dropped: 0, appendFailures: 0 };
  let pending: { caseId: string; event: NewEvent }[] = [];
  let flushing: Promise<void> | undefined;
  let closed = false;
  // Failed appends are retried every interval: warn once per outage, not once per attempt.
  let failingSince: Date | undefined;

  const timer = setInterval(() => void flush(), flushIntervalMs);
  timer.unref();

  function record(access: PersonalDataAccess): void {
    if (closed) return;
    const read: PersonalDataRead = {
      type: 'PersonalDataRead',
      data: {
        read_id: randomUUID(),
        case_id: access.caseId,
        reader: { type: 'USER', id: access.reader },
        route: access.route,
        subjects: access.subjects.map((subject) => ({ ...subject })),
        read_at: options.clock().toISOString(),
      } satisfies PersonalDataReadData,
    };
    const encoded = registry.encode(read);
    const metadata: EventMetadata = {
      correlationId: access.correlationId,
      causationId: access.correlationId,
      idempotencyKey: read.data.read_id,
      actor: access.reader,
      schemaVersion: encoded.schemaVersion,
    };
    pending.push({
      caseId: access.caseId,
      event: { id: read.data.read_id, type: encoded.type, data: encoded.data, metadata },
    });
    if (pending.length > maxPending) {
      const excess = pending.length - maxPending;
      pending.splice(0, excess);
      stats.dropped += excess;
      options.logger.warn(
        { dropped: excess, maxPending },
        'personal-data read records dropped: the event store has not taken them in time',
      );
    }
    stats.pending = pending.length;
    if (pending.length >= maxBatch) void flush();
  }

  function flush(): Promise<void> {
    // One append round at a time; a flush asked for meanwhile joins the running one.
    flushing ??= appendPending().finally(() => {
      flushing = undefined;
    });
    return flushing;
  }

  async function appendPending(): Promise<void> {
    while (pending.length > 0) {
      const batch = pending.splice(0, maxBatch);
      const byCase = new Map<string, NewEvent[]>();
      for (const { caseId, event } of batch) byCase.set(caseId, [...(byCase.get(caseId) ?? []), event]);
      const failed: { caseId: string; event: NewEvent }[] = [];
      await Promise.all(
        [...byCase].map(async ([caseId, events]) => {
          try {
            await options.eventStore.appendToStream(accessStreamName(caseId), events, 'any');
            stats.recorded += events.length;
            if (failingSince !== undefined) {
              options.logger.info(
                { failing_since: failingSince.toISOString() },
                'personal-data read records stored again',
              );
              failingSince = undefined;
            }
          } catch (error) {
            stats.appendFailures += 1;
            if (failingSince === undefined) {
              failingSince = options.clock();
              options.logger.warn(
                { err: error, case_id: caseId, records: events.length },
                'personal-data read records not stored yet: kept and retried every interval',
              );
            }
            for (const event of events) failed.push({ caseId, event });
          }
        }),
      );
      if (failed.length > 0) {
        // Back to the front, in order; the next tick tries again.
        pending = [...failed, ...pending];
        stats.pending = pending.length;
        return;
      }
      stats.pending = pending.length;
    }
  }

  return {
    record,
    flush,
    stats: () => ({ ...stats }),
    async close() {
      closed = true;
      clearInterval(timer);
      await flush();
      if (pending.length > 0) {
        options.logger.error(
          { lost: pending.length },
          'personal-data read records could not be stored before shutdown',
        );
      }
    },
  };
}
