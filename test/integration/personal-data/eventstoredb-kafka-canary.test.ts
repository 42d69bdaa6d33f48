import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { MongoClient } from 'mongodb';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { startService } from '../../../src/app/service.ts';
import { ERASED } from '../../../src/cases/personal-data.ts';
import { startEmulator } from '../../../src/emulator/index.ts';
import { eventually } from '../../support/eventually.ts';
import { copyOf, kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { kafkaTestTopics } from '../../support/kafka-intake.ts';
import { testPersonalDataEnv } from '../../support/personal-data.ts';
import { kafkaBrokers, mongoUrl } from '../../support/services.ts';

// As in production: a separate event store (EVENTSTORE_URL), read models and the key store in
// FerretDB, intake from Kafka. Markers planted as names over Kafka must reach the API, and no
// byte of the event store's files, no document of any collection of the database (read models,
// key store, bookkeeping) and no log line; after the erasure of a case, not the API either.

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
});

const marker = (role: string) => `Qzv${role}${randomUUID().replaceAll('-', '')}`;

it('names sent over Kafka reach the API, and neither the event store files, the key store nor the logs', async (t) => {
  const brokers = kafkaBrokers(t);
  const url = mongoUrl(t);
  if (brokers === undefined || url === undefined) return;
  const markers = { person: marker('Person'), director: marker('Director'), owner: marker('Owner') };
  const storeDir = await mkdtemp(join(tmpdir(), 'kyc-canary-store-'));
  cleanups.push(() => rm(storeDir, { recursive: true, force: true }));
  const serviceDir = await mkdtemp(join(tmpdir(), 'kyc-canary-service-'));
  cleanups.push(() => rm(serviceDir, { recursive: true, force: true }));
  const store = await startEmulator({ port: 0, dataDir: storeDir });
  cleanups.push(() => store.close());
  const { suffix, topics, env: kafkaEnv } = kafkaTestTopics(brokers);
  const database = `canary_${suffix}`;
  cleanups.push(async () => {
    const client = new MongoClient(url);
    await client.db(database).dropDatabase();
    await client.close();
  });
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
  const service = await startService(
    loadConfig({
      DATA_DIR: serviceDir,
      PORT: '0',
      LOG_LEVEL: 'debug',
      EVENTSTORE_URL: store.connectionString,
      MONGODB_URL: url,
      MONGODB_DATABASE: database,
      ...kafkaEnv,
      ...testPersonalDataEnv,
    }),
    logger,
  );
  cleanups.push(() => service.stop());

  const kyc = copyOf(kycIntakeExample);
  kyc.client_id = `canary-kyc-${suffix}`;
  kyc.persons[0]!.firstname = markers.person;
  const kyb = copyOf(kybIntakeExample);
  kyb.client_id = `canary-kyb-${suffix}`;
  kyb.persons[0]!.lastname = markers.director;
  kyb.beneficial_owners[0]!.person_details.firstname = markers.owner;
  const producer = new Kafka({ clientId: 'canary-test', brokers, logLevel: logLevel.NOTHING }).producer();
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  await producer.send({
    topic: topics.inbound,
    acks: -1,
    messages: [
      { key: 'kyc', value: JSON.stringify(kyc), headers: { 'idempotency-key': `kyc-${suffix}` } },
      { key: 'kyb', value: JSON.stringify(kyb), headers: { 'idempotency-key': `kyb-${suffix}` } },
    ],
  });

  const personsOf = async (clientId: string) => {
    const cases = (await (await fetch(`${service.url}/api/v1/cases?client_id=${clientId}`)).json()) as {
      id: string;
    }[];
    if (cases[0] === undefined) return undefined;
    const persons = (await (await fetch(`${service.url}/api/v1/persons/case/${cases[0].id}`)).json()) as {
      firstname: string;
      lastname: string;
    }[];
    return persons.length > 0 ? { caseId: cases[0].id, persons } : undefined;
  };
  const kycSeen = await eventually('the KYC case and its person', () => personsOf(kyc.client_id), 60_000);
  const kybSeen = await eventually('the KYB case and its director', () => personsOf(kyb.client_id), 60_000);
  assert.equal(kycSeen.persons[0]?.firstname, markers.person);
  assert.equal(kybSeen.persons[0]?.lastname, markers.director);
  const events = await (await fetch(`${service.url}/api/v1/cases/${kybSeen.caseId}/events`)).text();
  assert.ok(events.includes(markers.owner), 'the owner is readable through the event history');

  const client = new MongoClient(url);
  cleanups.push(() => client.close());
  const keys = await client.db(database).collection('personal_data_keys').find({}).toArray();
  const scopes = new Set(keys.map((k) => k.scope));
  assert.ok(scopes.has(kycSeen.caseId) && scopes.has(kybSeen.caseId), 'keys per case in the key store');
  assert.ok(keys.every((k) => k.kek_id === testPersonalDataEnv.PERSONAL_DATA_KEK_ID));

  // The welcome notifications of both cases, as published: ids and statuses, no names (the shipped
  // rules do not ask for them).
  const published: string[] = [];
  const reader = new Kafka({ clientId: 'canary-reader', brokers, logLevel: logLevel.NOTHING }).consumer({
    groupId: `canary-reader-${suffix}`,
  });
  await reader.connect();
  cleanups.push(() => reader.disconnect());
  await reader.subscribe({ topic: topics.notifications, fromBeginning: true });
  await reader.run({
    eachMessage: async ({ message }) => {
      published.push(message.value?.toString('utf8') ?? '');
    },
  });
  await eventually(
    'both welcome notifications on the topic',
    () => (published.length >= 2 ? published : undefined),
    60_000,
  );
  assert.ok(published.every((value) => value.includes('"recipient_details_included":false')));

  // Every collection of the database, every document as stored, once both intakes are audited.
  await eventually(
    'the raw intake audit of both messages',
    async () => ((await service.storedDocuments.count('raw_events')) >= 2 ? true : undefined),
    60_000,
  );
  const db = client.db(database);
  const collections = (await db.listCollections({}, { nameOnly: true }).toArray()).map((c) => c.name);
  const readStore: Record<string, string> = {};
  for (const name of collections)
    readStore[name] = JSON.stringify(await db.collection(name).find({}).toArray());
  const scanned = Object.entries(readStore).filter(([name]) =>
    /^(persons|beneficial_owners|raw_events)__g\d+$/.test(name),
  );
  assert.equal(scanned.length, 3, `the sealed read models among ${collections.join(', ')}`);
  assert.ok(
    scanned.every(([, text]) => text.includes(kybSeen.caseId)),
    'the scan saw the documents',
  );
  for (const [name, text] of Object.entries(readStore)) {
    for (const [role, value] of Object.entries(markers)) {
      for (const form of [value, Buffer.from(value).toString('hex')]) {
        assert.ok(!text.includes(form), `${role} marker found in collection ${name}`);
      }
    }
  }

  // Erasure of the KYB case: placeholders through the API at once, and a passed read-store check.
  await service.erasure.endRelationship(kybSeen.caseId, '2000-01-01T00:00:00.000Z', 'canary');
  await service.erasure.requestErasure(kybSeen.caseId, 'canary', 'test');
  const erasure = await service.erasure.executeIfDue(kybSeen.caseId);
  const readStoreCheck = erasure.certificate?.checks.find((c) => c.store === 'read store');
  assert.equal(readStoreCheck?.result, 'passed', readStoreCheck?.detail);
  assert.match(readStoreCheck?.detail ?? '', /^[1-9]\d* documents of the case/);
  const erasedPersons = (await personsOf(kyb.client_id))?.persons;
  assert.deepEqual(
    erasedPersons?.map((p) => [p.firstname, p.lastname]),
    [[ERASED, ERASED]],
  );
  const afterErasure = await (await fetch(`${service.url}/api/v1/cases/${kybSeen.caseId}/events`)).text();
  assert.ok(!afterErasure.includes(markers.director) && !afterErasure.includes(markers.owner));

  await service.stop();
  const files = (await readdir(storeDir, { withFileTypes: true, recursive: true }))
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
  const storeBytes = Buffer.concat(await Promise.all(files.map((file) => readFile(file))));
  assert.ok(storeBytes.includes('PersonAdded'), 'the event store files hold the events');
  const sinks = {
    'event store files': storeBytes.toString('latin1'),
    'key store': JSON.stringify(keys),
    logs: logLines.join(''),
    'notification topic': published.join(''),
  };
  for (const [sink, text] of Object.entries(sinks)) {
    for (const [role, value] of Object.entries(markers)) {
      for (const form of [value, Buffer.from(value).toString('hex')]) {
        assert.ok(!text.includes(form), `${role} marker found in ${sink}`);
      }
    }
  }
});
