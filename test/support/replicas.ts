import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EventStoreDBClient, FORWARDS, START } from '@eventstore/db-client';
import { Kafka, logLevel } from 'kafkajs';
import { type Db, MongoClient } from 'mongodb';
import type { AllPosition } from '../../src/eventsourcing/core/events.ts';
import { comparePositions, positionFromKey } from '../../src/eventsourcing/core/positions.ts';
import { type RunningService, startService } from './service-process.ts';

const root = new URL('../../', import.meta.url);

/**
 * The processes a test started here. The test runner ends a file that overruns its timeout with
 * a signal, which runs no `after` hook: these are killed on the way out, so none outlives it.
 */
const children = new Set<ChildProcess>();
function own(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    for (const child of children) child.kill('SIGKILL');
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

/** An event store of its own: the emulator CLI as a separate process, so a replica's crash leaves it. */
export type EventStoreProcess = {
  connectionString: string;
  client: EventStoreDBClient;
  stop(): Promise<void>;
};

/** Starts the emulator CLI in memory on a free port; resolves once it prints where it listens. */
export async function startEventStoreProcess(timeoutMs = 60_000): Promise<EventStoreProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/app/cli/main.ts', 'eventstore-emulator', '--port', '0', '--memory'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '' } },
  );
  own(child);
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const connectionString = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`event store did not start: ${output}`)), timeoutMs);
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (esdb:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`event store exited with ${code}: ${output}`));
    });
  });
  const client = EventStoreDBClient.connectionString(connectionString);
  return {
    connectionString,
    client,
    async stop() {
      await client.dispose();
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

/** Streams whose events the read models handle (the projections' server-side filter). */
const projectedPrefixes = ['case-', 'intake-', 'access-'];

export type StoredEvent = {
  streamId: string;
  type: string;
  id: string;
  position: AllPosition;
  data: unknown;
};

/** Every event of `$all` in the streams the service writes (system records left out), oldest first. */
export async function readServiceEvents(client: EventStoreDBClient): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const resolved of client.readAll({ direction: FORWARDS, fromPosition: START, maxCount: 1e7 })) {
    const event = resolved.event;
    if (event === undefined || event.type.startsWith('$') || event.position === undefined) continue;
    events.push({
      streamId: event.streamId,
      type: event.type,
      id: event.id,
      position: { commit: event.position.commit, prepare: event.position.prepare },
      data: event.isJson ? event.data : null,
    });
  }
  return events;
}

/** Position of the newest event the read models handle, or null when there is none. */
export async function lastProjectedPosition(client: EventStoreDBClient): Promise<AllPosition | null> {
  let last: AllPosition | null = null;
  for (const event of await readServiceEvents(client)) {
    if (projectedPrefixes.some((prefix) => event.streamId.startsWith(prefix))) last = event.position;
  }
  return last;
}

// ---------------------------------------------------------------------------------------------
// Replicas

export type Replica = { name: string; service: RunningService; startedAt: number; startMs: number };

/**
 * Named service processes sharing one configuration. `kill` is SIGKILL (a crash); `start` again
 * under the same name is a restart on a new port. `next()` round-robins over the live ones, as a
 * load balancer would.
 */
export function createReplicaSet(
  baseEnv: Record<string, string>,
  envOf: (name: string) => Record<string, string>,
) {
  const live = new Map<string, Replica>();
  /** Every process started, killed ones too, for their logs. */
  const history: Replica[] = [];
  let turn = 0;
  return {
    live,
    history,
    async start(name: string): Promise<Replica> {
      const startedAt = Date.now();
      const service = await startService({ ...baseEnv, ...envOf(name) }, 120_000, own);
      const replica = { name, service, startedAt, startMs: Date.now() - startedAt };
      live.set(name, replica);
      history.push(replica);
      return replica;
    },
    /** Writes each process's log lines to `<dir>/<name>-<n>.log`; returns the files. */
    async saveLogs(dir: string): Promise<string[]> {
      await mkdir(dir, { recursive: true });
      return Promise.all(
        history.map(async (replica, n) => {
          const file = join(dir, `${replica.name}-${n}.log`);
          await writeFile(file, replica.service.logs.map((line) => JSON.stringify(line)).join('\n'));
          return file;
        }),
      );
    },
    /** SIGKILL; returns the moment the signal was sent. */
    async kill(name: string): Promise<number> {
      const replica = live.get(name);
      if (replica === undefined) throw new Error(`no live replica ${name}`);
      live.delete(name);
      const at = Date.now();
      await replica.service.kill();
      return at;
    },
    next(): Replica | undefined {
      const replicas = [...live.values()];
      if (replicas.length === 0) return undefined;
      turn = (turn + 1) % replicas.length;
      return replicas[turn];
    },
    /**
     * SIGTERM to each, and SIGKILL to any still running after `graceMs`; returns the names of
     * those that had to be killed (a shutdown that hangs).
     */
    async stopAll(graceMs = 20_000): Promise<string[]> {
      const replicas = [...live.values()];
      live.clear();
      const hung: string[] = [];
      await Promise.all(
        replicas.map(async (replica) => {
          let timer: NodeJS.Timeout | undefined;
          const stopped = await Promise.race([
            replica.service.stop().then(() => true),
            new Promise<false>((resolve) => {
              timer = setTimeout(() => resolve(false), graceMs);
            }),
          ]);
          clearTimeout(timer);
          if (!stopped) {
            hung.push(replica.name);
            await replica.service.kill();
          }
        }),
      );
      return hung;
    },
  };
}
export type ReplicaSet = ReturnType<typeof createReplicaSet>;

export type ProcessorItem = {
  name: string;
  kind: string;
  state: string;
  phase?: string;
  position?: string | null;
  details?: Record<string, unknown>;
  lease?: {
    mode: string;
    role: 'leader' | 'follower' | 'none';
    holder: string;
    token: number;
    expires_at: string;
  };
};

/** The processors a replica reports, or undefined when it does not answer. */
export async function processorsOf(baseUrl: string): Promise<ProcessorItem[] | undefined> {
  try {
    const response = await fetch(`${baseUrl}/api/v1/admin/processors`, {
      signal: AbortSignal.timeout(5_000),
    });
    if (!response.ok) return undefined;
    return ((await response.json()) as { processors: ProcessorItem[] }).processors;
  } catch {
    return undefined;
  }
}

/**
 * Whether the replica does the work of a projector: with leases, it reports itself leader; without
 * (PROJECTOR=on), it runs the projector at all.
 */
export function leads(item: ProcessorItem): boolean {
  if (item.lease !== undefined && item.lease.mode !== 'on') return item.lease.role === 'leader';
  return item.kind === 'projector' && item.state === 'running';
}

// ---------------------------------------------------------------------------------------------
// Read store

/** The projections' slots: where each read model is served from and how far it got. */
export async function slotsOf(db: Db) {
  const slots = await db
    .collection<{ _id: string; collection: string; target: string; checkpoint: string | null }>(
      '_projection_slots',
    )
    .find()
    .toArray();
  return slots.map((slot) => ({
    projection: slot._id,
    collection: slot.collection,
    target: slot.target,
    checkpoint: slot.checkpoint === null ? null : positionFromKey(slot.checkpoint),
  }));
}

/**
 * Polls the projections' checkpoints in the read store, the intake group's committed Kafka
 * offsets and the notification group's checkpoint in the event store, and records every step
 * backwards. `caughtUp(position)` resolves once every projection's
 * checkpoint is at or past `position`.
 */
export function watchCheckpoints(options: {
  db: Db;
  brokers: readonly string[];
  groupId: string;
  topic: string;
  /** The persistent subscription group (on `$all`) whose checkpoint is watched too. */
  persistent: { client: EventStoreDBClient; group: string };
  intervalMs?: number;
}) {
  const backwards: string[] = [];
  const lastCheckpoint = new Map<string, { target: string; checkpoint: AllPosition }>();
  const lastOffset = new Map<number, bigint>();
  let projections: { projection: string; checkpoint: AllPosition | null }[] = [];
  let polls = 0;
  let offsetPolls = 0;
  let groupPolls = 0;
  let groupCheckpoint: AllPosition | undefined;
  const waiters: { position: AllPosition; resolve: () => void }[] = [];
  const admin = new Kafka({
    clientId: 'replicas-test-watch',
    brokers: [...options.brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  }).admin();
  let adminConnected = false;

  const reached = (position: AllPosition) =>
    projections.length > 0 &&
    projections.every(({ checkpoint }) => checkpoint !== null && comparePositions(checkpoint, position) >= 0);

  async function pollSlots(): Promise<void> {
    const slots = await slotsOf(options.db);
    for (const slot of slots) {
      if (slot.checkpoint === null) continue;
      const before = lastCheckpoint.get(slot.projection);
      if (
        before !== undefined &&
        before.target === slot.target &&
        comparePositions(slot.checkpoint, before.checkpoint) < 0
      ) {
        backwards.push(
          `${slot.projection}: checkpoint ${before.checkpoint.commit} then ${slot.checkpoint.commit}`,
        );
      }
      lastCheckpoint.set(slot.projection, { target: slot.target, checkpoint: slot.checkpoint });
    }
    projections = slots;
    polls++;
    for (const waiter of [...waiters]) {
      if (reached(waiter.position)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  }

  async function pollOffsets(): Promise<void> {
    if (!adminConnected) {
      await admin.connect();
      adminConnected = true;
    }
    const [topic] = await admin.fetchOffsets({ groupId: options.groupId, topics: [options.topic] });
    for (const { partition, offset } of topic?.partitions ?? []) {
      if (offset === '-1') continue;
      const value = BigInt(offset);
      const before = lastOffset.get(partition);
      if (before !== undefined && value < before) {
        backwards.push(`${options.topic}[${partition}]: committed offset ${before} then ${value}`);
      }
      lastOffset.set(partition, value);
    }
    offsetPolls++;
  }

  async function pollGroup(): Promise<void> {
    const { client, group } = options.persistent;
    const info = await client.getPersistentSubscriptionToAllInfo(group);
    const position = info.stats.lastCheckpointedEventPosition;
    if (position !== undefined) {
      const now = { commit: position.commit, prepare: position.prepare };
      if (groupCheckpoint !== undefined && comparePositions(now, groupCheckpoint) < 0) {
        backwards.push(`${group}: checkpoint ${groupCheckpoint.commit} then ${now.commit}`);
      }
      groupCheckpoint = now;
    }
    groupPolls++;
  }

  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      // The broker may be away on purpose: an offset read that fails is simply not counted; the
      // group exists once a replica's publisher created it.
      await Promise.all([
        pollSlots(),
        pollOffsets().catch(() => undefined),
        pollGroup().catch(() => undefined),
      ]);
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 100));
    }
  })();

  return {
    backwards,
    polls: () => ({ slots: polls, offsets: offsetPolls, group: groupPolls }),
    /** Resolves once every projection's checkpoint is at or past `position`. */
    caughtUp(position: AllPosition): Promise<void> {
      if (reached(position)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ position, resolve }));
    },
    async stop(): Promise<void> {
      stopped = true;
      await loop;
      await admin.disconnect();
    },
  };
}

/** Fields that say when or by which process something was stored, not what it is. */
const volatileSlotFields = ['target', 'checkpoint', 'generation', 'fence'];

/**
 * Every collection of a read-model database as plain data, by logical name: the served target of
 * each projection, sorted by id; bookkeeping without the fields that name physical targets or
 * positions reached. Collections neither a projection nor known bookkeeping serves are kept
 * under their own name, so an unexpected one shows as a difference.
 */
export async function readModelSnapshot(
  db: Db,
  ignore: readonly string[],
): Promise<Record<string, unknown[]>> {
  const slots = await slotsOf(db);
  const served = new Map(slots.map((slot) => [slot.target, slot.collection]));
  const snapshot: Record<string, unknown[]> = {};
  for (const { name } of await db.listCollections({}, { nameOnly: true }).toArray()) {
    if (ignore.includes(name)) continue;
    const logical = served.get(name);
    const documents = await db.collection(name).find().sort({ _id: 1 }).toArray();
    if (name === '_projection_slots') {
      snapshot[name] = documents.map((slot) =>
        Object.fromEntries(Object.entries(slot).filter(([field]) => !volatileSlotFields.includes(field))),
      );
    } else if (logical !== undefined) {
      snapshot[logical] = documents;
    } else if (!slots.some((slot) => name.startsWith(`${slot.collection}_`))) {
      snapshot[name] = documents;
    }
  }
  return snapshot;
}

/** Every message of a topic, read from the start up to the high watermarks as they are now. */
export async function readWholeTopic(
  brokers: readonly string[],
  topic: string,
): Promise<{ key: string; value: string; headers: Record<string, string> }[]> {
  const kafka = new Kafka({
    clientId: 'replicas-test-read',
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const remaining = new Map(ends.map(({ partition, high }) => [partition, BigInt(high)]));
  for (const [partition, high] of remaining) if (high === 0n) remaining.delete(partition);
  const messages: { key: string; value: string; headers: Record<string, string> }[] = [];
  if (remaining.size === 0) return messages;
  const consumer = kafka.consumer({ groupId: `replicas-test-read-${Date.now()}-${Math.random()}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve, reject) => {
    consumer
      .run({
        eachMessage: async ({ partition, message }) => {
          const headers: Record<string, string> = {};
          for (const [name, value] of Object.entries(message.headers ?? {})) headers[name] = String(value);
          messages.push({ key: String(message.key), value: String(message.value), headers });
          const high = remaining.get(partition);
          if (high !== undefined && BigInt(message.offset) + 1n >= high) remaining.delete(partition);
          if (remaining.size === 0) resolve();
        },
      })
      .catch(reject);
  });
  await consumer.disconnect();
  return messages;
}

export const mongoClientFor = (url: string) => new MongoClient(url, { serverSelectionTimeoutMS: 10_000 });
