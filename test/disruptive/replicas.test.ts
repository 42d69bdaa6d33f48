/**
 * The whole service as three replicas on one event store (the emulator in a process of its own),
 * one FerretDB database and one Kafka: intake through Kafka (the group spreads the partitions)
 * and through HTTP (round-robin over the live replicas, a failed connection or a 503 repeated on
 * the next, as a load balancer and a retrying client would). Mid-stream the replica leading most
 * processors is killed with SIGKILL, then the one leading least, then the broker is stopped and
 * started again; then the input is finished.
 *
 * Afterwards: the read models equal what one process builds from the same event store into a
 * fresh database; every input is one case; every notification the event store holds is on the
 * topic, and a notification id appears there only with its own event id (a repeat of that
 * envelope is an at-least-once redelivery, counted and printed; a second event for one
 * notification would be a doubled notification); no projection checkpoint, committed intake
 * offset or notification-group checkpoint went backwards; and the take-over times are printed.
 *
 * Leadership: every replica runs PROJECTOR=auto with short leases, and the leaders are whichever
 * replicas hold them. REPLICAS_PROJECTOR=on-off runs the older layout instead (replica a with
 * PROJECTOR=on, b and c off; the take-over is a's restart). REPLICAS_LONG=1 feeds four times the
 * input.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { promisify } from 'node:util';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import type { Db } from 'mongodb';
import { comparePositions } from '../../src/eventsourcing/core/positions.ts';
import { open } from '../../src/eventsourcing/protection/envelope.ts';
import { createKeyStore, type KeyStore } from '../../src/eventsourcing/protection/key-store.ts';
import { createMongoKeyRecords } from '../../src/eventsourcing/protection/mongo-key-records.ts';
import {
  documentAssociatedData,
  SEALED_DOCUMENT_FIELD,
} from '../../src/eventsourcing/protection/protected-read-store.ts';
import { notificationGroup } from '../../src/kafka/outbound.ts';
import { kafkaTestTopics, numberedIntake } from '../support/kafka-intake.ts';
import { testPersonalDataEnv } from '../support/personal-data.ts';
import {
  createReplicaSet,
  lastProjectedPosition,
  leads,
  mongoClientFor,
  type ProcessorItem,
  processorsOf,
  type ReplicaSet,
  readModelSnapshot,
  readServiceEvents,
  readWholeTopic,
  slotsOf,
  startEventStoreProcess,
  watchCheckpoints,
} from '../support/replicas.ts';
import { kafkaBrokers, mongoUrl } from '../support/services.ts';

const run = promisify(execFile);
const worktree = new URL('../../', import.meta.url);
const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  // Each bounded, so a cleanup that hangs after a failure does not hold the file to its timeout.
  for (const cleanup of cleanups.reverse()) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      cleanup().catch(() => undefined),
      new Promise((resolve) => {
        timer = setTimeout(resolve, 30_000);
      }),
    ]);
    clearTimeout(timer);
  }
});

type Json = Record<string, unknown>;
const long = process.env.REPLICAS_LONG === '1';
const auto = process.env.REPLICAS_PROJECTOR !== 'on-off';
const scale = long ? 4 : 1;
/** Kafka intakes per phase, HTTP intakes per phase; every third HTTP case has a document rejected. */
const kafkaPerPhase = 30 * scale;
const httpPerPhase = 12 * scale;
const phases = 3;
/**
 * Short leases, so a take-over takes seconds; not shorter, because on a loaded two-core machine a
 * replica's event loop stalls for seconds at times and a leader that misses its renewal steps down.
 */
const leaseEnv = { LEASE_TTL_MS: '10000', LEASE_RENEW_AFTER_MS: '2000', LEASE_MARGIN_MS: '4000' };

/** How long one HTTP request may go on finding a replica to answer it (a restart included). */
const requestDeadlineMs = 120_000;
/** Leases move within seconds; without them the take-over is a restart, slow on a loaded machine. */
const takeoverTimeoutMs = auto ? 60_000 : 150_000;

/**
 * Left out of the comparison: the personal-data keys (copied into the replay's database) and the
 * leadership bookkeeping, which only a run with leases has.
 */
const bookkeeping = ['personal_data_keys', '_leases', '_projection_fences'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 100 ms until it returns a value; fails naming `what` after `ms`. */
async function until<T>(what: string, check: () => Promise<T | undefined>, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** What the HTTP client went through: intakes sent, and attempts that another replica had to repeat. */
type HttpStats = { sent: number; connectionFailures: number; unavailable: number };

/**
 * A request to the next live replica. A connection that fails (the replica died under it) or a
 * 503 (read model behind, store away) moves the same request to the next replica, as a load
 * balancer and a retrying client would.
 */
async function request(
  replicas: ReplicaSet,
  stats: HttpStats,
  method: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Json | Json[] }> {
  const deadline = Date.now() + requestDeadlineMs;
  for (;;) {
    const replica = replicas.next();
    if (replica !== undefined) {
      try {
        const response = await fetch(`${replica.service.baseUrl}${path}`, {
          method,
          headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(15_000),
        });
        const json = (await response.json()) as Json | Json[];
        if (response.status !== 503) return { status: response.status, json };
        stats.unavailable++;
      } catch {
        stats.connectionFailures++;
      }
    }
    if (Date.now() > deadline) throw new Error(`${method} ${path} found no replica to answer it`);
    await sleep(100);
  }
}

/**
 * HTTP intake n of a phase: open a case (the idempotency key makes a retry the same case); every
 * third case also gets its first document uploaded and rejected, which raises a notification.
 */
async function httpIntake(replicas: ReplicaSet, runId: string, n: number, stats: HttpStats) {
  const { key, value } = numberedIntake(n, runId);
  const opened = await request(replicas, stats, 'POST', '/api/v1/cases', JSON.parse(value), {
    'idempotency-key': key,
  });
  assert.equal(opened.status, 202, `intake ${key}: ${JSON.stringify(opened.json)}`);
  if (n % 3 !== 0) return;
  const { case_id: caseId, position } = opened.json as { case_id: string; position: string };
  const documents = await request(
    replicas,
    stats,
    'GET',
    `/api/v1/documents/case/${caseId}?min_position=${position}`,
    undefined,
  );
  assert.equal(documents.status, 200, `documents of ${caseId}: ${JSON.stringify(documents.json)}`);
  const [first] = (documents.json as { id: string }[]).sort((a, b) => a.id.localeCompare(b.id));
  assert.ok(first, `case ${caseId} has documents`);
  for (const status of ['UPLOADED', 'REJECTED']) {
    const changed = await request(replicas, stats, 'PUT', `/api/v1/documents/${first.id}/status`, {
      new_status: status,
      updated_by_actor_id: 'replicas-test',
    });
    assert.equal(changed.status, 200, `${status} ${first.id}: ${JSON.stringify(changed.json)}`);
  }
}

/** Work that runs while the test goes on; a failure is held for `done()` rather than left unhandled. */
function inBackground<T>(work: Promise<T>): { done(): Promise<T> } {
  const outcome = work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  return {
    async done() {
      const result = await outcome;
      if (!result.ok) throw result.error;
      return result.value;
    },
  };
}

/** HTTP intakes [from, to), one after another, in the background. */
function httpFeed(
  replicas: ReplicaSet,
  runId: string,
  from: number,
  to: number,
  stats: HttpStats,
): { done(): Promise<void> } {
  return inBackground(
    (async () => {
      for (let n = from; n < to; n++) {
        await httpIntake(replicas, runId, n, stats);
        stats.sent++;
      }
    })(),
  );
}

async function kafkaFeed(producer: Producer, topic: string, runId: string, from: number, to: number) {
  await producer.send({
    topic,
    acks: -1,
    messages: Array.from({ length: to - from }, (_, i) => {
      const { key, value } = numberedIntake(from + i, runId);
      return { key, value, headers: { 'idempotency-key': key } };
    }),
  });
}

async function casesIn(db: Db): Promise<number> {
  const slot = (await slotsOf(db)).find((s) => s.collection === 'cases');
  return slot === undefined ? 0 : db.collection(slot.target).countDocuments({ _del: { $exists: false } });
}

/** Every replica's processors, by replica name. */
async function processorsByReplica(replicas: ReplicaSet): Promise<Map<string, ProcessorItem[]>> {
  const reports = new Map<string, ProcessorItem[]>();
  await Promise.all(
    [...replicas.live.values()].map(async (replica) => {
      const items = await processorsOf(replica.service.baseUrl);
      if (items !== undefined) reports.set(replica.name, items);
    }),
  );
  return reports;
}

/** Which live replica leads each projector (undefined where none does yet). */
async function leaders(replicas: ReplicaSet, projectors: readonly string[]) {
  const reports = await processorsByReplica(replicas);
  return new Map(
    projectors.map((name) => [
      name,
      [...reports].find(([, items]) => items.some((item) => item.name === name && leads(item)))?.[0],
    ]),
  );
}

it('three replicas survive the leader killed, a follower killed and the broker stopped, with the read models one process builds', async (t) => {
  const brokers = kafkaBrokers(t);
  const url = mongoUrl(t);
  if (brokers === undefined || url === undefined) return;
  const started = Date.now();
  const runId = randomUUID().slice(0, 8);
  const { env: kafkaEnv, topics } = kafkaTestTopics(brokers);
  const database = `replicas_${runId}`;

  const store = await startEventStoreProcess();
  cleanups.push(() => store.stop());
  const mongo = mongoClientFor(url);
  await mongo.connect();
  cleanups.push(() => mongo.close());
  const db = mongo.db(database);
  cleanups.push(() => db.dropDatabase());

  const baseEnv = {
    EVENTSTORE_URL: store.connectionString,
    MONGODB_URL: url,
    MONGODB_DATABASE: database,
    ERASURE_JOB_INTERVAL_SECONDS: '0',
    ...kafkaEnv,
  };
  const replicas = createReplicaSet(baseEnv, (name) => ({
    REPLICA_ID: `replica-${name}-${runId}`,
    ...(auto ? { PROJECTOR: 'auto', ...leaseEnv } : { PROJECTOR: name === 'a' ? 'on' : 'off' }),
  }));
  cleanups.push(() => replicas.stopAll());

  // On failure, every process's log is kept for the post-mortem.
  let passed = false;
  t.after(async () => {
    if (passed) return;
    const files = await replicas.saveLogs(join(tmpdir(), `replicas-${runId}`));
    console.error(`replica logs: ${files.join(' ')}`);
  });
  // Progress goes to stderr as it happens too: a run that overruns shows how far it got.
  const step = (what: string) => {
    const line = `+${((Date.now() - started) / 1000).toFixed(1)} s ${what}`;
    t.diagnostic(line);
    console.error(`replicas: ${line}`);
  };

  // All at once, as a roll-out starts them: each creates the topics it finds missing.
  await Promise.all(['a', 'b', 'c'].map((name) => replicas.start(name)));
  step(
    `mode ${auto ? 'PROJECTOR=auto (leases)' : 'PROJECTOR=on on a, off on b and c'}; three replicas up (starts took ${replicas.history.map((r) => r.startMs).join(', ')} ms)`,
  );

  const watcher = watchCheckpoints({
    db,
    brokers,
    groupId: kafkaEnv.KAFKA_GROUP_ID,
    topic: topics.inbound,
    persistent: { client: store.client, group: notificationGroup },
  });
  cleanups.push(() => watcher.stop());
  const kafka = new Kafka({
    clientId: 'replicas-test',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 30 },
  });
  const producer = kafka.producer({ idempotent: true });
  await producer.connect();
  cleanups.push(() => producer.disconnect());

  const listed = await until(
    'every replica to list its processors',
    async () => {
      const reports = await processorsByReplica(replicas);
      return reports.size === 3 ? [...reports.values()].flat() : undefined;
    },
    30_000,
  );
  const projectors = [
    ...new Set(listed.filter((item) => item.kind === 'projector').map((item) => item.name)),
  ].sort();
  // What a leader runs: with leases every leased processor (the publisher too); without, the projectors.
  const led = auto
    ? [...new Set(listed.filter((item) => item.lease !== undefined).map((item) => item.name))].sort()
    : projectors;
  assert.ok(
    projectors.length > 0 && led.length >= projectors.length,
    `processors listed: ${JSON.stringify(listed)}`,
  );
  const initialLeaders = await until(
    'a leader for every processor',
    async () => {
      const found = await leaders(replicas, led);
      return [...found.values()].every((name) => name !== undefined) ? found : undefined;
    },
    30_000,
  );
  step(`led processors: ${led.join(', ')}; leaders ${JSON.stringify(Object.fromEntries(initialLeaders))}`);

  const total = phases * (kafkaPerPhase + httpPerPhase);
  const http: HttpStats = { sent: 0, connectionFailures: 0, unavailable: 0 };
  const kafkaRange = (phase: number) => [phase * kafkaPerPhase, (phase + 1) * kafkaPerPhase] as const;
  // HTTP intakes are numbered after the Kafka ones, so every input has its own client id.
  const httpRange = (phase: number) =>
    [
      phases * kafkaPerPhase + phase * httpPerPhase,
      phases * kafkaPerPhase + (phase + 1) * httpPerPhase,
    ] as const;

  // ---- Phase 1: input flowing, then the leader killed.
  step('phase 1: input');
  await kafkaFeed(producer, topics.inbound, runId, ...kafkaRange(0));
  const httpPhase1 = httpFeed(replicas, runId, ...httpRange(0), http);
  await until(
    'a fifth of the first phase in the read models',
    async () => ((await casesIn(db)) >= (kafkaPerPhase + httpPerPhase) / 5 ? true : undefined),
    60_000,
  );
  /** Which replica leads each processor, once every one has a leader. */
  const allLed = () =>
    until(
      'a leader for every processor',
      async () => {
        const found = await leaders(replicas, led);
        return [...found.values()].every((name) => name !== undefined)
          ? (found as Map<string, string>)
          : undefined;
      },
      60_000,
    );

  /**
   * SIGKILL to a replica, restarted at once as an orchestrator would. Measures, from the kill,
   * when another replica reports itself leader of each processor the killed one led, and when
   * the read models hold everything the log had once those leaders were in place.
   */
  async function killAndTakeOver(name: string, leadersAtKill: Map<string, string>) {
    const orphaned = led.filter((processor) => leadersAtKill.get(processor) === name);
    const killedAt = await replicas.kill(name);
    // With leases the survivors take over long before it is back; in on-off mode nobody else
    // may project and its restart is the take-over.
    const restart = inBackground(replicas.start(name));
    const takeover = new Map<string, number>();
    await until(
      `a new leader for every processor ${name} led`,
      async () => {
        const found = await leaders(replicas, orphaned);
        for (const [processor, holder] of found) {
          if (holder !== undefined && !takeover.has(processor))
            takeover.set(processor, Date.now() - killedAt);
        }
        return takeover.size === orphaned.length ? true : undefined;
      },
      takeoverTimeoutMs,
    );
    const head = await lastProjectedPosition(store.client);
    await watcher.caughtUp(head!);
    const caughtUpMs = Date.now() - killedAt;
    await restart.done();
    const backMs = Date.now() - killedAt;
    const times = [...takeover.values()];
    const summary =
      times.length === 0
        ? 'it led nothing'
        : `take-over ${Math.min(...times)}–${Math.max(...times)} ms (${[...takeover].map(([p, ms]) => `${p} ${ms}`).join(', ')}); read models caught up ${caughtUpMs} ms after the kill`;
    return { summary, backMs };
  }

  // The replica leading most processors is "the leader".
  const leadersAtKill = await allLed();
  const counts = new Map<string, number>();
  for (const name of leadersAtKill.values()) counts.set(name, (counts.get(name) ?? 0) + 1);
  const leader = [...counts].sort((x, y) => y[1] - x[1])[0]![0];
  const casesAtKill = await casesIn(db);
  assert.ok(casesAtKill < total, 'the leader is killed mid-stream');
  const httpPhase2 = httpFeed(replicas, runId, ...httpRange(1), http);
  const [leaderKill] = await Promise.all([
    killAndTakeOver(leader, leadersAtKill),
    kafkaFeed(producer, topics.inbound, runId, ...kafkaRange(1)),
  ]);
  step(
    `leader ${leader} killed with ${casesAtKill} of ${total} cases in: ${leaderKill.summary}; back (listening) after ${leaderKill.backMs} ms`,
  );

  // ---- Phase 2: a follower killed and restarted while input flows.
  step('phase 2');
  const afterTakeover = await casesIn(db);
  // Intake goes on after the take-over: five more cases, or every input sent so far when a quick
  // take-over left fewer than five to come.
  const sentSoFar = 2 * kafkaPerPhase + 2 * httpPerPhase;
  await until(
    'more cases after the take-over',
    async () => ((await casesIn(db)) >= Math.min(afterTakeover + 5, sentSoFar) ? true : undefined),
    60_000,
  );
  // With a lease per processor every replica may lead something: then the one leading least.
  const leadersBefore = await allLed();
  const leading = (name: string) => [...leadersBefore.values()].filter((holder) => holder === name).length;
  const follower = [...replicas.live.keys()].sort((x, y) => leading(x) - leading(y))[0]!;
  // Back before the broker goes away (a start needs the broker).
  const followerKill = await killAndTakeOver(follower, leadersBefore);
  step(
    `follower ${follower} (leading ${leading(follower)}) killed: ${followerKill.summary}; back (listening) after ${followerKill.backMs} ms`,
  );
  await httpPhase1.done();
  await httpPhase2.done();

  // ---- Phase 3: the broker stopped while HTTP intake goes on, then started; then the rest.
  step('phase 3');
  const retriesBefore = await publishRetries(replicas);
  const brokerStoppingAt = Date.now();
  await run('bash', ['scripts/services.sh', 'stop-kafka'], { cwd: worktree });
  const brokerStoppedAt = Date.now();
  const httpPhase3 = httpFeed(replicas, runId, ...httpRange(2), http);
  const sentBefore = http.sent;
  // Down until intake went on without it: each of these cases raises a notification that waits
  // for the broker.
  await until(
    'HTTP intake while the broker is down',
    async () => (http.sent >= sentBefore + 5 ? true : undefined),
    60_000,
  );
  const brokerStartingAt = Date.now();
  await run('bash', ['scripts/services.sh', 'start-kafka'], { cwd: worktree });
  step(
    `broker stopping ${brokerStoppedAt - brokerStoppingAt} ms, stopped ${brokerStartingAt - brokerStoppedAt} ms (until 5 HTTP intakes passed), starting ${Date.now() - brokerStartingAt} ms`,
  );
  await kafkaFeed(producer, topics.inbound, runId, ...kafkaRange(2));
  await httpPhase3.done();

  // ---- Everything in.
  step(
    `all input sent; notification publishes retried so far: ${(await publishRetries(replicas)) - retriesBefore}`,
  );
  await until(
    `all ${total} cases in the read models`,
    async () => ((await casesIn(db)) >= total ? true : undefined),
    120_000,
  );
  // The reference: one process replaying the same event store into a fresh database, started now
  // so that it starts while the replicas finish. The keys that decrypt personal data live beside
  // the read models: it needs a copy of them (all written: every case is in, every command done).
  const replayDatabase = `${database}_replay`;
  const replayDb = mongo.db(replayDatabase);
  cleanups.push(() => replayDb.dropDatabase());
  const keys = await db.collection('personal_data_keys').find().toArray();
  if (keys.length > 0) await replayDb.collection('personal_data_keys').insertMany(keys);
  const single = createReplicaSet(
    {
      EVENTSTORE_URL: store.connectionString,
      MONGODB_URL: url,
      MONGODB_DATABASE: replayDatabase,
      ERASURE_JOB_INTERVAL_SECONDS: '0',
    },
    () => ({ PROJECTOR: 'on' }),
  );
  cleanups.push(() => single.stopAll());
  const singleStarted = inBackground(single.start('single'));
  const head = await lastProjectedPosition(store.client);
  await watcher.caughtUp(head!);
  step('read models caught up');
  const events = await readServiceEvents(store.client);
  const notifications = events.filter((event) => event.type === 'NotificationRequired');
  const expected = new Map(
    notifications.map((event) => [(event.data as { notification_id: string }).notification_id, event.id]),
  );
  assert.equal(expected.size, notifications.length, 'one NotificationRequired event per notification id');
  // Every case raises its welcome notification: a check on an empty topic would prove nothing.
  assert.ok(expected.size >= total, `at least one notification per case (${expected.size})`);
  const published = await until(
    'every notification on the topic',
    async () => {
      const messages = await readWholeTopic(brokers, topics.notifications);
      const ids = new Set(
        messages.map((m) => (JSON.parse(m.value) as Json & { payload: Json }).payload.notification_id),
      );
      return [...expected.keys()].every((id) => ids.has(id)) ? messages : undefined;
    },
    60_000,
  );
  step('notifications all on the topic');
  const parked = [...(await processorsByReplica(replicas)).values()]
    .flat()
    .filter((item) => item.kind !== 'projector')
    .flatMap((item) => (item as ProcessorItem & { failures?: unknown[] }).failures ?? []);
  await watcher.stop();

  // Every input is one case, opened once.
  const snapshot = await readModelSnapshot(db, bookkeeping);
  const cases = (snapshot.cases ?? []) as Json[];
  const byClient = new Map<string, number>();
  for (const c of cases) byClient.set(String(c.client_id), (byClient.get(String(c.client_id)) ?? 0) + 1);
  assert.equal(cases.length, total, 'one case per input');
  assert.deepEqual(
    [...byClient.values()].filter((n) => n > 1),
    [],
    'no client has two cases',
  );
  const opened = events.filter((event) => event.type === 'CaseOpened');
  assert.equal(opened.length, total, 'each case opened once in the event store');

  // Notifications: none lost, none doubled; redeliveries of one envelope allowed and counted.
  const seen = new Map<string, Set<string>>();
  for (const message of published) {
    const envelope = JSON.parse(message.value) as { event_id: string; payload: { notification_id: string } };
    const ids = seen.get(envelope.payload.notification_id) ?? new Set<string>();
    ids.add(envelope.event_id);
    seen.set(envelope.payload.notification_id, ids);
    assert.equal(message.headers['message-id'], envelope.event_id, 'header message-id is the envelope id');
  }
  assert.deepEqual(
    [...seen.keys()].sort(),
    [...expected.keys()].sort(),
    'the topic holds exactly the notifications of the event store',
  );
  for (const [id, eventIds] of seen) {
    assert.deepEqual([...eventIds], [expected.get(id)], `notification ${id} published only as its own event`);
  }
  assert.deepEqual(parked, [], 'no notification parked');
  const redelivered = published.length - seen.size;

  // No checkpoint, no committed offset, went backwards.
  assert.deepEqual(watcher.backwards, [], 'no checkpoint went backwards');
  assert.ok(
    watcher.polls().slots > 10 && watcher.polls().offsets > 10 && watcher.polls().group > 10,
    `checkpoints were watched (${JSON.stringify(watcher.polls())})`,
  );

  // The same read models as that one process built.
  const hungOnStop = await replicas.stopAll();
  step(
    `replicas stopped${hungOnStop.length > 0 ? `; ${hungOnStop.join(', ')} ignored SIGTERM for 20 s and were killed` : ''}`,
  );
  await singleStarted.done();
  step('single process started');
  await until(
    'the single process to replay the log',
    async () => {
      const slots = await slotsOf(replayDb);
      return slots.length === projectors.length &&
        slots.every((slot) => slot.checkpoint !== null && comparePositions(slot.checkpoint, head!) >= 0)
        ? true
        : undefined;
    },
    60_000,
  );
  await single.stopAll();
  step('single process replayed the log');
  const replayed = await readModelSnapshot(replayDb, bookkeeping);
  assert.deepEqual(Object.keys(snapshot).sort(), Object.keys(replayed).sort(), 'the same collections');
  // Sealed personal fields differ in their random nonces: compare what they hold.
  const keyStore = createKeyStore({
    records: await createMongoKeyRecords({ url, database }),
    kek: {
      id: testPersonalDataEnv.PERSONAL_DATA_KEK_ID,
      key: Buffer.from(testPersonalDataEnv.PERSONAL_DATA_KEK, 'base64'),
    },
  });
  cleanups.push(() => keyStore.close());
  const withSealedOpened = async (collection: string, documents: unknown[] | undefined) =>
    Promise.all(
      (documents ?? []).map((document) => openSealedFields(keyStore, collection, document as Json)),
    );
  for (const collection of Object.keys(replayed)) {
    assert.deepEqual(
      await withSealedOpened(collection, snapshot[collection]),
      await withSealedOpened(collection, replayed[collection]),
      `read model ${collection} equals the single-process one`,
    );
  }

  // Leadership lost by a live replica (a missed renewal or a takeover), as each replica logged it.
  const leasesLost = replicas.history
    .map(
      (replica) =>
        `${replica.name}: ${replica.service.logs.filter((line) => line.msg === 'lease lost').length}`,
    )
    .join(', ');
  passed = true;
  t.diagnostic(`leases lost by live replicas (per process started): ${leasesLost}`);
  t.diagnostic(
    `${total} inputs (${phases * kafkaPerPhase} Kafka, ${phases * httpPerPhase} HTTP; HTTP attempts repeated on another replica: ${http.connectionFailures} after a failed connection, ${http.unavailable} after a 503), ${events.length} events, ${expected.size} notifications (${redelivered} redelivered with the same envelope id), ${Object.keys(replayed).length} collections equal; checkpoints polled: projections ${watcher.polls().slots}×, intake offsets ${watcher.polls().offsets}×, notification group ${watcher.polls().group}×; run ${Date.now() - started} ms`,
  );
});

async function publishRetries(replicas: ReplicaSet): Promise<number> {
  let sum = 0;
  for (const items of (await processorsByReplica(replicas)).values()) {
    for (const item of items) {
      const retries = item.details?.publishRetries;
      if (typeof retries === 'number') sum += retries;
    }
  }
  return sum;
}

/**
 * A stored read-model document with its sealed personal fields (`_personal`) opened: the key id
 * and the fields they hold, so two stores that sealed the same fields with different nonces
 * compare equal. A field that does not open fails the comparison.
 */
async function openSealedFields(keyStore: KeyStore, collection: string, document: Json): Promise<Json> {
  const sealed = document[SEALED_DOCUMENT_FIELD] as Json | undefined;
  if (sealed === undefined || typeof sealed.kid !== 'string' || sealed.ct === undefined) return document;
  const lookup = await keyStore.find(sealed.kid);
  if (lookup.status !== 'active')
    return { ...document, [SEALED_DOCUMENT_FIELD]: { kid: sealed.kid, key: lookup.status } };
  const result = open(
    lookup.key,
    sealed,
    documentAssociatedData(collection, String(document.id), sealed.kid),
  );
  return {
    ...document,
    [SEALED_DOCUMENT_FIELD]: {
      kid: sealed.kid,
      fields: result.outcome === 'ok' ? JSON.parse(result.plaintext) : `failed to open: ${result.reason}`,
    },
  };
}
