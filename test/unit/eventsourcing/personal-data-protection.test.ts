import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { personsProjection } from '../../../projections/persons.ts';
import {
  type BeneficialOwnerAddedData,
  createCaseEventRegistry,
  createIntakeEventRegistry,
  ERASED,
  type IntakeReceivedData,
  type PersonAddedData,
  personalDataDeclarations,
} from '../../../src/cases/index.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import type { NewEvent, StoredEvent } from '../../../src/eventsourcing/eventstore/port.ts';
import { createProjector } from '../../../src/eventsourcing/projection/projector.ts';
import {
  createKeyStore,
  createMemoryKeyRecords,
  keyIdOf,
} from '../../../src/eventsourcing/protection/key-store.ts';
import {
  guardTampered,
  PERSONAL_FIELD,
  protectPersonalData,
} from '../../../src/eventsourcing/protection/protected-event-store.ts';
import { createInMemoryReadStore } from '../../../src/eventsourcing/readstore/memory.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { eventually } from '../../support/eventually.ts';

const AT = '2026-03-01T10:00:00.000Z';

function setup() {
  const inner = createInMemoryEventStore();
  const records = createMemoryKeyRecords();
  const keyStore = createKeyStore({ records, kek: { id: 'kek-test', key: randomBytes(32) } });
  const store = protectPersonalData(inner, { keyStore, declarations: personalDataDeclarations });
  return { inner, records, keyStore, store };
}

const marker = () => `Qzv${randomUUID().replaceAll('-', '')}`;

function personAdded(caseId: string, name: string): NewEvent & { data: PersonAddedData } {
  return {
    id: randomUUID(),
    type: 'PersonAdded',
    data: {
      person_id: `person-${randomUUID()}`,
      case_id: caseId,
      company_id: 'company-1',
      firstname: name,
      lastname: `${name}-last`,
      birthdate: '1985-03-20',
      role_in_company: 'Director',
      added_at: AT,
    },
    metadata: { schemaVersion: 1 },
  };
}

function ownerAdded(caseId: string, name: string): NewEvent & { data: BeneficialOwnerAddedData } {
  return {
    id: randomUUID(),
    type: 'BeneficialOwnerAdded',
    data: {
      beneficial_owner_id: `owner-${randomUUID()}`,
      case_id: caseId,
      company_id: 'company-1',
      person_details: { firstname: name, lastname: name, birthdate: '1975-11-10', role_in_company: null },
      ownership_percentage: 75,
      types_of_control: ['SHAREHOLDING_OVER_25'],
      is_ubo: true,
      added_at: AT,
    },
    metadata: { schemaVersion: 1 },
  };
}

const bytesOf = (events: readonly StoredEvent[]) => JSON.stringify(events.map((e) => [e.data, e.metadata]));

describe('personal data protection at the event store boundary', () => {
  it('stores personal fields only as ciphertext and reads them back unchanged', async () => {
    const { inner, store } = setup();
    const name = marker();
    const caseId = randomUUID();
    const person = personAdded(caseId, name);
    const owner = ownerAdded(caseId, name);
    await store.appendToStream(`case-${caseId}`, [person, owner], 'no_stream');

    const raw = bytesOf(inner.all());
    assert.ok(!raw.includes(name), 'no plaintext marker in the stored events');
    assert.ok(!raw.includes(Buffer.from(name).toString('base64').slice(0, 16)));
    const stored = inner.all()[0]!.data as Record<string, unknown>;
    assert.equal(stored.firstname, undefined);
    assert.equal(stored.role_in_company, 'Director', 'what is not personal stays readable');
    assert.ok(typeof stored[PERSONAL_FIELD] === 'object');

    const read = await store.readStream(`case-${caseId}`);
    assert.deepEqual(
      read?.map((e) => e.data),
      [person.data, owner.data],
    );
    assert.deepEqual(store.decryptions(), { ok: 2, erased: 0, tampered: 0 });
  });

  it('gives subscriptions and $all reads the decrypted events', async () => {
    const { store } = setup();
    const caseId = randomUUID();
    const person = personAdded(caseId, marker());
    await store.appendToStream(`case-${caseId}`, [person], 'no_stream');
    assert.deepEqual((await store.readAll('start', 10))[0]?.data, person.data);
    const subscription = store.subscribeToAll({ from: 'start' });
    for await (const message of subscription) {
      if (message.kind !== 'event') continue;
      assert.deepEqual(message.event.data, person.data);
      break;
    }
    await subscription.close();
  });

  it('reads an erased subject as stable placeholders that still match the schema', async () => {
    const { keyStore, store } = setup();
    const caseId = randomUUID();
    const person = personAdded(caseId, marker());
    const owner = ownerAdded(caseId, marker());
    const other = personAdded(caseId, marker());
    await store.appendToStream(`case-${caseId}`, [person, owner, other], 'no_stream');
    for (const subject of [person.data.person_id, owner.data.beneficial_owner_id]) {
      assert.equal(await keyStore.destroy(keyIdOf(caseId, subject)), 'destroyed');
    }

    const first = await store.readStream(`case-${caseId}`);
    const second = await store.readStream(`case-${caseId}`);
    assert.deepEqual(first, second, 'two reads after erasure are identical');
    assert.deepEqual(first?.[0]?.data, {
      ...person.data,
      firstname: ERASED,
      lastname: ERASED,
      birthdate: null,
    });
    assert.deepEqual(first?.[1]?.data, {
      ...owner.data,
      person_details: { firstname: ERASED, lastname: ERASED, birthdate: null, role_in_company: null },
    });
    assert.deepEqual(first?.[2]?.data, other.data, 'another subject of the case stays readable');
    const registry = createCaseEventRegistry();
    for (const event of first ?? []) registry.decode(event.type, event.data, 1);
    assert.deepEqual(store.decryptions(), { ok: 2, erased: 4, tampered: 0 });
  });

  it('opens an event once for all its readers, each with objects of its own, and still sees an altered byte or an erasure', async () => {
    const inner = createInMemoryEventStore();
    let alter = false;
    const flip = (event: StoredEvent): StoredEvent => {
      const envelope = (event.data as Record<string, { ct: string }>)[PERSONAL_FIELD]!;
      const bytes = Buffer.from(envelope.ct, 'base64');
      bytes[0]! ^= 0x01;
      return {
        ...event,
        data: { ...(event.data as object), [PERSONAL_FIELD]: { ...envelope, ct: bytes.toString('base64') } },
      };
    };
    // The log as read: as written, or (once `alter` is set) with one ciphertext bit changed.
    const source = {
      ...inner,
      async readStream(...args: Parameters<typeof inner.readStream>) {
        const events = await inner.readStream(...args);
        return alter && events !== null ? events.map(flip) : events;
      },
    };
    const keyStore = createKeyStore({
      records: createMemoryKeyRecords(),
      kek: { id: 'k', key: randomBytes(32) },
    });
    const store = protectPersonalData(source, { keyStore, declarations: personalDataDeclarations });
    const caseId = randomUUID();
    const person = personAdded(caseId, marker());
    await store.appendToStream(`case-${caseId}`, [person], 'no_stream');

    const first = (await store.readStream(`case-${caseId}`))?.[0]?.data as PersonAddedData;
    const second = (await store.readStream(`case-${caseId}`))?.[0]?.data as PersonAddedData;
    assert.deepEqual(first, person.data);
    assert.deepEqual(second, person.data);
    first.firstname = 'changed by one reader';
    const third = (await store.readStream(`case-${caseId}`))?.[0]?.data as PersonAddedData;
    assert.equal(third.firstname, person.data.firstname, 'a reader changing its event changes no other');

    alter = true;
    await store.readStream(`case-${caseId}`);
    assert.equal(
      store.decryptions().tampered,
      1,
      'an altered byte is not served from what was opened before',
    );
    alter = false;

    await keyStore.destroy(keyIdOf(caseId, person.data.person_id));
    const erased = (await store.readStream(`case-${caseId}`))?.[0]?.data as PersonAddedData;
    assert.equal(
      erased.firstname,
      ERASED,
      'an erased subject reads as erased although it was opened just before',
    );
  });

  it('refuses to record new personal data for an erased subject', async () => {
    const { keyStore, store } = setup();
    const caseId = randomUUID();
    const person = personAdded(caseId, marker());
    await keyStore.obtain(caseId, person.data.person_id);
    await keyStore.destroy(keyIdOf(caseId, person.data.person_id));
    await assert.rejects(store.appendToStream(`case-${caseId}`, [person], 'no_stream'), {
      name: 'DomainError',
      code: 'personal_data.subject_erased',
    });
  });

  it('reports a flipped ciphertext byte as tampered, and the guarded registry refuses it', async () => {
    const { inner, keyStore, store } = setup();
    const caseId = randomUUID();
    await store.appendToStream(`case-${caseId}`, [personAdded(caseId, marker())], 'no_stream');
    const original = inner.all()[0]!;
    const envelope = (original.data as Record<string, { ct: string }>)[PERSONAL_FIELD]!;
    const bytes = Buffer.from(envelope.ct, 'base64');
    bytes[0]! ^= 0x01;
    // The same event (stream and id) with one ciphertext bit changed, as an altered log would hold it.
    const altered = createInMemoryEventStore();
    await altered.appendToStream(
      original.streamId,
      [
        {
          id: original.id,
          type: original.type,
          data: {
            ...(original.data as object),
            [PERSONAL_FIELD]: { ...envelope, ct: bytes.toString('base64') },
          },
          metadata: original.metadata,
        },
      ],
      'no_stream',
    );
    const reader = protectPersonalData(altered, { keyStore, declarations: personalDataDeclarations });
    const [event] = (await reader.readStream(original.streamId)) ?? [];
    assert.equal(reader.decryptions().tampered, 1);
    assert.throws(
      () => guardTampered(createCaseEventRegistry()).decode(event!.type, event!.data, 1),
      (error: unknown) => error instanceof DomainError && error.code === 'personal_data.tampered',
    );
    assert.throws(() => createCaseEventRegistry().decode(event!.type, event!.data, 1), {
      name: 'EventValidationError',
    });
  });

  it('reports a ciphertext moved to another event or stream as tampered', async () => {
    const { inner, keyStore, store } = setup();
    const caseId = randomUUID();
    await store.appendToStream(`case-${caseId}`, [personAdded(caseId, marker())], 'no_stream');
    const original = inner.all()[0]!;
    const copies = createInMemoryEventStore();
    const copy = { type: original.type, data: original.data, metadata: original.metadata };
    await copies.appendToStream(original.streamId, [{ ...copy, id: randomUUID() }], 'no_stream');
    await copies.appendToStream(`case-${randomUUID()}`, [{ ...copy, id: original.id }], 'no_stream');
    const reader = protectPersonalData(copies, { keyStore, declarations: personalDataDeclarations });
    await reader.readAll('start', 10);
    assert.deepEqual(reader.decryptions(), { ok: 0, erased: 0, tampered: 2 });
  });

  it('reports malformed envelopes and keys the store never had as tampered, never throwing', async () => {
    const { keyStore } = setup();
    const hostile = createInMemoryEventStore();
    const caseId = randomUUID();
    const base = personAdded(caseId, 'x').data as Record<string, unknown>;
    const envelopes: unknown[] = [
      null,
      'text',
      [],
      { v: 2, kid: randomUUID(), iv: '', ct: '' },
      { v: 1, kid: 42 },
      { v: 1, kid: randomUUID(), iv: 'AAAAAAAAAAAAAAAA', ct: 'AAAA' },
    ];
    const known = await keyStore.obtain(caseId, 'someone');
    envelopes.push(
      { v: 1, kid: known.keyId, iv: '!!', ct: '??' },
      { v: 1, kid: known.keyId, iv: 'AAAAAAAAAAAAAAAA', ct: 'AAAA' },
      { v: 1, kid: known.keyId, iv: 'AAAAAAAAAAAAAAAA', ct: Buffer.alloc(64).toString('base64') },
    );
    await hostile.appendToStream(
      `case-${caseId}`,
      envelopes.map((envelope) => ({
        id: randomUUID(),
        type: 'PersonAdded',
        data: { ...base, [PERSONAL_FIELD]: envelope },
        metadata: {},
      })),
      'no_stream',
    );
    const reader = protectPersonalData(hostile, { keyStore, declarations: personalDataDeclarations });
    await reader.readStream(`case-${caseId}`);
    assert.deepEqual(reader.decryptions(), { ok: 0, erased: 0, tampered: envelopes.length });
  });

  it('encrypts raw intake payloads under the receipt, in the case scope once there is a case', async () => {
    const { inner, keyStore, store } = setup();
    const name = marker();
    const caseId = randomUUID();
    const receipt = randomUUID();
    const data: IntakeReceivedData = {
      receipt_id: receipt,
      source: 'http',
      transport: { method: 'POST' },
      idempotency_key: 'k',
      received_at: AT,
      recorded_at: AT,
      payload: { persons: [{ firstname: name }] },
      raw_text: null,
      outcome: 'case_opened',
      case_id: caseId,
      violations: [],
      error_code: null,
    };
    await store.appendToStream(
      `intake-${receipt}`,
      [{ id: randomUUID(), type: 'IntakeReceived', data, metadata: {} }],
      'no_stream',
    );
    assert.ok(!bytesOf(inner.all()).includes(name));
    assert.deepEqual(
      (await keyStore.listByScope(caseId)).map((k) => k.subject),
      [`intake-${receipt}`],
    );
    await keyStore.destroy(keyIdOf(caseId, `intake-${receipt}`));
    const [erased] = (await store.readStream(`intake-${receipt}`)) ?? [];
    assert.deepEqual(erased?.data, { ...data, payload: null, raw_text: null, violations: [] });
    createIntakeEventRegistry().decode('IntakeReceived', erased?.data, 1);
  });

  it('passes events without declared personal data through untouched', async () => {
    const { inner, store } = setup();
    const event = { id: randomUUID(), type: 'CaseStatusChanged', data: { case_id: 'c' }, metadata: {} };
    await store.appendToStream('case-c', [event], 'no_stream');
    assert.deepEqual(inner.all()[0]?.data, event.data);
    assert.deepEqual((await store.readStream('case-c'))?.[0]?.data, event.data);
  });

  it('stops the projector loudly on a tampered event, after projecting what came before it', async () => {
    const { inner, keyStore, store } = setup();
    const caseId = randomUUID();
    const stream = `case-${caseId}`;
    const before = personAdded(caseId, marker());
    const tampered = personAdded(caseId, marker());
    const afterwards = personAdded(caseId, marker());
    await store.appendToStream(stream, [before], 'no_stream');
    // Seal the middle event as the service would, then store it with one ciphertext bit flipped.
    const scratch = createInMemoryEventStore();
    await protectPersonalData(scratch, { keyStore, declarations: personalDataDeclarations }).appendToStream(
      stream,
      [tampered],
      'no_stream',
    );
    const sealed = scratch.all()[0]!.data as Record<string, { ct: string }>;
    const bytes = Buffer.from(sealed[PERSONAL_FIELD]!.ct, 'base64');
    bytes[bytes.length - 1]! ^= 0x80;
    const altered = {
      ...sealed,
      [PERSONAL_FIELD]: { ...sealed[PERSONAL_FIELD]!, ct: bytes.toString('base64') },
    };
    await inner.appendToStream(stream, [{ ...tampered, data: altered }], 'any');
    await store.appendToStream(stream, [afterwards], 'any');

    const readStore = createInMemoryReadStore();
    const projector = createProjector({
      name: `tamper-${caseId.slice(0, 8)}`,
      eventStore: store,
      readStore,
      projections: [personsProjection],
      filter: { streamPrefixes: ['case-'] },
      events: guardTampered(createCaseEventRegistry()),
      batchDelayMs: 1,
    });
    await projector.start();
    try {
      await eventually('the projector to stop on the tampered event', () =>
        projector.status().state === 'failed' ? true : undefined,
      );
      const failure = projector.status().failure;
      assert.equal(failure?.eventId, tampered.id);
      assert.match(failure?.reason ?? '', /personal data failed authentication/);
      assert.ok(
        (await readStore.get(personsProjection.collection, before.data.person_id)) !== null,
        'the event before is projected',
      );
      assert.equal(
        await readStore.get(personsProjection.collection, afterwards.data.person_id),
        null,
        'nothing after it',
      );
    } finally {
      await projector.stop();
    }
  });
});
