import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  beneficialOwnerDocument,
  beneficialOwnersProjection,
  personDocument,
  personsProjection,
  rawIntakeDocument,
  rawIntakeProjection,
  readModelPersonalData,
} from '../../../projections/index.ts';
import { readStoreErasureCheck } from '../../../src/app/read-store-erasure-check.ts';
import {
  type BeneficialOwnerAddedData,
  createCaseEventRegistry,
  ERASED,
  type PersonAddedData,
  personalDataDeclarations,
} from '../../../src/cases/index.ts';
import type { RecordedEvent } from '../../../src/eventsourcing/core/events.ts';
import type { ReadDocument } from '../../../src/eventsourcing/core/projection.ts';
import type { NewEvent } from '../../../src/eventsourcing/eventstore/port.ts';
import { createProjector } from '../../../src/eventsourcing/projection/projector.ts';
import {
  createKeyStore,
  createMemoryKeyRecords,
  keyIdOf,
} from '../../../src/eventsourcing/protection/key-store.ts';
import {
  guardTampered,
  protectPersonalData,
} from '../../../src/eventsourcing/protection/protected-event-store.ts';
import {
  protectReadModels,
  SEALED_DOCUMENT_FIELD,
} from '../../../src/eventsourcing/protection/protected-read-store.ts';
import { createInMemoryReadStore } from '../../../src/eventsourcing/readstore/memory.ts';
import type { ReadStore } from '../../../src/eventsourcing/readstore/port.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';
import { eventually } from '../../support/eventually.ts';

const AT = '2026-03-01T10:00:00.000Z';
const position = (n: number) => ({ commit: BigInt(n), prepare: BigInt(n) });
const marker = () => `Qzv${randomUUID().replaceAll('-', '')}`;

function setup() {
  const keyStore = createKeyStore({
    records: createMemoryKeyRecords(),
    kek: { id: 'k', key: randomBytes(32) },
  });
  const stored = createInMemoryReadStore();
  const readStore = protectReadModels(stored, { keyStore, declarations: readModelPersonalData });
  return { keyStore, stored, readStore };
}

function personAdded(caseId: string, name: string): NewEvent & { data: PersonAddedData } {
  return {
    id: randomUUID(),
    type: 'PersonAdded',
    data: {
      person_id: `person-${randomUUID()}`,
      case_id: caseId,
      company_id: 'company-1',
      firstname: name,
      lastname: name,
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
      person_details: { firstname: name, lastname: name, birthdate: '1975-11-10', role_in_company: 'CEO' },
      ownership_percentage: 75,
      types_of_control: ['SHAREHOLDING_OVER_25'],
      is_ubo: true,
      added_at: AT,
    },
    metadata: { schemaVersion: 1 },
  };
}

const recorded = <E extends NewEvent>(event: E, stream: string) =>
  ({
    ...event,
    streamId: stream,
    revision: 0n,
    position: position(1),
    created: new Date(AT),
    metadata: { ...(event.metadata as object), actor: null },
  }) as unknown as RecordedEvent<never> & { data: E['data'] };

async function personIn(readStore: ReadStore, caseId: string, name = marker()) {
  const event = personAdded(caseId, name);
  const document = personDocument(recorded(event, `case-${caseId}`) as never);
  const { target } = (await readStore.slot(personsProjection.name)) ?? (await slotOf(readStore, 'persons'));
  await readStore.write(target, [{ op: 'upsert', document, position: position(1) }]);
  return { event, document, target };
}

const slotOf = (readStore: ReadStore, collection: string) => readStore.createSlot(collection, collection, 1);

describe('personal data protection at the read store boundary', () => {
  it('stores the personal fields of a document sealed, and every read opens them', async () => {
    const { stored, readStore } = setup();
    const caseId = randomUUID();
    const name = marker();
    const { document, target } = await personIn(readStore, caseId, name);

    const raw = JSON.stringify(await stored.find('persons'));
    assert.ok(!raw.includes(name), 'no marker in the stored document');
    const sealed = (await stored.get<ReadDocument & Record<string, unknown>>('persons', document.id))!;
    assert.equal(sealed.firstname, undefined);
    assert.equal(sealed.case_id, caseId, 'ids stay in clear');
    assert.equal(sealed.role_in_company, 'Director', 'a person’s role is not sealed');
    assert.equal(
      (sealed[SEALED_DOCUMENT_FIELD] as { kid: string }).kid,
      keyIdOf(caseId, document.id),
      'the key of the event the document came from',
    );

    assert.deepEqual(await readStore.get('persons', document.id), document);
    assert.deepEqual(await readStore.find('persons', { filter: { case_id: caseId } }), [document]);
    assert.deepEqual((await readStore.load(target, [document.id])).get(document.id)?.document, document);
    assert.deepEqual(readStore.decryptions(), { ok: 3, erased: 0, tampered: 0, clear: 0 });
  });

  it('reads an erased subject as the placeholders at once, and a rewrite after erasure keeps no ciphertext', async () => {
    const { keyStore, stored, readStore } = setup();
    const caseId = randomUUID();
    const { document, target } = await personIn(readStore, caseId);
    const other = await personIn(readStore, caseId);
    assert.equal(await keyStore.destroy(keyIdOf(caseId, document.id)), 'destroyed');

    const erased = { ...document, firstname: ERASED, lastname: ERASED, birthdate: null };
    assert.deepEqual(await readStore.get('persons', document.id), erased);
    assert.deepEqual(await readStore.get('persons', other.document.id), other.document, 'others stay');

    await readStore.write(target, [{ op: 'upsert', document: erased, position: position(2) }]);
    const rewritten = (await stored.get<ReadDocument & Record<string, unknown>>('persons', document.id))!;
    assert.deepEqual(rewritten[SEALED_DOCUMENT_FIELD], { v: 1, kid: keyIdOf(caseId, document.id) });
    assert.deepEqual(await readStore.get('persons', document.id), erased);
  });

  it('refuses a document whose sealed fields were moved from another, altered, or name an unknown key', async () => {
    const { stored, readStore } = setup();
    const caseId = randomUUID();
    const first = await personIn(readStore, caseId);
    const second = await personIn(readStore, caseId);
    const storedFirst = (await stored.get<ReadDocument & Record<string, unknown>>(
      'persons',
      first.document.id,
    ))!;
    const envelope = storedFirst[SEALED_DOCUMENT_FIELD] as { kid: string; ct: string };
    const flipped = Buffer.from(envelope.ct, 'base64');
    flipped[0]! ^= 1;
    const alterations: Record<string, unknown>[] = [
      // The first person's names in the second person's document.
      { ...storedFirst, id: second.document.id },
      { ...storedFirst, [SEALED_DOCUMENT_FIELD]: { ...envelope, ct: flipped.toString('base64') } },
      { ...storedFirst, [SEALED_DOCUMENT_FIELD]: { ...envelope, kid: randomUUID() } },
      { ...storedFirst, [SEALED_DOCUMENT_FIELD]: 'not an envelope' },
    ];
    let at = 10;
    for (const altered of alterations) {
      await stored.write(first.target, [
        { op: 'upsert', document: altered as ReadDocument, position: position(at++) },
      ]);
      await assert.rejects(readStore.get('persons', String(altered.id)), {
        name: 'DomainError',
        code: 'personal_data.tampered',
      });
    }
    assert.equal(readStore.decryptions().tampered, alterations.length);
  });

  it('refuses a filter or a sort on a sealed field, which could only match nothing', async () => {
    const { readStore } = setup();
    await personIn(readStore, randomUUID());
    await assert.rejects(
      readStore.find('persons', { filter: { lastname: 'x' } }),
      /persons.lastname is personal/,
    );
    await assert.rejects(readStore.find('persons', { sort: [['firstname', 1]] }), /personal data/);
    await assert.rejects(readStore.count('beneficial_owners', { 'firstname.x': 'y' }), /personal data/);
    assert.equal(await readStore.count('persons', { role_in_company: 'Director' }), 1);
  });

  it('serves a document stored in clear before sealing existed as it is, counted as clear', async () => {
    const { stored, readStore } = setup();
    const { target } = await slotOf(stored, 'persons');
    const legacy = { id: 'p-legacy', case_id: 'c', firstname: 'A', lastname: 'B', birthdate: null };
    await stored.write(target, [{ op: 'upsert', document: legacy, position: position(1) }]);
    assert.deepEqual(await readStore.get('persons', 'p-legacy'), legacy);
    assert.equal(readStore.decryptions().clear, 1);
  });

  it('leaves collections without personal fields as they are', async () => {
    const { stored, readStore } = setup();
    const { target } = await slotOf(readStore, 'cases');
    const document = { id: 'c1', status: 'OPEN', client_id: 'client-1' };
    await readStore.write(target, [{ op: 'upsert', document, position: position(1) }]);
    assert.deepEqual(await stored.get('cases', 'c1'), document);
  });

  it('declares for each document the key of its event, and placeholders that are the projection of the erased event', () => {
    const caseId = randomUUID();
    const check = (
      collection: string,
      eventType: keyof typeof personalDataDeclarations,
      event: NewEvent & { data: Record<string, unknown> },
      project: (event: never) => ReadDocument,
    ) => {
      const declaration = readModelPersonalData[collection]!;
      const eventDeclaration = personalDataDeclarations[eventType]!;
      const stream = `case-${caseId}`;
      const document = project(recorded(event, stream) as never) as ReadDocument & Record<string, unknown>;
      assert.equal(
        keyIdOf(declaration.scope(document), declaration.subject(document)),
        keyIdOf(eventDeclaration.scope(event.data, stream), eventDeclaration.subject(event.data, stream)),
        `${collection}: the key of its ${eventType}`,
      );
      const erasedEvent = { ...event, data: { ...event.data, ...eventDeclaration.placeholders } };
      const erasedDocument = project(recorded(erasedEvent, stream) as never) as Record<string, unknown>;
      for (const [field, placeholder] of Object.entries(declaration.placeholders)) {
        assert.deepEqual(erasedDocument[field], placeholder, `${collection}.${field}`);
      }
    };
    check('persons', 'PersonAdded', personAdded(caseId, marker()), personDocument as never);
    check(
      'beneficial_owners',
      'BeneficialOwnerAdded',
      ownerAdded(caseId, marker()),
      beneficialOwnerDocument as never,
    );
    for (const outcome of [{ case_id: caseId }, { case_id: null }]) {
      const intake = {
        id: randomUUID(),
        type: 'IntakeReceived',
        data: {
          receipt_id: randomUUID(),
          source: 'http',
          transport: {},
          idempotency_key: null,
          received_at: AT,
          recorded_at: AT,
          payload: { persons: [{ firstname: marker() }] },
          raw_text: null,
          outcome: outcome.case_id === null ? 'rejected' : 'case_opened',
          violations: [],
          error_code: null,
          ...outcome,
        },
        metadata: {},
      };
      check('raw_events', 'IntakeReceived', intake, rawIntakeDocument as never);
    }
    assert.deepEqual(
      Object.keys(readModelPersonalData).sort(),
      [
        beneficialOwnersProjection.collection,
        personsProjection.collection,
        rawIntakeProjection.collection,
      ].sort(),
    );
  });
});

describe('erasure through the projector and the read-store check of the certificate', () => {
  it('shows placeholders as soon as the keys are destroyed, the same after a rebuild, and the check passes only then', async () => {
    const { keyStore, stored, readStore } = setup();
    const events = protectPersonalData(createInMemoryEventStore(), {
      keyStore,
      declarations: personalDataDeclarations,
    });
    const caseId = randomUUID();
    const name = marker();
    const person = personAdded(caseId, name);
    const owner = ownerAdded(caseId, name);
    await events.appendToStream(`case-${caseId}`, [person, owner], 'no_stream');
    const projector = createProjector({
      name: 'read-models',
      eventStore: events,
      readStore,
      projections: [personsProjection, beneficialOwnersProjection],
      filter: { streamPrefixes: ['case-'] },
      events: guardTampered(createCaseEventRegistry()),
      batchDelayMs: 1,
    });
    await projector.start();
    try {
      const ownerId = owner.data.beneficial_owner_id;
      await eventually('both documents projected', async () =>
        (await readStore.get('beneficial_owners', ownerId)) ? true : undefined,
      );
      assert.equal(
        (await readStore.get<ReadDocument & { firstname: string }>('persons', person.data.person_id))
          ?.firstname,
        name,
      );
      const storedText = JSON.stringify([
        await stored.find('persons'),
        await stored.find('beneficial_owners'),
      ]);
      assert.ok(!storedText.includes(name), 'no marker in any stored document');

      const check = readStoreErasureCheck(stored, readModelPersonalData);
      const keyIds = (await keyStore.listByScope(caseId)).map((k) => k.keyId);
      assert.equal(keyIds.length, 2);
      const before = await check(caseId, []);
      assert.equal(before.result, 'failed', before.detail);

      for (const keyId of keyIds) await keyStore.destroy(keyId);
      const readAll = async () => [
        await readStore.find('persons', { filter: { case_id: caseId } }),
        await readStore.find('beneficial_owners', { filter: { case_id: caseId } }),
      ];
      const erased = await readAll();
      assert.deepEqual(
        erased
          .flat()
          .map((d) => [(d as Record<string, unknown>).firstname, (d as Record<string, unknown>).birthdate]),
        [
          [ERASED, null],
          [ERASED, null],
        ],
      );
      const after = await check(caseId, keyIds);
      assert.equal(after.result, 'passed', after.detail);
      assert.match(
        after.detail,
        /^2 documents of the case in persons, beneficial_owners, raw_events: 2 sealed/,
      );

      await projector.rebuild(personsProjection.name);
      await projector.rebuild(beneficialOwnersProjection.name);
      assert.deepEqual(await readAll(), erased, 'a rebuild gives identical documents');
      assert.equal((await check(caseId, keyIds)).result, 'passed');
      assert.ok(!JSON.stringify(await stored.find('persons')).includes('"ct"'), 'no ciphertext left to open');
    } finally {
      await projector.stop();
    }
  });

  it('fails the check for a document of the case holding a personal field in clear', async () => {
    const { stored } = setup();
    const { target } = await slotOf(stored, 'persons');
    const legacy = { id: 'p', case_id: 'case-1', firstname: 'A', lastname: 'B', birthdate: null };
    await stored.write(target, [{ op: 'upsert', document: legacy, position: position(1) }]);
    const result = await readStoreErasureCheck(stored, readModelPersonalData)('case-1', []);
    assert.equal(result.result, 'failed');
    assert.match(result.detail, /1 with personal fields in clear/);
  });
});
