import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { createAccessLog } from '../../../src/app/access-log.ts';
import { EventStoreUnavailableError } from '../../../src/eventsourcing/eventstore/port.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import type { PersonalDataAccess } from '../../../src/http/ports.ts';

const logger = pino({ level: 'silent' });
const clock = () => new Date('2026-03-01T10:00:00.000Z');

const read = (caseId: string, reader = 'auditor'): PersonalDataAccess => ({
  caseId,
  reader,
  route: 'GET /api/v1/persons/case/:case_id',
  subjects: [{ type: 'PERSON', id: `${caseId}-p0` }],
  correlationId: 'req-1',
});

/** A long interval: the tests flush by hand, so nothing depends on a timer firing. */
const manual = { flushIntervalMs: 60_000 };

describe('personal-data read log', () => {
  it('appends queued reads to one access stream per case, in the order read', async () => {
    const eventStore = createInMemoryEventStore();
    const log = createAccessLog({ eventStore, logger, clock, ...manual });
    log.record(read('c1'));
    log.record(read('c1', 'reviewer'));
    log.record(read('c2'));
    await log.flush();
    const c1 = await eventStore.readStream('access-c1');
    assert.equal(c1?.length, 2);
    assert.deepEqual(
      c1?.map((event) => [event.type, (event.data as { reader: { id: string } }).reader.id]),
      [
        ['PersonalDataRead', 'auditor'],
        ['PersonalDataRead', 'reviewer'],
      ],
    );
    assert.equal((await eventStore.readStream('access-c2'))?.length, 1);
    assert.deepEqual(log.stats(), { recorded: 3, pending: 0, dropped: 0, appendFailures: 0 });
    await log.close();
  });

  it('never throws to the reader and keeps the records while the event store fails, then stores them once', async () => {
    const store = createInMemoryEventStore();
    let down = true;
    const flaky = {
      ...store,
      appendToStream: (...args: Parameters<typeof store.appendToStream>) =>
        down
          ? Promise.reject(new EventStoreUnavailableError('connection refused'))
          : store.appendToStream(...args),
    };
    const log = createAccessLog({ eventStore: flaky, logger, clock, ...manual });
    log.record(read('c1'));
    await log.flush();
    assert.deepEqual(log.stats(), { recorded: 0, pending: 1, dropped: 0, appendFailures: 1 });
    down = false;
    await log.flush();
    await log.flush();
    assert.equal((await store.readStream('access-c1'))?.length, 1);
    assert.deepEqual(log.stats(), { recorded: 1, pending: 0, dropped: 0, appendFailures: 1 });
    await log.close();
  });

  it('drops the oldest records past its bound and counts them', async () => {
    const store = createInMemoryEventStore();
    const failing = {
      ...store,
      appendToStream: () => Promise.reject(new EventStoreUnavailableError('down')),
    };
    const log = createAccessLog({ eventStore: failing, logger, clock, maxPending: 3, ...manual });
    for (let i = 0; i < 5; i++) log.record(read(`c${i}`));
    assert.deepEqual(log.stats(), { recorded: 0, pending: 3, dropped: 2, appendFailures: 0 });
    await log.close();
  });

  it('appends at once when a batch fills, without waiting for the interval', async () => {
    const eventStore = createInMemoryEventStore();
    const log = createAccessLog({ eventStore, logger, clock, maxBatch: 2, ...manual });
    log.record(read('c1'));
    log.record(read('c1'));
    await log.flush();
    assert.equal((await eventStore.readStream('access-c1'))?.length, 2);
    await log.close();
  });
});
