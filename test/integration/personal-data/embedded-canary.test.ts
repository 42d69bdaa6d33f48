import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { caseProjections, intakeProjections } from '../../../projections/index.ts';
import { loadConfig } from '../../../src/app/config.ts';
import { GENERATED_KEK_ID } from '../../../src/app/personal-data.ts';
import { type RunningService, startService } from '../../../src/app/service.ts';
import { ERASED } from '../../../src/cases/personal-data.ts';
import {
  createFileKeyRecords,
  keyFilePaths,
} from '../../../src/eventsourcing/protection/file-key-records.ts';
import { createKeyStore, keyIdOf } from '../../../src/eventsourcing/protection/key-store.ts';
import type { ReadStore } from '../../../src/eventsourcing/readstore/port.ts';
import { eventually } from '../../support/eventually.ts';
import { copyOf, kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';

// Canary markers planted as the names of persons, directors and owners through the HTTP intake
// of the embedded mode: readable through the API, absent from every byte the service writes to
// its data directory and from every log line; a destroyed key reads as placeholders after a restart.

const marker = (role: string) => `Qzv${role}${randomUUID().replaceAll('-', '')}`;

/** The forms a marker could take in bytes: UTF-8, hex, and base64 at each of the three alignments. */
function forms(value: string): string[] {
  const base64 = ['', 'a', 'ab'].map((pad) => {
    const encoded = Buffer.from(pad + value).toString('base64');
    // Characters touching the padding or the marker's edges depend on neighbours: keep the middle.
    return encoded.slice(4, -4);
  });
  return [value, Buffer.from(value).toString('hex'), ...base64];
}

/** Where in `texts` (by name) any marker appears, in any of its forms. */
function markersIn(texts: Record<string, string>, markers: Record<string, string>): string[] {
  const found: string[] = [];
  for (const [name, text] of Object.entries(texts)) {
    for (const [role, value] of Object.entries(markers)) {
      for (const form of forms(value))
        if (text.includes(form)) found.push(`${role} marker in ${name} as ${form}`);
    }
  }
  return found;
}

const readModelCollections = [...caseProjections, ...intakeProjections].map((p) => p.collection);

/** Every document of every read model as the in-memory store holds it (below the protection), as JSON. */
async function storedReadModels(store: ReadStore): Promise<Record<string, string>> {
  const entries = await Promise.all(
    readModelCollections.map(async (collection) => [
      collection,
      JSON.stringify(await store.find(collection)),
    ]),
  );
  return Object.fromEntries(entries);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

describe('personal data in the embedded mode (HTTP intake)', () => {
  const markers = {
    person: marker('Person'),
    director: marker('Director'),
    owner: marker('Owner'),
    rejected: marker('Rejected'),
  };
  const logLines: string[] = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        logLines.push(chunk.toString('utf8'));
        done();
      },
    }),
  );
  let dataDir: string;
  let service: RunningService;
  let kybCase: { case_id: string; position: string };
  let kycCase: { case_id: string; position: string };

  const start = async () =>
    startService(loadConfig({ DATA_DIR: dataDir, PORT: '0', LOG_LEVEL: 'debug' }), logger);
  const get = async (path: string) => {
    const response = await fetch(`${service.url}${path}`);
    assert.equal(response.status, 200, `${path}: ${await response.clone().text()}`);
    return (await response.json()) as Record<string, unknown>[] & Record<string, unknown>;
  };
  const open = async (body: unknown, key: string, expected = 202) => {
    const response = await fetch(`${service.url}/api/v1/cases`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
    });
    assert.equal(response.status, expected, await response.clone().text());
    return (await response.json()) as { case_id: string; position: string };
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kyc-canary-'));
    service = await start();
    const kyc = copyOf(kycIntakeExample);
    kyc.persons[0]!.firstname = markers.person;
    kyc.persons[0]!.lastname = markers.person;
    kycCase = await open(kyc, `canary-kyc-${randomUUID()}`);
    const kyb = copyOf(kybIntakeExample);
    kyb.persons[0]!.firstname = markers.director;
    kyb.persons[0]!.lastname = markers.director;
    kyb.beneficial_owners[0]!.person_details.firstname = markers.owner;
    kyb.beneficial_owners[0]!.person_details.lastname = markers.owner;
    kybCase = await open(kyb, `canary-kyb-${randomUUID()}`);
    // Refused, yet its raw payload is kept in the intake audit: encrypted too.
    const rejected = copyOf(kycIntakeExample) as Record<string, unknown>;
    rejected.persons = [{ firstname: markers.rejected, lastname: markers.rejected, birthdate: 'not a date' }];
    await open(rejected, `canary-rejected-${randomUUID()}`, 400);
  });

  after(async () => {
    await service?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('shows the names to an authorised reader through the API', async () => {
    const persons = await get(`/api/v1/persons/case/${kycCase.case_id}?min_position=${kycCase.position}`);
    assert.equal(persons[0]?.firstname, markers.person);
    const kyb = await get(`/api/v1/cases/${kybCase.case_id}?min_position=${kybCase.position}`);
    const owners = await get(`/api/v1/companies/${String(kyb.company_id)}/beneficial-owners`);
    assert.equal(owners[0]?.firstname, markers.owner);
    const directors = await get(`/api/v1/persons/case/${kybCase.case_id}`);
    assert.equal(directors[0]?.lastname, markers.director);
    const events = JSON.stringify(await get(`/api/v1/cases/${kybCase.case_id}/events`));
    assert.ok(events.includes(markers.director) && events.includes(markers.owner));
    const raw = JSON.stringify(await get(`/api/v1/events/raw?limit=100&min_position=${kybCase.position}`));
    assert.ok(raw.includes(markers.rejected), 'the raw intake audit shows the refused payload');
  });

  it('writes no marker into any file of the data directory, in any encoding', async () => {
    const files = await filesUnder(dataDir);
    assert.ok(files.length >= 2, `expected the event log and the key file, found ${files.join(', ')}`);
    let scanned = 0;
    for (const file of files) {
      const bytes = await readFile(file);
      scanned += bytes.length;
      for (const [role, value] of Object.entries(markers)) {
        for (const form of forms(value)) {
          assert.equal(bytes.indexOf(form), -1, `${role} marker found in ${file} as ${form}`);
        }
      }
    }
    // The scan looked at something: the log holds the cases' other, non-personal fields.
    const all = Buffer.concat(await Promise.all(files.map((f) => readFile(f)))).toString('latin1');
    assert.ok(all.includes('PersonAdded') && all.includes('kyb-client-002'), `scanned ${scanned} bytes`);
  });

  it('stores no marker in any read model, in any encoding', async () => {
    // The refused message is audited last: once its record is there, every read model has caught up.
    const stored = await eventually('the raw intake audit of the three messages', async () => {
      const documents = await storedReadModels(service.storedDocuments);
      return JSON.parse(documents.raw_events ?? '[]').length >= 3 ? documents : undefined;
    });
    assert.deepEqual(markersIn(stored, markers), []);
    // The scan looked at the documents: their other fields are there in clear.
    assert.ok(stored.persons?.includes(kycCase.case_id) && stored.cases?.includes('kyb-client-002'));
    assert.ok(stored.beneficial_owners?.includes(kybCase.case_id));
  });

  it('finds the markers with the same scan when the read models are not sealed', async () => {
    const plainDir = await mkdtemp(join(tmpdir(), 'kyc-canary-plain-'));
    const plain = await startService(
      loadConfig({ DATA_DIR: plainDir, PORT: '0' }),
      pino({ level: 'silent' }),
      {
        protectReadModels: false,
      },
    );
    try {
      const kyc = copyOf(kycIntakeExample);
      kyc.persons[0]!.firstname = markers.person;
      const response = await fetch(`${plain.url}/api/v1/cases`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `plain-${randomUUID()}` },
        body: JSON.stringify(kyc),
      });
      assert.equal(response.status, 202);
      const found = await eventually('the person and the raw intake in the read models', async () => {
        const hits = markersIn(await storedReadModels(plain.storedDocuments), { person: markers.person });
        return hits.some((h) => h.includes('persons')) && hits.some((h) => h.includes('raw_events'))
          ? hits
          : undefined;
      });
      assert.ok(found.length > 0);
    } finally {
      await plain.stop();
      await rm(plainDir, { recursive: true, force: true });
    }
  });

  it('writes no marker into any log line', () => {
    assert.ok(logLines.length > 0);
    const logs = logLines.join('');
    for (const [role, value] of Object.entries(markers)) {
      for (const form of forms(value)) assert.ok(!logs.includes(form), `${role} marker logged as ${form}`);
    }
  });

  it('answers 500 problem+json for a read model whose sealed fields were altered, logs it, and serves on', async () => {
    const { target } = (await service.storedDocuments.slot('persons'))!;
    const [person] = await service.storedDocuments.find('persons', { filter: { case_id: kycCase.case_id } });
    const [director] = await service.storedDocuments.find('persons', {
      filter: { case_id: kybCase.case_id },
    });
    const { position } = (await service.storedDocuments.load(target, [person!.id])).get(person!.id)!;
    // The director's sealed names moved into the person's document, as an altered database would hold them.
    await service.storedDocuments.write(target, [
      {
        op: 'upsert',
        document: { ...person!, _personal: (director as Record<string, unknown>)._personal },
        position: { commit: position.commit + 1n, prepare: position.prepare + 1n },
      },
    ]);
    const response = await fetch(`${service.url}/api/v1/persons/case/${kycCase.case_id}`);
    assert.equal(response.status, 500);
    assert.match(response.headers.get('content-type') ?? '', /^application\/problem\+json/);
    const problem = (await response.json()) as { code: string };
    assert.equal(problem.code, 'personal_data.tampered');
    assert.ok(
      logLines.some((line) => line.includes('personal_data.tampered')),
      'logged',
    );
    assert.equal((await get(`/api/v1/persons/case/${kybCase.case_id}`)).length, 1, 'other reads are served');
    const metrics = await (await fetch(`${service.url}/metrics`)).text();
    const counted = (outcome: string) =>
      Number(
        metrics
          .split('\n')
          .find((line) =>
            line.startsWith(`kyc_personal_data_decryptions_total{store="read_store",outcome="${outcome}"}`),
          )
          ?.split(' ')
          .at(-1),
      );
    assert.equal(counted('tampered'), 1);
    assert.ok(counted('ok') > 0, 'reads of sealed documents are counted');
  });

  it('reads the names again after a restart, and a destroyed key as placeholders for that subject only', async () => {
    const directorId = String(
      (await get(`/api/v1/persons/case/${kybCase.case_id}?min_position=${kybCase.position}`))[0]?.id,
    );
    await service.stop();
    // Shred the director's key the way an erasure will: in the key store, nowhere else.
    const kek = Buffer.from((await readFile(keyFilePaths(dataDir).kek, 'utf8')).trim(), 'base64');
    const keyStore = createKeyStore({
      records: await createFileKeyRecords(keyFilePaths(dataDir).keys),
      kek: { id: GENERATED_KEK_ID, key: kek },
    });
    assert.equal(await keyStore.destroy(keyIdOf(kybCase.case_id, directorId)), 'destroyed');
    await keyStore.close();

    service = await start();
    // In-memory read models are rebuilt from the log at start: wait for the later case's position.
    const at = kybCase.position;
    const persons = await get(`/api/v1/persons/case/${kycCase.case_id}?min_position=${at}`);
    assert.equal(persons[0]?.firstname, markers.person, 'other cases keep their data');
    const director = (await get(`/api/v1/persons/case/${kybCase.case_id}`))[0];
    assert.equal(director?.firstname, ERASED);
    assert.equal(director?.lastname, ERASED);
    assert.equal(director?.birthdate, null);
    assert.equal(director?.role_in_company, 'Director', 'what is not personal stays');
    const kyb = await get(`/api/v1/cases/${kybCase.case_id}`);
    const owners = await get(`/api/v1/companies/${String(kyb.company_id)}/beneficial-owners`);
    assert.equal(owners[0]?.firstname, markers.owner);
    const events = (await get(`/api/v1/cases/${kybCase.case_id}/events`)) as unknown as {
      event_type: string;
      payload: Record<string, unknown>;
    }[];
    const added = events.find((e) => e.event_type === 'PersonAdded');
    assert.deepEqual(
      [added?.payload.firstname, added?.payload.lastname],
      [ERASED, ERASED],
      'the history too',
    );
    // The shipped notification rules ask for no names, so no notification holds the first
    // person's name either (a rule with include_recipient_details would record it, under the
    // notification's own key).
    const naming = events
      .filter((e) => JSON.stringify(e).includes(markers.director))
      .map((e) => e.event_type);
    assert.deepEqual(naming, []);
  });

  it('after the erasure of one person recorded in error the API shows placeholders for that person only, and the certificate checks the read store', async () => {
    const kyb = copyOf(kybIntakeExample);
    const second = { ...kyb.persons[0]!, firstname: markers.person, lastname: 'Kept' };
    kyb.persons = [kyb.persons[0]!, second];
    const opened = await open(kyb, `canary-subject-${randomUUID()}`);
    const persons = await get(`/api/v1/persons/case/${opened.case_id}?min_position=${opened.position}`);
    assert.equal(persons.length, 2);
    const erasedId = String(persons.find((p) => p.lastname !== 'Kept')?.id);

    const done = await service.erasure.requestSubjectErasure(
      opened.case_id,
      erasedId,
      'recorded_in_error',
      'canary',
    );
    assert.equal(done.status, 'completed');
    const readStoreCheck = done.certificate?.checks.find((c) => c.store === 'read store');
    assert.equal(readStoreCheck?.result, 'passed', readStoreCheck?.detail);
    assert.match(readStoreCheck?.detail ?? '', /under other keys \(other subjects, readable\)/);

    const after = await get(`/api/v1/persons/case/${opened.case_id}`);
    assert.deepEqual(after.map((p) => [p.id === erasedId, p.firstname, p.lastname]).sort(), [
      [false, markers.person, 'Kept'],
      [true, ERASED, ERASED],
    ]);
  });

  it('after the erasure of a case the API shows placeholders at once, the certificate checks the read store, and a rebuild reads the same', async () => {
    const caseId = kybCase.case_id;
    const kyb = await get(`/api/v1/cases/${caseId}`);
    const ownersPath = `/api/v1/companies/${String(kyb.company_id)}/beneficial-owners`;
    assert.equal((await get(ownersPath))[0]?.firstname, markers.owner, 'readable before the erasure');

    await service.erasure.endRelationship(caseId, '2000-01-01T00:00:00.000Z', 'canary');
    await service.erasure.requestErasure(caseId, 'canary', 'test');
    const done = await service.erasure.executeIfDue(caseId);
    assert.equal(done.status, 'completed');
    const readStoreCheck = done.certificate?.checks.find((c) => c.store === 'read store');
    assert.equal(readStoreCheck?.result, 'passed', readStoreCheck?.detail);
    assert.match(readStoreCheck?.detail ?? '', /^[1-9]\d* documents of the case/);

    const shown = async () => {
      const persons = await get(`/api/v1/persons/case/${caseId}`);
      const owners = await get(ownersPath);
      const raw = (await get('/api/v1/events/raw?limit=100')).filter((r) => r.case_id === caseId);
      return { persons, owners, raw };
    };
    const erased = await shown();
    assert.deepEqual(
      [...erased.persons, ...erased.owners].map((p) => [p.firstname, p.lastname, p.birthdate]),
      [
        [ERASED, ERASED, null],
        [ERASED, ERASED, null],
      ],
    );
    assert.deepEqual(
      erased.raw.map((r) => r.payload),
      [null],
    );
    const events = await get(`/api/v1/cases/${caseId}/events`);
    const timeline = await get(`/api/v1/cases/${caseId}/timeline?limit=100`);
    assert.deepEqual(markersIn({ api: JSON.stringify([erased, events, timeline]) }, markers), []);

    // In-memory read models are rebuilt from the log at start.
    await service.stop();
    service = await start();
    const rebuilt = await eventually('the rebuilt read models of the case', async () => {
      const again = await shown();
      return again.owners.length > 0 && again.raw.length > 0 ? again : undefined;
    });
    assert.deepEqual(rebuilt, erased, 'a rebuild gives identical documents');
  });
});
