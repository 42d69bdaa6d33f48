import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { createErasureService } from '../../../src/app/erasure-service.ts';
import { ERASED, personalDataDeclarations } from '../../../src/cases/personal-data.ts';
import {
  createKeyStore,
  createMemoryKeyRecords,
  type KeyStore,
  keyIdOf,
} from '../../../src/eventsourcing/protection/key-store.ts';
import { protectPersonalData } from '../../../src/eventsourcing/protection/protected-event-store.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { startErasureIndex } from '../../support/erasure-index.ts';
import { eventually } from '../../support/eventually.ts';

const ENDED = '2026-03-01T00:00:00.000Z';
const stops: (() => Promise<void>)[] = [];
after(async () => {
  for (const stop of stops) await stop();
});

async function setup(options: { failDestroys?: number } = {}) {
  const stored = createInMemoryEventStore();
  const records = createMemoryKeyRecords();
  const kek = { id: 'k', key: randomBytes(32) };
  const keys = createKeyStore({ records, kek });
  let failures = options.failDestroys ?? 0;
  // A key store that fails its first destroys: the process dying mid-erasure, as seen from the store.
  const keyStore: KeyStore = {
    ...keys,
    destroy: async (keyId) => {
      if (failures > 0) {
        failures--;
        throw new Error('crashed while destroying keys');
      }
      return keys.destroy(keyId);
    },
  };
  const eventStore = protectPersonalData(stored, { keyStore, declarations: personalDataDeclarations });
  let now = new Date('2026-01-01T00:00:00.000Z');
  const erased: string[] = [];
  const indexed = await startErasureIndex(eventStore);
  stops.push(indexed.stop);
  const erasure = createErasureService({
    eventStore,
    storedEvents: stored,
    keyStore,
    index: indexed.index,
    clock: () => now,
    retention: { rule: 'AMLR-77', years: 5 },
    rejectedIntakeRetention: { rule: 'INTAKE-REJECTED', days: 30 },
    onErased: (caseId) => erased.push(caseId),
  });
  const caseId = randomUUID();
  const name = `Qzv${randomUUID().replaceAll('-', '')}`;
  await eventStore.appendToStream(
    `case-${caseId}`,
    ['p1', 'p2'].map((person) => ({
      id: randomUUID(),
      type: 'PersonAdded',
      data: {
        person_id: person,
        case_id: caseId,
        company_id: null,
        firstname: name,
        lastname: name,
        birthdate: null,
        role_in_company: null,
        added_at: ENDED,
      },
      metadata: {},
    })),
    'no_stream',
  );
  return {
    records,
    kek,
    stored,
    eventStore,
    readStore: indexed.readStore,
    keyStore,
    erasure,
    caseId,
    name,
    erased,
    setNow: (at: string) => {
      now = new Date(at);
    },
  };
}

describe('erasure service', () => {
  it('counts requests by status and the ones due for longer than the grace as overdue', async () => {
    const { erasure, caseId, setNow } = await setup();
    const DAY = 86_400_000;
    assert.deepEqual(await erasure.summary(DAY), {
      byStatus: { none: 0, deferred: 0, due: 0, executing: 0, completed: 0 },
      overdue: 0,
    });
    await erasure.requestErasure(caseId, 'dpo', 'api');
    assert.equal((await erasure.summary(DAY)).byStatus.deferred, 1);
    await erasure.endRelationship(caseId, ENDED, 'ops');
    setNow('2031-03-01T12:00:00.000Z');
    assert.deepEqual(await erasure.summary(DAY), {
      byStatus: { none: 0, deferred: 0, due: 1, executing: 0, completed: 0 },
      overdue: 0,
    });
    setNow('2031-03-02T00:00:01.000Z');
    assert.equal((await erasure.summary(DAY)).overdue, 1, 'due for a day and a second');
    await erasure.runDue();
    assert.deepEqual(await erasure.summary(DAY), {
      byStatus: { none: 0, deferred: 0, due: 0, executing: 0, completed: 1 },
      overdue: 0,
    });
  });

  it('lists and counts erasures of single subjects beside whole cases, overdue ones included', async () => {
    const { erasure, caseId, setNow } = await setup();
    const DAY = 86_400_000;
    await erasure.requestSubjectErasure(caseId, 'p2', 'removed_from_case', 'dpo');
    const holdId = await erasure.placeHold(caseId, 'litigation', 'legal', 'hold-1');
    await erasure.requestSubjectErasure(caseId, 'p1', 'recorded_in_error', 'dpo');
    const listed = async (status?: 'deferred' | 'due' | 'executing' | 'completed') =>
      (await erasure.list(status, 100)).map((e) => `${e.case_id === caseId}:${e.subject_id}:${e.status}`);
    assert.deepEqual((await listed('deferred')).sort(), ['true:p1:deferred', 'true:p2:deferred']);
    assert.deepEqual(await erasure.summary(DAY), {
      byStatus: { none: 0, deferred: 2, due: 0, executing: 0, completed: 0 },
      overdue: 0,
    });

    // Released, the one recorded in error is due at once (from its request), overdue a day later.
    await erasure.releaseHold(caseId, holdId, 'settled', 'legal-2');
    setNow('2026-01-02T00:00:01.000Z');
    assert.deepEqual(await listed('due'), ['true:p1:due']);
    assert.deepEqual(await erasure.summary(DAY), {
      byStatus: { none: 0, deferred: 1, due: 1, executing: 0, completed: 0 },
      overdue: 1,
    });

    assert.deepEqual(await erasure.runDue(), [`${caseId}/subjects/p1`]);
    await erasure.requestErasure(caseId, 'dpo', 'api');
    const completed = (await erasure.list('completed', 100)).find((e) => e.case_id === caseId);
    assert.ok(completed?.status === 'completed');
    assert.deepEqual(
      [completed.subject_id, completed.completed_at, completed.requested_at],
      ['p1', '2026-01-02T00:00:01.000Z', '2026-01-01T00:00:00.000Z'],
    );
    assert.deepEqual(await listed(), ['true:null:deferred', 'true:p2:deferred', 'true:p1:completed']);
    assert.deepEqual(await listed('completed'), ['true:p1:completed']);
    assert.equal((await erasure.list(undefined, 2)).length, 2, 'the limit holds across both kinds');
    assert.deepEqual(await erasure.summary(DAY), {
      byStatus: { none: 0, deferred: 2, due: 0, executing: 0, completed: 1 },
      overdue: 0,
    });
  });

  it('runs the due job from the index: it reads the retention streams of due cases only', async () => {
    const { eventStore, erasure, caseId, setNow } = await setup();
    const others = [randomUUID(), randomUUID()];
    for (const other of [caseId, ...others]) await erasure.requestErasure(other, 'dpo', 'api');
    await erasure.endRelationship(caseId, ENDED, 'ops');
    await erasure.endRelationship(others[0]!, '2030-01-01T00:00:00.000Z', 'ops');
    setNow('2031-06-01T00:00:00.000Z');
    const read: string[] = [];
    const readStream = eventStore.readStream;
    eventStore.readStream = (stream, options) => {
      read.push(stream);
      return readStream(stream, options);
    };
    assert.deepEqual(await erasure.runDue(), [caseId]);
    assert.ok(read.length > 0, 'the due case was read');
    assert.deepEqual(
      read.filter((stream) => stream.startsWith('retention-') && stream !== `retention-${caseId}`),
      [],
      'no deferred case was read',
    );
  });

  it('accepts a request at once, defers it through retention and holds, then shreds and certifies', async () => {
    const { eventStore, keyStore, erasure, caseId, name, erased, setNow } = await setup();
    const requested = await erasure.requestErasure(caseId, 'dpo', 'api');
    assert.ok(requested.status === 'deferred', 'accepted at once, and deferred');
    assert.deepEqual([requested.due_at, requested.blocking], [null, ['relationship_active']]);
    await erasure.endRelationship(caseId, ENDED, 'ops');
    setNow('2031-02-28T23:59:59.000Z');
    assert.deepEqual(await erasure.runDue(), [], 'nothing runs a second before the retention date');
    assert.equal((await erasure.executeIfDue(caseId)).status, 'deferred');
    assert.ok((await keyStore.listByScope(caseId)).every((k) => k.status === 'active'));

    const holdId = await erasure.placeHold(caseId, 'litigation', 'legal', 'hold-request-1');
    assert.equal(await erasure.placeHold(caseId, 'litigation', 'legal', 'hold-request-1'), holdId);
    setNow('2031-06-01T00:00:00.000Z');
    const held = await erasure.status(caseId);
    assert.ok(held.status === 'deferred' && held.blocking.join() === 'legal_hold');
    assert.deepEqual(await erasure.runDue(), []);
    await assert.rejects(erasure.releaseHold(caseId, holdId, 'settled', 'legal'), {
      code: 'retention.own_hold',
    });
    assert.deepEqual(await erasure.runDue(), [], 'the hold stays when its own placer tries to lift it');
    await erasure.releaseHold(caseId, holdId, 'settled', 'legal-2');

    assert.deepEqual(await erasure.runDue(), [caseId]);
    assert.deepEqual(erased, [caseId]);
    const done = await erasure.status(caseId);
    assert.equal(done.status, 'completed');
    assert.ok((await keyStore.listByScope(caseId)).every((k) => k.status === 'destroyed'));
    const events = (await eventStore.readStream(`case-${caseId}`)) ?? [];
    assert.deepEqual(
      events.map((e) => (e.data as { firstname: string }).firstname),
      [ERASED, ERASED],
    );

    const certificate = done.certificate!;
    assert.ok(!JSON.stringify(certificate).includes(name), 'the certificate names no one');
    assert.equal(certificate.destroyed_key_ids.length, 2);
    assert.equal(certificate.retain_until, '2031-03-01T00:00:00.000Z');
    assert.deepEqual(
      certificate.checks.map((c) => [c.store, c.result]),
      [
        ['key store', 'passed'],
        ['event store', 'passed'],
        ['read store', 'not_checked'],
      ],
    );
    const completing = (await eventStore.readStream(`retention-${caseId}`))!.find(
      (e) => e.type === 'ErasureCompleted',
    )!;
    assert.equal(
      certificate.completing_event.sha256,
      createHash('sha256')
        .update(JSON.stringify({ type: completing.type, data: completing.data }))
        .digest('hex'),
    );
    assert.deepEqual(await erasure.runDue(), [], 'a completed erasure does not run again');
  });

  it('finishes an erasure cut short between its start and its completion, once', async () => {
    const { stored, erasure, caseId, setNow } = await setup({ failDestroys: 1 });
    await erasure.requestErasure(caseId, 'dpo', 'api');
    await erasure.endRelationship(caseId, ENDED, 'ops');
    setNow('2032-01-01T00:00:00.000Z');
    await assert.rejects(erasure.runDue(), /crashed while destroying keys/);
    assert.equal((await erasure.status(caseId)).status, 'executing');
    assert.deepEqual(await erasure.runDue(), [caseId]);
    assert.deepEqual(await erasure.runDue(), []);
    const types = ((await stored.readStream(`retention-${caseId}`)) ?? []).map((e) => e.type);
    assert.deepEqual(types, ['ErasureRequested', 'RelationshipEnded', 'ErasureStarted', 'ErasureCompleted']);
  });

  it('erases one person recorded in error at once, and leaves the rest of the case readable', async () => {
    const { eventStore, keyStore, erasure, caseId, name } = await setup();
    const done = await erasure.requestSubjectErasure(caseId, 'p1', 'recorded_in_error', 'dpo');
    assert.equal(done.status, 'completed', 'no retention date applies to a person recorded in error');
    const names = ((await eventStore.readStream(`case-${caseId}`)) ?? []).map(
      (e) => (e.data as { person_id: string; firstname: string }).firstname,
    );
    assert.deepEqual(names, [ERASED, name]);
    assert.deepEqual((await keyStore.listByScope(caseId)).map((k) => `${k.subject}:${k.status}`).sort(), [
      'p1:destroyed',
      'p2:active',
    ]);
    const certificate = done.certificate!;
    assert.deepEqual(
      [certificate.subject_id, certificate.reason_code, certificate.destroyed_key_ids],
      ['p1', 'recorded_in_error', [keyIdOf(caseId, 'p1')]],
    );
    assert.ok(!JSON.stringify(certificate).includes(name));
    assert.deepEqual(
      certificate.checks.slice(0, 2).map((c) => [c.store, c.result]),
      [
        ['key store', 'passed'],
        ['event store', 'passed'],
      ],
    );
    assert.equal((await erasure.status(caseId)).status, 'none', 'the case itself is not erased');
  });

  it('holds a single-person erasure while a legal hold remains, and through retention unless recorded in error', async () => {
    const { keyStore, erasure, caseId, setNow } = await setup();
    const removed = await erasure.requestSubjectErasure(caseId, 'p2', 'removed_from_case', 'dpo');
    assert.ok(removed.status === 'deferred' && removed.blocking.join() === 'relationship_active');
    const holdId = await erasure.placeHold(caseId, 'litigation', 'legal', 'hold-1');
    const held = await erasure.requestSubjectErasure(caseId, 'p1', 'recorded_in_error', 'dpo');
    assert.ok(held.status === 'deferred' && held.blocking.join() === 'legal_hold');
    assert.deepEqual(await erasure.runDue(), []);
    assert.ok((await keyStore.listByScope(caseId)).every((k) => k.status === 'active'));
    await erasure.releaseHold(caseId, holdId, 'settled', 'legal-2');
    assert.deepEqual(await erasure.runDue(), [`${caseId}/subjects/p1`]);
    await erasure.endRelationship(caseId, ENDED, 'ops');
    setNow('2031-03-01T00:00:00.000Z');
    assert.deepEqual(await erasure.runDue(), [`${caseId}/subjects/p2`]);
    await assert.rejects(erasure.requestSubjectErasure(caseId, 'nobody', 'recorded_in_error', 'dpo'), {
      code: 'subject.not_found',
    });
  });

  it('shreds again, from the erasure ledger, every key a restored key-store backup brings back', async () => {
    const { stored, eventStore, records, kek, erasure, caseId, name, setNow } = await setup();
    const backup = records.all();
    // A person added after the backup: the restored key store never had their key.
    await eventStore.appendToStream(
      `case-${caseId}`,
      [
        {
          id: randomUUID(),
          type: 'PersonAdded',
          data: {
            person_id: 'p3',
            case_id: caseId,
            company_id: null,
            firstname: name,
            lastname: name,
            birthdate: null,
            role_in_company: null,
            added_at: ENDED,
          },
          metadata: {},
        },
      ],
      'any',
    );
    await erasure.requestErasure(caseId, 'dpo', 'api');
    await erasure.endRelationship(caseId, ENDED, 'ops');
    setNow('2032-01-01T00:00:00.000Z');
    assert.deepEqual(await erasure.runDue(), [caseId]);

    const restoredRecords = createMemoryKeyRecords();
    for (const record of backup) await restoredRecords.insertIfAbsent(record);
    const restored = createKeyStore({ records: restoredRecords, kek });
    const reader = protectPersonalData(stored, {
      keyStore: restored,
      declarations: personalDataDeclarations,
    });
    const firstnames = async () =>
      ((await reader.readStream(`case-${caseId}`)) ?? []).map(
        (e) => (e.data as { firstname?: string }).firstname,
      );
    assert.deepEqual((await firstnames()).slice(0, 2), [name, name], 'the restore brought the keys back');

    const indexed = await startErasureIndex(reader);
    stops.push(indexed.stop);
    const afterRestore = createErasureService({
      eventStore: reader,
      storedEvents: stored,
      keyStore: restored,
      index: indexed.index,
      clock: () => new Date('2032-01-02T00:00:00.000Z'),
      retention: { rule: 'AMLR-77', years: 5 },
    });
    const report = await afterRestore.replayLedger();
    assert.deepEqual(
      [report.erasures, report.keys, report.destroyedAgain.length, report.tombstonesAdded],
      [1, 3, 2, [keyIdOf(caseId, 'p3')]],
    );
    assert.deepEqual(await firstnames(), [ERASED, ERASED, ERASED], 'erased again, none tampered');
    assert.deepEqual((await afterRestore.replayLedger()).destroyedAgain, [], 'a second replay finds nothing');
  });

  it('erases a rejected intake message by its own shorter rule, counted from its receipt', async () => {
    const { eventStore, keyStore, erasure, name, setNow, readStore } = await setup();
    const receipt = randomUUID();
    await eventStore.appendToStream(
      `intake-${receipt}`,
      [
        {
          id: randomUUID(),
          type: 'IntakeReceived',
          data: {
            receipt_id: receipt,
            source: 'http',
            transport: {},
            idempotency_key: null,
            received_at: '2026-01-01T00:00:00.000Z',
            recorded_at: '2026-01-01T00:00:00.000Z',
            payload: { persons: [{ firstname: name }] },
            raw_text: null,
            outcome: 'rejected',
            case_id: null,
            violations: [],
            error_code: 'intake.invalid',
          },
          metadata: {},
        },
      ],
      'no_stream',
    );
    const payload = async () =>
      ((await eventStore.readStream(`intake-${receipt}`)) ?? []).map(
        (e) => (e.data as { payload: unknown }).payload,
      );
    // The intake is written by the intake handler, not this service: wait for the index to see it.
    await eventually('the index to list the rejected intake', async () =>
      (await readStore.get('erasure_index', `intake-${receipt}`)) === null ? undefined : true,
    );
    setNow('2026-01-30T23:59:59.000Z');
    assert.deepEqual(await erasure.runDue(), [], 'kept for 30 days');
    assert.deepEqual(await payload(), [{ persons: [{ firstname: name }] }]);
    setNow('2026-01-31T00:00:00.000Z');
    assert.deepEqual(await erasure.runDue(), [`intake-${receipt}`]);
    assert.deepEqual(await payload(), [null]);
    assert.ok((await keyStore.listByScope(`intake-${receipt}`)).every((k) => k.status === 'destroyed'));
    const done = await erasure.status(`intake-${receipt}`);
    assert.deepEqual(
      [done.certificate?.rule, done.certificate?.retain_until, done.certificate?.checks[1]?.result],
      ['INTAKE-REJECTED', '2026-01-31T00:00:00.000Z', 'passed'],
    );
    assert.deepEqual(await erasure.runDue(), [], 'once');
  });

  it('records no personal data for the erased subjects after completion', async () => {
    const { eventStore, erasure, caseId, setNow } = await setup();
    await erasure.requestErasure(caseId, 'dpo', 'api');
    await erasure.endRelationship(caseId, ENDED, 'ops');
    setNow('2032-01-01T00:00:00.000Z');
    await erasure.runDue();
    await assert.rejects(
      eventStore.appendToStream(
        `case-${caseId}`,
        [
          {
            id: randomUUID(),
            type: 'PersonAdded',
            data: {
              person_id: 'p1',
              case_id: caseId,
              firstname: 'x',
              lastname: 'y',
              birthdate: null,
              role_in_company: null,
              company_id: null,
              added_at: ENDED,
            },
            metadata: {},
          },
        ],
        'any',
      ),
      { code: 'personal_data.subject_erased' },
    );
  });
});
