/**
 * The cost of encrypting personal data at the event store boundary, beside the same work without
 * it, in one run and one process: the embedded event store (in memory unless `--data-dir`, then
 * fsynced as the service's data directory is), reached in process as in the embedded mode.
 *
 *   npx tsx bench/encryption.ts [--events 5000] [--rounds 3] [--data-dir DIR]
 *
 * - append: one PersonAdded per append to a fresh case stream, plain vs protected; protected
 *   twice: every event a new subject (a key created, wrapped and stored: the first event of each
 *   person) and every event of one subject (its key cached);
 * - read: the same streams read back, plain vs protected (open + JSON parse per event);
 * - the seal + open of one event's fields alone, without the store.
 * Keys live in memory (a file or MongoDB key store adds its write to each new subject).
 * Rounds alternate plain and protected; each figure is the median of the rounds.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { personalDataDeclarations } from '../src/cases/personal-data.ts';
import { startEmulator } from '../src/emulator/index.ts';
import { createInProcessEventStore } from '../src/eventsourcing/eventstore/in-process.ts';
import type { EventStore, NewEvent } from '../src/eventsourcing/eventstore/port.ts';
import { open, seal } from '../src/eventsourcing/protection/envelope.ts';
import { createKeyStore, createMemoryKeyRecords } from '../src/eventsourcing/protection/key-store.ts';
import { protectPersonalData } from '../src/eventsourcing/protection/protected-event-store.ts';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '5000' },
    rounds: { type: 'string', default: '3' },
    'data-dir': { type: 'string' },
  },
});
const events = Number(args.events);
const rounds = Number(args.rounds);

function personAdded(caseId: string, personId: string): NewEvent {
  return {
    id: randomUUID(),
    type: 'PersonAdded',
    data: {
      person_id: personId,
      case_id: caseId,
      company_id: null,
      firstname: 'Jane',
      lastname: 'Director',
      birthdate: '1985-03-20',
      role_in_company: 'Director',
      added_at: '2026-03-01T10:00:00.000Z',
    },
    metadata: { schemaVersion: 1, correlationId: randomUUID() },
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** Microseconds per event to append `events` events, one append per fresh stream. */
async function appendEach(
  store: EventStore,
  subjects: 'new' | 'one',
): Promise<{ us: number; streams: string[] }> {
  const caseId = randomUUID();
  const streams: string[] = [];
  const started = performance.now();
  for (let i = 0; i < events; i++) {
    const stream = `benchcase-${randomUUID()}`;
    streams.push(stream);
    const subject = subjects === 'new' ? randomUUID() : 'the-one-person';
    await store.appendToStream(stream, [personAdded(caseId, subject)], 'no_stream');
  }
  return { us: ((performance.now() - started) * 1000) / events, streams };
}

async function readEach(store: EventStore, streams: readonly string[]): Promise<number> {
  const started = performance.now();
  for (const stream of streams) {
    const read = await store.readStream(stream);
    if (read?.length !== 1) throw new Error(`read ${stream}: ${read?.length}`);
  }
  return ((performance.now() - started) * 1000) / streams.length;
}

function sealAndOpen(): number {
  const key = randomBytes(32);
  const fields = JSON.stringify({ firstname: 'Jane', lastname: 'Director', birthdate: '1985-03-20' });
  const started = performance.now();
  for (let i = 0; i < events; i++) {
    const aad = `kyc-personal/v1|case-x|${i}|key`;
    const opened = open(key, seal(key, fields, aad), aad);
    if (opened.outcome !== 'ok') throw new Error('round trip failed');
  }
  return ((performance.now() - started) * 1000) / events;
}

async function main() {
  const dataDir = args['data-dir'];
  const emulator = await startEmulator(dataDir === undefined ? { port: 0 } : { port: 0, dataDir });
  const plain = createInProcessEventStore(emulator);
  const keyStore = createKeyStore({
    records: createMemoryKeyRecords(),
    kek: { id: 'bench', key: randomBytes(32) },
  });
  const protectedStore = protectPersonalData(plain, { keyStore, declarations: personalDataDeclarations });
  console.log(
    `# personal data encryption — node ${process.version}, ${events} events × ${rounds} rounds, embedded store in process, ${dataDir === undefined ? 'memory' : `data dir ${dataDir} (fsync always)`}`,
  );
  try {
    // Warm the JIT on both paths before measuring.
    const warm = Math.min(events, 500);
    for (const store of [plain, protectedStore]) {
      for (let i = 0; i < warm; i++)
        await store.appendToStream(`warm-${randomUUID()}`, [personAdded('w', randomUUID())], 'no_stream');
    }
    const figures = {
      plainAppend: [] as number[],
      newSubject: [] as number[],
      oneSubject: [] as number[],
      plainRead: [] as number[],
      protectedRead: [] as number[],
      sealOpen: [] as number[],
    };
    for (let round = 0; round < rounds; round++) {
      const base = await appendEach(plain, 'new');
      figures.plainAppend.push(base.us);
      const fresh = await appendEach(protectedStore, 'new');
      figures.newSubject.push(fresh.us);
      figures.oneSubject.push((await appendEach(protectedStore, 'one')).us);
      figures.plainRead.push(await readEach(plain, fresh.streams));
      figures.protectedRead.push(await readEach(protectedStore, fresh.streams));
      figures.sealOpen.push(sealAndOpen());
    }
    const m = Object.fromEntries(Object.entries(figures).map(([k, v]) => [k, median(v)])) as Record<
      keyof typeof figures,
      number
    >;
    const row = (name: string, us: number, baseline: number) =>
      console.log(
        `${name.padEnd(52)} ${us.toFixed(1).padStart(8)} µs/event  (${(us / baseline).toFixed(2)}×, +${(us - baseline).toFixed(1)} µs)`,
      );
    console.log('## append, one event per append (baseline: plain)');
    console.log(`${'plain (baseline)'.padEnd(52)} ${m.plainAppend.toFixed(1).padStart(8)} µs/event`);
    row('protected, new subject each event (key created)', m.newSubject, m.plainAppend);
    row('protected, one subject (key cached)', m.oneSubject, m.plainAppend);
    console.log('## read back, one stream of one event per read (baseline: plain)');
    console.log(`${'plain (baseline)'.padEnd(52)} ${m.plainRead.toFixed(1).padStart(8)} µs/event`);
    row('protected (decrypt, key cached)', m.protectedRead, m.plainRead);
    console.log('## AES-256-GCM alone: seal + open of one event’s personal fields');
    console.log(`${'seal + open'.padEnd(52)} ${m.sealOpen.toFixed(1).padStart(8)} µs/event`);
    console.log(`decryptions: ${JSON.stringify(protectedStore.decryptions())}`);
  } finally {
    await plain.close();
    await emulator.close();
  }
}

await main();
