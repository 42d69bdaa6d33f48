import { createHash } from 'node:crypto';
import {
  createRetentionEventRegistry,
  type ErasureStatus,
  type ErasureSummary,
  erasureStatus,
  RETENTION_STREAM_PREFIX,
  type RetentionEvent,
  type RetentionRule,
  type RetentionState,
  retentionDecider,
  retentionStreamName,
  subjectErasureStatus,
} from '../cases/retention.ts';
import { type CommandResult, createCommandHandler } from '../eventsourcing/command/handler.ts';
import { DomainError } from '../eventsourcing/core/errors.ts';
import type { AllPosition } from '../eventsourcing/core/events.ts';
import { maxPosition } from '../eventsourcing/core/positions.ts';
import type { EventStore } from '../eventsourcing/eventstore/port.ts';
import type { KeyStore } from '../eventsourcing/protection/key-store.ts';
import { PERSONAL_FIELD } from '../eventsourcing/protection/protected-event-store.ts';
import type { ErasureIndex, ListedErasure, ListedStatus } from './erasure-index.ts';
import { deriveId } from './name-based-ids.ts';

/** How long the due job waits for the index to show this process's own last write. */
const INDEX_WAIT_MS = 5_000;

/** What an erasure proves, without a word of personal data: ids, rule, dates, keys, checks, hash. */
export type ErasureCertificate = {
  certificate_version: 1;
  case_id: string;
  /** Set when one subject of the case was erased, not the whole case. */
  subject_id?: string;
  /** Why that subject was erased (see SUBJECT_ERASURE_REASONS). */
  reason_code?: string;
  request_id: string;
  requested_at: string;
  rule: string | null;
  relationship_ended_at: string | null;
  retain_until: string | null;
  completed_at: string;
  method: 'crypto-shred';
  destroyed_key_ids: string[];
  checks: { store: string; result: string; detail: string }[];
  /** The event that recorded the completion, and the SHA-256 of its stored type and data. */
  completing_event: { stream: string; id: string; revision: string; sha256: string };
};

export type ErasureView = ErasureStatus & { certificate?: ErasureCertificate };

/**
 * The keys a single subject's erasure destroys in its case: the subject's own, and the keys of
 * the case's notifications and raw intake messages, which may quote any person of the case.
 */
const reachesSubject = (subject: string, keySubject: string) =>
  keySubject === subject || keySubject.startsWith('notification-') || keySubject.startsWith('intake-');

/** The ids of the keys among `keys` that are destroyed. */
const destroyedOf = (keys: readonly { keyId: string; status: string }[]) =>
  keys.filter((k) => k.status === 'destroyed').map((k) => k.keyId);

/** The retention dates of a case: the rule's and the one in force after extensions. */
export type RetentionDates = { rule: string; rule_retain_until: string | null; retain_until: string | null };

export type ErasureServiceDeps = {
  /** The protected event store: retention events carry no personal data and pass through it. */
  eventStore: EventStore;
  /** The store below the protection, to check what is actually stored. */
  storedEvents: EventStore;
  keyStore: KeyStore;
  /** The read model of retention state: what the due job and the metrics read. */
  index: ErasureIndex;
  clock: () => Date;
  retention: RetentionRule;
  /** How long refused intake messages (no case) are kept from their receipt; none: for ever. */
  rejectedIntakeRetention?: { rule: string; days: number };
  /** Called once a case's keys are destroyed: caches holding its plain data must forget it. */
  onErased?: (caseId: string) => void;
  /** Checks the read models of the case against its destroyed keys; `not_checked` without it. */
  checkReadStore?: (
    caseId: string,
    destroyedKeyIds: readonly string[],
    scope?: 'case' | 'subject',
  ) => Promise<ErasureCheck>;
};

export type ErasureCheck = { store: string; result: string; detail: string };

/**
 * Replays the erasure ledger: destroys again every key that a completed erasure (of a case
 * or of one subject) recorded as destroyed. The retention streams of the event store are the
 * ledger, so after a key store is restored from a backup, keys destroyed since the backup was
 * taken are shredded again. Idempotent; reads every `retention-` stream once.
 */
export async function replayErasureLedger(
  eventStore: EventStore,
  keyStore: KeyStore,
): Promise<{
  erasures: number;
  keys: number;
  destroyedAgain: string[];
  tombstonesAdded: string[];
}> {
  const keys = new Map<string, string>();
  let erasures = 0;
  const subscription = eventStore.subscribeToAll({
    from: 'start',
    filter: { streamPrefixes: [RETENTION_STREAM_PREFIX] },
  });
  try {
    for await (const message of subscription) {
      if (message.kind === 'caughtUp') break;
      if (message.kind !== 'event') continue;
      const { type, data } = message.event;
      if (type !== 'ErasureCompleted' && type !== 'SubjectErasureCompleted') continue;
      erasures++;
      const completed = data as { case_id: string; destroyed_key_ids: string[] };
      for (const keyId of completed.destroyed_key_ids) keys.set(keyId, completed.case_id);
    }
  } finally {
    await subscription.close();
  }
  const destroyedAgain: string[] = [];
  const tombstonesAdded: string[] = [];
  for (const [keyId, scope] of keys) {
    const outcome = await keyStore.entomb(keyId, scope);
    if (outcome === 'destroyed') destroyedAgain.push(keyId);
    if (outcome === 'tombstone_added') tombstonesAdded.push(keyId);
  }
  return { erasures, keys: keys.size, destroyedAgain, tombstonesAdded };
}

/**
 * Retention and erasure of cases: relationship end, legal holds, erasure requests (accepted at
 * once, run when due), and the run itself: start, destroy every key of the case, check, complete.
 * Each step is idempotent, so a run cut short by a crash is finished by the next one.
 */
export function createErasureService(deps: ErasureServiceDeps) {
  const { eventStore, keyStore, index, clock } = deps;
  const commands = createCommandHandler({
    eventStore,
    decider: retentionDecider,
    streamName: retentionStreamName,
    events: createRetentionEventRegistry(),
    cache: false,
  });
  const now = () => clock().toISOString();
  // The last retention event this service wrote: the due job waits for the index to reach it.
  let written: AllPosition | null = null;
  const handler = {
    async handle(...args: Parameters<typeof commands.handle>) {
      const result: CommandResult<RetentionState, RetentionEvent> = await commands.handle(...args);
      if ('position' in result) written = maxPosition(written, result.position);
      return result;
    },
  };
  /** Lets the index catch up with this process's own writes, for at most a few seconds. */
  async function indexCaughtUp(): Promise<void> {
    if (written !== null) await index.waitFor(written, INDEX_WAIT_MS);
  }

  async function stateOf(caseId: string): Promise<RetentionState> {
    const registry = createRetentionEventRegistry();
    const events = (await eventStore.readStream(retentionStreamName(caseId))) ?? [];
    return events.reduce(
      (state, stored) => retentionDecider.evolve(state, registry.decode(stored.type, stored.data, 1)),
      retentionDecider.initialState(),
    );
  }

  /** Every sealed event of the case stream must name a key the key store reports destroyed. */
  async function checkEventStore(
    caseId: string,
    only?: ReadonlySet<string>,
  ): Promise<{ store: string; result: string; detail: string }> {
    // A rejected intake's scope is its own stream's name; a case's events are in `case-<id>`.
    const stream = caseId.startsWith('intake-') ? caseId : `case-${caseId}`;
    const stored = (await deps.storedEvents.readStream(stream)) ?? [];
    let sealed = 0;
    let readable = 0;
    for (const event of stored) {
      const envelope = (event.data as Record<string, unknown> | null)?.[PERSONAL_FIELD] as
        | { kid?: unknown }
        | undefined;
      if (envelope === undefined) continue;
      if (only !== undefined && !(typeof envelope.kid === 'string' && only.has(envelope.kid))) continue;
      sealed++;
      if (typeof envelope.kid !== 'string' || (await keyStore.find(envelope.kid)).status === 'active')
        readable++;
    }
    return {
      store: 'event store',
      result: readable === 0 ? 'passed' : 'failed',
      detail: `${sealed} sealed events in ${stream}, ${readable} still readable`,
    };
  }

  async function certificateOf(
    caseId: string,
    state: RetentionState,
  ): Promise<ErasureCertificate | undefined> {
    const completed = state.request?.completed;
    if (!state.request || !completed) return undefined;
    const stream = retentionStreamName(caseId);
    const event = ((await eventStore.readStream(stream)) ?? []).find((e) => e.type === 'ErasureCompleted');
    if (!event) return undefined;
    const sha256 = createHash('sha256')
      .update(JSON.stringify({ type: event.type, data: event.data }))
      .digest('hex');
    return {
      certificate_version: 1,
      case_id: caseId,
      request_id: state.request.request_id,
      requested_at: state.request.requested_at,
      rule: state.relationship?.rule ?? null,
      relationship_ended_at: state.relationship?.ended_at ?? null,
      retain_until: state.relationship?.retain_until ?? null,
      completed_at: completed.completed_at,
      method: 'crypto-shred',
      destroyed_key_ids: completed.destroyed_key_ids,
      checks: completed.checks,
      completing_event: { stream, id: event.id, revision: String(event.revision), sha256 },
    };
  }

  const context = (key: string, actor: string) => ({ idempotencyKey: key, actor });

  /** The certificate of one subject's erasure: the case certificate's shape, with the subject. */
  async function subjectCertificateOf(
    caseId: string,
    subjectId: string,
    state: RetentionState,
  ): Promise<ErasureCertificate | undefined> {
    const request = state.subjects[subjectId];
    const completed = request?.completed;
    if (!request || !completed) return undefined;
    const stream = retentionStreamName(caseId);
    const event = ((await eventStore.readStream(stream)) ?? []).find(
      (e) =>
        e.type === 'SubjectErasureCompleted' && (e.data as { subject_id?: unknown }).subject_id === subjectId,
    );
    if (!event) return undefined;
    const sha256 = createHash('sha256')
      .update(JSON.stringify({ type: event.type, data: event.data }))
      .digest('hex');
    return {
      certificate_version: 1,
      case_id: caseId,
      subject_id: subjectId,
      reason_code: request.reason_code,
      request_id: request.request_id,
      requested_at: request.requested_at,
      rule: request.retention_applies ? (state.relationship?.rule ?? null) : null,
      relationship_ended_at: state.relationship?.ended_at ?? null,
      retain_until: request.retention_applies ? (state.relationship?.retain_until ?? null) : null,
      completed_at: completed.completed_at,
      method: 'crypto-shred',
      destroyed_key_ids: completed.destroyed_key_ids,
      checks: completed.checks,
      completing_event: { stream, id: event.id, revision: String(event.revision), sha256 },
    };
  }

  async function subjectStatus(caseId: string, subjectId: string): Promise<ErasureView> {
    const state = await stateOf(caseId);
    const current = subjectErasureStatus(state, subjectId, now());
    const certificate =
      current.status === 'completed' ? await subjectCertificateOf(caseId, subjectId, state) : undefined;
    return certificate ? { ...current, certificate } : current;
  }

  /** Start, destroy the subject's keys (and the case's notification and intake keys), check, complete. */
  async function executeSubjectIfDue(caseId: string, subjectId: string, actor: string): Promise<ErasureView> {
    const before = subjectErasureStatus(await stateOf(caseId), subjectId, now());
    if (before.status !== 'due' && before.status !== 'executing') return before;
    const reached = async () =>
      (await keyStore.listByScope(caseId)).filter((k) => reachesSubject(subjectId, k.subject));
    const keyIds = (await reached()).map((k) => k.keyId);
    await handler.handle(
      caseId,
      { type: 'StartSubjectErasure', data: { subject_id: subjectId, at: now(), key_ids: keyIds } },
      context(`subject-erasure-start:${subjectId}`, actor),
    );
    const started = (await stateOf(caseId)).subjects[subjectId]?.key_ids ?? keyIds;
    for (const keyId of started) await keyStore.destroy(keyId);
    deps.onErased?.(caseId);
    const keys = (await reached()).filter((k) => started.includes(k.keyId));
    const active = keys.filter((k) => k.status === 'active').length;
    const others = (await keyStore.listByScope(caseId)).filter((k) => !started.includes(k.keyId));
    const checks = [
      {
        store: 'key store',
        result: active === 0 ? 'passed' : 'failed',
        detail: `${keys.length - active} keys destroyed, ${active} active; ${others.length} other keys of the case untouched`,
      },
      await checkEventStore(caseId, new Set(started)),
      (await deps.checkReadStore?.(caseId, destroyedOf(keys), 'subject')) ?? {
        store: 'read store',
        result: 'not_checked',
        detail: 'no read store was given to check',
      },
    ];
    const destroyed = destroyedOf(keys);
    await handler.handle(
      caseId,
      {
        type: 'CompleteSubjectErasure',
        data: { subject_id: subjectId, at: now(), destroyed_key_ids: destroyed, checks },
      },
      context(`subject-erasure-complete:${subjectId}`, actor),
    );
    return subjectStatus(caseId, subjectId);
  }

  async function status(caseId: string): Promise<ErasureView> {
    const state = await stateOf(caseId);
    const current = erasureStatus(state, now());
    const certificate = current.status === 'completed' ? await certificateOf(caseId, state) : undefined;
    return certificate ? { ...current, certificate } : current;
  }

  const service = {
    async endRelationship(caseId: string, endedAt: string, actor: string) {
      await handler.handle(
        caseId,
        {
          type: 'EndRelationship',
          data: { case_id: caseId, ended_at: endedAt, retention: deps.retention, at: now(), actor },
        },
        context(`relationship-end:${endedAt}`, actor),
      );
      return status(caseId);
    },
    /** Places a hold; the same `requestKey` (e.g. an Idempotency-Key) places it once. */
    async placeHold(caseId: string, reasonCode: string, actor: string, requestKey: string) {
      const holdId = deriveId('legal-hold', caseId, requestKey);
      await handler.handle(
        caseId,
        {
          type: 'PlaceLegalHold',
          data: { case_id: caseId, hold_id: holdId, reason_code: reasonCode, at: now(), actor },
        },
        context(`hold:${holdId}`, actor),
      );
      return holdId;
    },
    /**
     * Moves the retention date (never below the rule's); the same `requestKey` applies it once.
     * Answers the dates in force.
     */
    async extendRetention(
      caseId: string,
      retainUntil: string,
      reasonCode: string,
      actor: string,
      requestKey: string,
    ): Promise<RetentionDates> {
      const result = await handler.handle(
        caseId,
        {
          type: 'ExtendRetention',
          data: { case_id: caseId, retain_until: retainUntil, reason_code: reasonCode, at: now(), actor },
        },
        context(`retention-extension:${requestKey}`, actor),
      );
      const relationship = 'state' in result ? result.state.relationship : null;
      return {
        rule: relationship?.rule ?? deps.retention.rule,
        rule_retain_until: relationship?.rule_retain_until ?? null,
        retain_until: relationship?.retain_until ?? null,
      };
    },
    async releaseHold(caseId: string, holdId: string, reasonCode: string, actor: string) {
      await handler.handle(
        caseId,
        {
          type: 'ReleaseLegalHold',
          data: { case_id: caseId, hold_id: holdId, reason_code: reasonCode, at: now(), actor },
        },
        context(`release:${holdId}`, actor),
      );
    },
    async requestErasure(caseId: string, actor: string, channel: string): Promise<ErasureView> {
      const requestId = deriveId('erasure-request', caseId);
      await handler.handle(
        caseId,
        {
          type: 'RequestErasure',
          data: { case_id: caseId, request_id: requestId, channel, at: now(), actor },
        },
        context(`erasure-request:${caseId}`, actor),
      );
      return status(caseId);
    },
    status,
    /**
     * Requests the erasure of one data subject of the case (a person or a beneficial owner, by
     * id): accepted when the case's key store knows the subject, and run at once when its reason
     * lets it run before retention ends and no hold remains; otherwise by the due job.
     */
    async requestSubjectErasure(
      caseId: string,
      subjectId: string,
      reasonCode: string,
      actor: string,
    ): Promise<ErasureView> {
      const known = (await keyStore.listByScope(caseId)).some(
        (k) => k.subject === subjectId && !reachesSubject('', k.subject),
      );
      if (!known) {
        throw new DomainError('subject.not_found', `case ${caseId} records no personal data of ${subjectId}`);
      }
      const requestId = deriveId('subject-erasure-request', caseId, subjectId);
      await handler.handle(
        caseId,
        {
          type: 'RequestSubjectErasure',
          data: {
            case_id: caseId,
            subject_id: subjectId,
            request_id: requestId,
            reason_code: reasonCode,
            at: now(),
            actor,
          },
        },
        context(`subject-erasure-request:${subjectId}`, actor),
      );
      return executeSubjectIfDue(caseId, subjectId, actor);
    },
    subjectStatus,
    /**
     * Runs the case's erasure if it is due (or was cut short): start, destroy every key of the
     * case, check the key store and the event store, complete. Before it is due the decider
     * refuses with `erasure.not_due` and nothing is destroyed.
     */
    async executeIfDue(caseId: string, actor = 'erasure-job'): Promise<ErasureView> {
      const before = erasureStatus(await stateOf(caseId), now());
      if (before.status !== 'due' && before.status !== 'executing') return before;
      const keyIds = (await keyStore.listByScope(caseId)).map((k) => k.keyId);
      await handler.handle(
        caseId,
        { type: 'StartErasure', data: { at: now(), key_ids: keyIds } },
        context('erasure-start', actor),
      );
      // The keys recorded at the start are the ones to destroy (a resumed run finds them there).
      const started = (await stateOf(caseId)).request?.key_ids ?? keyIds;
      for (const keyId of started) await keyStore.destroy(keyId);
      deps.onErased?.(caseId);
      const keys = await keyStore.listByScope(caseId);
      const active = keys.filter((k) => k.status === 'active').length;
      const destroyed = keys.filter((k) => k.status === 'destroyed').map((k) => k.keyId);
      const checks = [
        {
          store: 'key store',
          result: active === 0 ? 'passed' : 'failed',
          detail: `${keys.length - active} keys destroyed, ${active} active`,
        },
        await checkEventStore(caseId),
        (await deps.checkReadStore?.(caseId, destroyed)) ?? {
          store: 'read store',
          result: 'not_checked',
          detail: 'no read store was given to check',
        },
      ];
      await handler.handle(
        caseId,
        { type: 'CompleteErasure', data: { at: now(), destroyed_key_ids: destroyed, checks } },
        context('erasure-complete', actor),
      );
      return status(caseId);
    },
    replayLedger: () => replayErasureLedger(eventStore, keyStore),
    /** Every erasure request by status, and those due for longer than `overdueAfterMs`, from the index. */
    async summary(overdueAfterMs: number): Promise<ErasureSummary> {
      await indexCaughtUp();
      return index.summary(now(), overdueAfterMs);
    },
    /** Erasure requests where they stand now (from the index), of one status when given. */
    async list(status: ListedStatus | undefined, limit: number): Promise<ListedErasure[]> {
      await indexCaughtUp();
      return index.list(now(), status, limit);
    },
    /**
     * The due job: runs every erasure the index lists as due or cut short, one case at a time,
     * each decided again from its retention stream (a lagging index never runs one early).
     * Returns the cases it completed.
     */
    async runDue(): Promise<string[]> {
      await indexCaughtUp();
      const completed: string[] = [];
      const rejected = deps.rejectedIntakeRetention;
      if (rejected !== undefined) {
        // A refused message's retention starts at its receipt: recorded, requested, run when due.
        const cutoff = new Date(clock().getTime() - rejected.days * 86_400_000).toISOString();
        for (const { scope, receivedAt } of await index.rejectedIntakesDue(cutoff)) {
          const retention = { rule: rejected.rule, years: 0, days: rejected.days };
          await handler.handle(
            scope,
            {
              type: 'EndRelationship',
              data: { case_id: scope, ended_at: receivedAt, retention, at: now(), actor: 'erasure-job' },
            },
            context(`relationship-end:${receivedAt}`, 'erasure-job'),
          );
          await handler.handle(
            scope,
            {
              type: 'RequestErasure',
              data: {
                case_id: scope,
                request_id: deriveId('erasure-request', scope),
                channel: 'retention-rule',
                at: now(),
                actor: 'erasure-job',
              },
            },
            context(`erasure-request:${scope}`, 'erasure-job'),
          );
          if ((await service.executeIfDue(scope)).status === 'completed') completed.push(scope);
        }
      }
      for (const caseId of await index.due(now())) {
        if (completed.includes(caseId)) continue;
        if ((await service.executeIfDue(caseId)).status === 'completed') completed.push(caseId);
        const subjects = Object.entries((await stateOf(caseId)).subjects);
        for (const [subjectId, request] of subjects) {
          if (request.status === 'completed') continue;
          const done = await executeSubjectIfDue(caseId, subjectId, 'erasure-job');
          if (done.status === 'completed') completed.push(`${caseId}/subjects/${subjectId}`);
        }
      }
      return completed;
    },
  };
  return service;
}

export type ErasureService = ReturnType<typeof createErasureService>;
