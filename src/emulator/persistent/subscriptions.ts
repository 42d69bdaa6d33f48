import { randomBytes } from 'node:crypto';
import type { EmulatorStore } from '../store.ts';
import { type GroupDefinition, type GroupSource, groupKey, sourceName } from './definition.ts';
import { Group } from './group.ts';

const CONFIG_STREAM = '$persistentSubscriptionConfig';
const CONFIG_EVENT_TYPE = '$PersistentConfig';
/** The server checks message timeouts and time-based checkpoints once a second. */
const TICK_MS = 1000;

export type Outcome<T = undefined> =
  | { outcome: 'ok'; value: T }
  | { outcome: 'exists' }
  | { outcome: 'not_found' }
  | { outcome: 'failed'; reason: string };

/**
 * Every persistent subscription group of the node. Definitions are saved to
 * `$persistentSubscriptionConfig` (as the server does) so that a restart reloads them, and
 * each group resumes from its own checkpoint stream.
 */
export class PersistentSubscriptions {
  private readonly store: EmulatorStore;
  private readonly groups = new Map<string, Group>();
  private timer: NodeJS.Timeout | undefined;
  private stopCommitWatch: (() => void) | undefined;
  private stopped = false;

  constructor(store: EmulatorStore) {
    this.store = store;
  }

  /** Loads saved definitions and starts the one-second tick. */
  async load(): Promise<void> {
    for (const definition of this.savedDefinitions()) {
      this.groups.set(groupKey(definition.source, definition.group), new Group(this.store, definition));
    }
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const group of this.groups.values()) group.tick(now);
    }, TICK_MS);
    this.timer.unref();
    this.watchCommits();
  }

  private watchCommits(): void {
    if (this.stopped) return;
    this.stopCommitWatch = this.store.onNextCommit(() => {
      for (const group of this.groups.values()) group.notify();
      this.watchCommits();
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.stopCommitWatch?.();
    for (const group of this.groups.values()) group.shutdown();
  }

  get(source: GroupSource, group: string): Group | undefined {
    return this.groups.get(groupKey(source, group));
  }

  list(source: GroupSource | undefined): Group[] {
    const all = [...this.groups.values()];
    if (source === undefined) return all;
    return all.filter((group) => sourceName(group.definition.source) === sourceName(source));
  }

  async create(definition: GroupDefinition): Promise<Outcome> {
    const invalid = validate(definition);
    if (invalid !== undefined) return { outcome: 'failed', reason: invalid };
    const key = groupKey(definition.source, definition.group);
    if (definition.source.kind === 'all' && definition.settings.startFrom.kind === 'position') {
      if (definition.settings.startFrom.position.commit > this.store.headPosition) {
        return {
          outcome: 'failed',
          reason:
            'Invalid Start From position: commit position must be less than or equal to the last commit position in the transaction file.',
        };
      }
    }
    if (this.groups.has(key)) return { outcome: 'exists' };
    const sizeProblem = bufferSizeProblem(definition);
    if (sizeProblem !== undefined) return { outcome: 'failed', reason: sizeProblem };
    this.groups.set(key, new Group(this.store, definition));
    await this.save();
    return { outcome: 'ok', value: undefined };
  }

  /** Replaces a group: its clients are dropped and the new one resumes from the last checkpoint. */
  async update(definition: GroupDefinition): Promise<Outcome> {
    const key = groupKey(definition.source, definition.group);
    const old = this.groups.get(key);
    if (old === undefined) return { outcome: 'not_found' };
    const invalid = validate(definition);
    if (invalid !== undefined) return { outcome: 'failed', reason: invalid };
    const sizeProblem = bufferSizeProblem(definition);
    if (sizeProblem !== undefined) return { outcome: 'failed', reason: sizeProblem };
    // An update keeps the filter of a subscription to $all.
    const source = old.definition.source;
    old.shutdown();
    await old.settled();
    this.groups.set(key, new Group(this.store, { ...definition, source }));
    await this.save();
    return { outcome: 'ok', value: undefined };
  }

  /** Drops the clients, forgets the group, and soft-deletes its checkpoint and parked streams. */
  async delete(source: GroupSource, group: string): Promise<Outcome> {
    const key = groupKey(source, group);
    const existing = this.groups.get(key);
    if (existing === undefined) return { outcome: 'not_found' };
    existing.shutdown();
    this.groups.delete(key);
    await existing.settled();
    for (const stream of [existing.checkpointStream, existing.parkedStream]) {
      if (this.store.lastRevision(stream) >= 0) await this.store.deleteStream(stream, 'any');
    }
    await this.save();
    return { outcome: 'ok', value: undefined };
  }

  /** Shuts every group down (clients see PersistentSubscriptionDroppedError) and reloads it. */
  async restart(): Promise<void> {
    const definitions = [...this.groups.values()].map((group) => group.definition);
    for (const group of this.groups.values()) group.shutdown();
    await Promise.all([...this.groups.values()].map((group) => group.settled()));
    this.groups.clear();
    for (const definition of definitions) {
      this.groups.set(groupKey(definition.source, definition.group), new Group(this.store, definition));
    }
  }

  private savedDefinitions(): GroupDefinition[] {
    const read = this.store.readStream(CONFIG_STREAM, 'backwards', 'end', 1);
    if (read.kind !== 'ok') return [];
    for (const index of read.indexes) {
      try {
        const config = JSON.parse(this.store.event(index).data.toString('utf8')) as {
          entries?: GroupDefinition[];
        };
        return Array.isArray(config.entries) ? config.entries : [];
      } catch {
        return [];
      }
    }
    return [];
  }

  private async save(): Promise<void> {
    if (this.store.lastRevision(`$$${CONFIG_STREAM}`) < 0) {
      await this.store.append(`$$${CONFIG_STREAM}`, 'any', [
        {
          id: randomBytes(16),
          type: '$metadata',
          isJson: true,
          data: Buffer.from(JSON.stringify({ $maxCount: 2 })),
          metadata: new Uint8Array(0),
        },
      ]);
    }
    const config = {
      version: '2',
      updated: new Date().toISOString(),
      // Who made the change: on an insecure node, always its system account.
      updatedBy: 'system',
      entries: [...this.groups.values()].map((group) => group.definition),
    };
    await this.store.append(CONFIG_STREAM, 'any', [
      {
        id: randomBytes(16),
        type: CONFIG_EVENT_TYPE,
        isJson: true,
        data: Buffer.from(JSON.stringify(config)),
        metadata: new Uint8Array(0),
      },
    ]);
  }
}

function validate(definition: GroupDefinition): string | undefined {
  const { source, settings } = definition;
  if (source.kind === 'stream' && source.stream === '') return 'Bad stream name.';
  if (source.kind === 'stream' && source.stream === '$all') {
    return 'Persistent subscriptions to $all are only supported over gRPC through gRPC clients';
  }
  if (!['RoundRobin', 'DispatchToSingle', 'Pinned', 'PinnedByCorrelation'].includes(settings.strategy)) {
    return `Consumer strategy ${settings.strategy} does not exist.`;
  }
  const start = settings.startFrom;
  if (start.kind === 'revision' && start.revision < -1) {
    return 'Invalid Start From position: event number must be greater than or equal to -1.';
  }
  if (start.kind === 'position' && start.position.prepare > start.position.commit) {
    return 'Invalid Start From position: prepare position must be less than or equal to the commit position.';
  }
  return undefined;
}

function bufferSizeProblem(definition: GroupDefinition): string | undefined {
  const { readBatchSize, historyBufferSize } = definition.settings;
  if (readBatchSize >= historyBufferSize) {
    return `Specified argument was out of the range of valid values. (Parameter 'ReadBatchSize may not be greater than or equal to BufferSize')`;
  }
  return undefined;
}
