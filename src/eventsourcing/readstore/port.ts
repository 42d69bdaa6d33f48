import type { AllPosition } from '../core/events.ts';
import type { ReadDocument } from '../core/projection.ts';

/** A scalar a filter can compare a field with; `null` also matches a missing field. */
export type FieldValue = string | number | boolean | null;

/** Equality on fields (dotted paths reach into nested objects); all must hold. */
export type Filter = Readonly<Record<string, FieldValue>>;

/** Sort keys in order of significance: `[['status', 1], ['openedAt', -1]]`. */
export type Sort = readonly (readonly [field: string, direction: 1 | -1])[];

export type FindQuery = { filter?: Filter; sort?: Sort; limit?: number; skip?: number };

/** A document as the projector sees it: its content (null = deleted) and the position it reflects. */
export type VersionedDocument = { document: ReadDocument | null; position: AllPosition };

/** A position-guarded write: applied only when the stored document is older than `position`. */
export type DocumentWrite =
  | {
      op: 'upsert';
      document: ReadDocument;
      position: AllPosition;
      /**
       * The writer saw no stored document: adapters may try a plain insert first (much cheaper
       * on some servers) and fall back to the guarded write when one appeared meanwhile.
       */
      expectNew?: boolean;
    }
  | { op: 'delete'; id: string; position: AllPosition };

/** `stale` counts writes the guard refused: the stored document was already at or past them. */
export type WriteResult = { applied: number; stale: number };

/** A rebuild in progress: the collection it fills and how far it got. */
export type ShadowSlot = { target: string; version: number; checkpoint: AllPosition | null };

/**
 * Where a projection stands: the physical collection (`target`) that serves its logical
 * `collection`, the projection version that built it, the checkpoint, and a rebuild if any.
 */
export type ProjectionSlot = {
  projection: string;
  collection: string;
  version: number;
  target: string;
  checkpoint: AllPosition | null;
  shadow: ShadowSlot | null;
};

/**
 * `fenced`: the writer's fencing token is lower than one the projection has seen (another
 * replica took its lease); nothing was saved.
 */
export type CheckpointOutcome =
  | { outcome: 'saved' }
  | { outcome: 'superseded' }
  | { outcome: 'fenced'; highest: number };

/**
 * A leader's fencing token for one projection. The store keeps the highest token it has seen
 * per projection and refuses writes that carry a lower one, so a paused former leader cannot
 * write after another replica took over.
 */
export type Fence = { projection: string; token: number };

export type SwapOutcome =
  | { outcome: 'swapped'; previous: string }
  | { outcome: 'conflict'; slot: ProjectionSlot | null };

/** An operator's decision to let a projection pass an event it cannot apply. */
export type SkippedEvent = {
  eventId: string;
  position: AllPosition;
  streamId: string;
  type: string;
  reason: string;
  operator: string;
  at: Date;
};

/**
 * Read models: queries by logical collection name, position-guarded writes by physical target,
 * per-projection slots (checkpoint + active collection) and the atomic swap that ends a rebuild.
 * Transient failures surface as {@link ReadStoreUnavailableError}; other errors propagate.
 */
export type ReadStore = {
  /** The document, or null when absent or deleted. */
  get<Doc extends ReadDocument = ReadDocument>(collection: string, id: string): Promise<Doc | null>;
  /** Documents matching every filter field, sorted (then by id), skipped and limited. */
  find<Doc extends ReadDocument = ReadDocument>(collection: string, query?: FindQuery): Promise<Doc[]>;
  count(collection: string, filter?: Filter): Promise<number>;

  /** Current documents of a target, deleted ones included as `document: null`; absent ids are missing. */
  load(target: string, ids: readonly string[]): Promise<Map<string, VersionedDocument>>;
  /**
   * Applies each write unless the stored document (or deletion marker) is at or after its
   * position; a duplicate-key race counts as stale. Idempotent. One round trip where possible.
   * With `fence`: throws {@link FencedOutError} (writing nothing) when the projection has seen a
   * higher token, and otherwise records the token as the highest.
   */
  write(target: string, writes: readonly DocumentWrite[], fence?: Fence): Promise<WriteResult>;
  /** Makes sure a target exists with these indexes (field lists, ascending). */
  prepareTarget(target: string, indexes: readonly (readonly string[])[]): Promise<void>;

  slot(projection: string): Promise<ProjectionSlot | null>;
  /** Creates the slot with a fresh, empty target unless it exists; returns the stored slot. */
  createSlot(projection: string, collection: string, version: number): Promise<ProjectionSlot>;
  /**
   * Saves the checkpoint of the target (active or shadow); `superseded` when it is neither any
   * more; with `token`, `fenced` when the projection has seen a higher one.
   */
  saveCheckpoint(
    projection: string,
    target: string,
    position: AllPosition,
    token?: number,
  ): Promise<CheckpointOutcome>;
  /** Starts a rebuild into a fresh, empty target (replacing an unfinished one). */
  beginShadow(projection: string, version: number): Promise<ShadowSlot>;
  /**
   * Atomically makes the shadow the served target, with its version and checkpoint. `conflict`
   * when the slot changed since `expected` was read (nothing is changed then).
   */
  swap(projection: string, expected: ProjectionSlot): Promise<SwapOutcome>;
  /** Drops a target nobody serves any more (after readers that cached the old alias moved on). */
  retire(target: string): Promise<void>;

  recordSkip(projection: string, skip: SkippedEvent): Promise<void>;
  skips(projection: string): Promise<SkippedEvent[]>;

  close(): Promise<void>;
};

/** The store could not be reached or timed out: the projector retries with backoff. */
export class ReadStoreUnavailableError extends Error {
  readonly transient = true;
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'ReadStoreUnavailableError';
  }
}

/**
 * A write carried a fencing token lower than the highest the projection has seen: another
 * replica leads it now. Not a failure of the event: the writer stops and follows.
 */
export class FencedOutError extends Error {
  readonly fenced = true;
  readonly projection: string;
  readonly token: number;
  readonly highest: number;
  constructor(projection: string, token: number, highest: number) {
    super(`projection ${projection}: token ${token} is fenced out by ${highest}`);
    this.name = 'FencedOutError';
    this.projection = projection;
    this.token = token;
    this.highest = highest;
  }
}

/** Physical name of a projection's n-th generation. */
export function targetName(collection: string, generation: number): string {
  return `${collection}__g${generation}`;
}

/** The generation encoded in a target name (0 when the name has none). */
export function generationOf(target: string): number {
  const match = /__g(\d+)$/.exec(target);
  return match ? Number(match[1]) : 0;
}
