import type { FilterSpec } from '../filter.ts';
import type { AllPosition } from '../positions.ts';

export type ConsumerStrategy = 'RoundRobin' | 'DispatchToSingle' | 'Pinned' | 'PinnedByCorrelation';
export const CONSUMER_STRATEGIES: readonly string[] = [
  'RoundRobin',
  'DispatchToSingle',
  'Pinned',
  'PinnedByCorrelation',
];

/** What a group reads: one stream, or `$all` (optionally filtered). */
export type GroupSource =
  | { kind: 'stream'; stream: string }
  | { kind: 'all'; filter: FilterSpec | undefined };

/** Where a group without a checkpoint starts: inclusive, except 'end' = live from load time. */
export type StartFrom =
  | { kind: 'start' }
  | { kind: 'end' }
  | { kind: 'revision'; revision: number }
  | { kind: 'position'; position: AllPosition };

export type GroupSettings = {
  resolveLinks: boolean;
  startFrom: StartFrom;
  extraStatistics: boolean;
  messageTimeoutMs: number;
  maxRetryCount: number;
  liveBufferSize: number;
  historyBufferSize: number;
  readBatchSize: number;
  checkpointAfterMs: number;
  minCheckpointCount: number;
  maxCheckpointCount: number;
  /** 0 = unbounded. */
  maxSubscriberCount: number;
  strategy: ConsumerStrategy;
};

export type GroupDefinition = { source: GroupSource; group: string; settings: GroupSettings };

/** The name the server keys a group by, and sends as the subscription id. */
export function groupKey(source: GroupSource, group: string): string {
  return `${sourceName(source)}::${group}`;
}

export function sourceName(source: GroupSource): string {
  return source.kind === 'all' ? '$all' : source.stream;
}

/** `StartFrom` as GetInfo reports it: "0"/"-1"/"N", or "C:x/P:y" for `$all`. */
export function startFromText(source: GroupSource, startFrom: StartFrom): string {
  if (source.kind === 'all') {
    switch (startFrom.kind) {
      case 'start':
        return 'C:0/P:0';
      case 'end':
        return 'C:-1/P:-1';
      case 'position':
        return `C:${startFrom.position.commit}/P:${startFrom.position.prepare}`;
      case 'revision':
        return `C:${startFrom.revision}/P:${startFrom.revision}`;
    }
  }
  switch (startFrom.kind) {
    case 'start':
      return '0';
    case 'end':
      return '-1';
    case 'revision':
      return String(startFrom.revision);
    case 'position':
      return String(startFrom.position.commit);
  }
}
