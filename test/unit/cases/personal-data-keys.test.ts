import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { type NotificationRequiredData, personalDataDeclarations } from '../../../src/cases/index.ts';
import type { NewEvent } from '../../../src/eventsourcing/eventstore/port.ts';
import { createKeyStore, createMemoryKeyRecords } from '../../../src/eventsourcing/protection/key-store.ts';
import { protectPersonalData } from '../../../src/eventsourcing/protection/protected-event-store.ts';
import { createInMemoryEventStore } from '../../../src/eventsourcing/testing/in-memory-event-store.ts';

function setup() {
  const records = createMemoryKeyRecords();
  const keyStore = createKeyStore({ records, kek: { id: 'kek-test', key: randomBytes(32) } });
  const store = protectPersonalData(createInMemoryEventStore(), {
    keyStore,
    declarations: personalDataDeclarations,
  });
  return { records, keyStore, store };
}

function notificationRequired(
  caseId: string,
  firstname: string,
): NewEvent & { data: NotificationRequiredData } {
  return {
    id: randomUUID(),
    type: 'NotificationRequired',
    data: {
      notification_id: randomUUID(),
      case_id: caseId,
      event_trigger: 'DOCUMENT_UPLOADED',
      rule_id: 'rule-1',
      rule_source: 'bundled',
      fallback_reason: null,
      notification_type: 'EMAIL',
      include_recipient_details: true,
      recipient_details: { firstname },
      template_id: null,
      language_code: null,
      context_data: { firstname },
      required_at: '2026-03-01T10:00:00.000Z',
    },
    metadata: { schemaVersion: 1 },
  };
}

describe('data keys of a case', () => {
  it('seals every notification of a case with one key, so the key store does not grow with them', async () => {
    const { records, keyStore, store } = setup();
    const caseId = randomUUID();
    const stream = `case-${caseId}`;
    await store.appendToStream(stream, [notificationRequired(caseId, 'Ann')], 'no_stream');
    for (let revision = 0n; revision < 20n; revision++) {
      await store.appendToStream(stream, [notificationRequired(caseId, 'Ann')], revision);
    }
    assert.equal(records.all().length, 1);
    const [key] = await keyStore.listByScope(caseId);
    assert.equal(key?.status, 'active');

    // Erasing the case (destroying its keys) still reaches every notification.
    await keyStore.destroy(key!.keyId);
    const erased = (await store.readStream(stream)) ?? [];
    assert.equal(erased.length, 21);
    for (const event of erased) {
      const data = event.data as NotificationRequiredData;
      assert.deepEqual([data.recipient_details, data.context_data], [{}, {}]);
    }
  });

  it('gives the notifications of two cases two keys', async () => {
    const { records, store } = setup();
    for (const caseId of [randomUUID(), randomUUID()]) {
      await store.appendToStream(`case-${caseId}`, [notificationRequired(caseId, 'Ann')], 'no_stream');
    }
    assert.equal(records.all().length, 2);
  });
});
