import {
  type ErasureIndexDocument,
  erasureIndexProjection,
  type SubjectErasureIndexDocument,
} from '../../projections/erasure-index.ts';
import {
  type ErasureStatus,
  type ErasureSummary,
  erasureStatus,
  subjectErasureStatus,
} from '../cases/retention.ts';
import type { AllPosition } from '../eventsourcing/core/events.ts';
import type { ReadStore } from '../eventsourcing/readstore/port.ts';

/**
 * Queries of the erasure index (`projections/erasure-index.ts`): what the due job should run and
 * what the metrics count, reading the requests that are due and counting the rest, however long
 * the history. The index follows the log, so it may lag; the due job decides from the retention
 * stream itself, so a lagging index delays an erasure by a tick and never runs one early.
 */
export type ErasureIndex = {
  /** Resolves true once the index reflects `position` (read-your-writes); false after the timeout. */
  waitFor(position: AllPosition, timeoutMs: number): Promise<boolean>;
  /** Scopes whose erasure was cut short, then those due at `now` (retention over, no hold), oldest first. */
  due(now: string): Promise<string[]>;
  /** Rejected intakes received at or before `cutoff` whose erasure is not requested yet, oldest first. */
  rejectedIntakesDue(cutoff: string): Promise<{ scope: string; receivedAt: string }[]>;
  /** Requests by status at `now`, and those due for longer than `overdueAfterMs`. */
  summary(now: string, overdueAfterMs: number): Promise<ErasureSummary>;
  /** Erasure requests where they stand at `now`, of one status when given, at most `limit`. */
  list(now: string, status: ListedStatus | undefined, limit: number): Promise<ListedErasure[]>;
};

export type ListedStatus = Exclude<ErasureStatus['status'], 'none'>;
export type ListedErasure = Exclude<ErasureStatus, { status: 'none' }> & {
  case_id: string;
  /** The one data subject erased; null when the whole case is. */
  subject_id: string | null;
  requested_at: string;
};

/** Where each listed status is found in the index: due and deferred are both still `requested`. */
const stored: Record<ListedStatus, ErasureIndexDocument['request_status']> = {
  deferred: 'requested',
  due: 'requested',
  executing: 'executing',
  completed: 'completed',
};

const PAGE = 200;
const COLLECTION = erasureIndexProjection.collection;

/** The index over a read store; `waitFor` is the projector's (or the observer's) read-your-writes wait. */
export function createErasureIndex(options: {
  readStore: ReadStore;
  waitFor: (position: AllPosition, timeoutMs: number) => Promise<boolean>;
}): ErasureIndex {
  const { readStore } = options;
  const isDue = (document: ErasureIndexDocument, now: string) =>
    document.due_at !== null && Date.parse(document.due_at) <= Date.parse(now);

  /** Requested, relationship ended and no hold, retention date at or before `now`: by due date, page by page. */
  async function dueRequests(now: string): Promise<ErasureIndexDocument[]> {
    const due: ErasureIndexDocument[] = [];
    for (let skip = 0; ; skip += PAGE) {
      const page = await readStore.find<ErasureIndexDocument>(COLLECTION, {
        filter: { request_status: 'requested', relationship_ended: true, held: false },
        sort: [['due_at', 1]],
        skip,
        limit: PAGE,
      });
      for (const document of page) {
        // Sorted by due date: the first one not due ends the scan.
        if (!isDue(document, now)) return due;
        due.push(document);
      }
      if (page.length < PAGE) return due;
    }
  }

  async function all(filter: Record<string, string | boolean>): Promise<ErasureIndexDocument[]> {
    const found: ErasureIndexDocument[] = [];
    for (let skip = 0; ; skip += PAGE) {
      const page = await readStore.find<ErasureIndexDocument>(COLLECTION, { filter, skip, limit: PAGE });
      found.push(...page);
      if (page.length < PAGE) return found;
    }
  }

  /** Erasures of single subjects not completed yet, where they stand at `now`, from their cases' state. */
  async function openSubjectErasures(now: string): Promise<ListedErasure[]> {
    const open: ListedErasure[] = [];
    for (const document of await all({ subjects_open: true })) {
      for (const [subjectId, request] of Object.entries(document.state.subjects)) {
        const current = subjectErasureStatus(document.state, subjectId, now);
        if (current.status === 'none' || current.status === 'completed') continue;
        open.push({
          ...current,
          case_id: document.id,
          subject_id: subjectId,
          requested_at: request.requested_at,
        });
      }
    }
    return open;
  }

  /** Completed erasures of single subjects, from their own documents, page by page up to `limit`. */
  async function completedSubjectErasures(limit: number): Promise<ListedErasure[]> {
    const listed: ListedErasure[] = [];
    for (let skip = 0; listed.length < limit; skip += PAGE) {
      const page = await readStore.find<SubjectErasureIndexDocument>(COLLECTION, {
        filter: { subject_status: 'completed' },
        skip,
        limit: PAGE,
      });
      for (const document of page.slice(0, limit - listed.length)) {
        listed.push({
          status: 'completed',
          request_id: document.request_id,
          completed_at: document.completed_at!,
          case_id: document.case_id,
          subject_id: document.subject_id,
          requested_at: document.requested_at,
        });
      }
      if (page.length < PAGE) break;
    }
    return listed;
  }

  const overdueAt = (now: string, overdueAfterMs: number) => (dueAt: string | null) =>
    dueAt !== null && Date.parse(now) - Date.parse(dueAt) > overdueAfterMs;

  return {
    waitFor: options.waitFor,
    async due(now) {
      const executing = await all({ request_status: 'executing' });
      const due = await dueRequests(now);
      // Erasures of single subjects are few; the service decides which of them are due.
      const subjects = await all({ subjects_open: true });
      return [...new Set([...executing, ...due, ...subjects].map((document) => document.id))];
    },
    async rejectedIntakesDue(cutoff) {
      const due: { scope: string; receivedAt: string }[] = [];
      for (let skip = 0; ; skip += PAGE) {
        const page = await readStore.find<ErasureIndexDocument>(COLLECTION, {
          filter: { rejected_intake_pending: true },
          sort: [['rejected_intake_at', 1]],
          skip,
          limit: PAGE,
        });
        for (const document of page) {
          if (Date.parse(document.rejected_intake_at!) > Date.parse(cutoff)) return due;
          due.push({ scope: document.id, receivedAt: document.rejected_intake_at! });
        }
        if (page.length < PAGE) return due;
      }
    },
    async summary(now, overdueAfterMs) {
      const [requested, executing, completed, due, subjectsCompleted, subjectsOpen] = await Promise.all([
        readStore.count(COLLECTION, { request_status: 'requested' }),
        readStore.count(COLLECTION, { request_status: 'executing' }),
        readStore.count(COLLECTION, { request_status: 'completed' }),
        dueRequests(now),
        readStore.count(COLLECTION, { subject_status: 'completed' }),
        openSubjectErasures(now),
      ]);
      const overdue = overdueAt(now, overdueAfterMs);
      const subjects = (status: ListedStatus) => subjectsOpen.filter((s) => s.status === status).length;
      return {
        byStatus: {
          none: 0,
          deferred: requested - due.length + subjects('deferred'),
          due: due.length + subjects('due'),
          executing: executing + subjects('executing'),
          completed: completed + subjectsCompleted,
        },
        overdue:
          due.filter((d) => overdue(d.due_at)).length +
          subjectsOpen.filter((s) => s.status === 'due' && overdue(s.due_at)).length,
      };
    },
    async list(now, status, limit) {
      const listed: ListedErasure[] = [];
      const requestStatuses =
        status === undefined ? (['requested', 'executing', 'completed'] as const) : [stored[status]];
      let subjectsOpen: ListedErasure[] | undefined;
      for (const requestStatus of requestStatuses) {
        // Whole cases first, then the single subjects of the same stored status.
        for (let skip = 0; listed.length < limit; skip += PAGE) {
          const page = await readStore.find<ErasureIndexDocument>(COLLECTION, {
            filter: { request_status: requestStatus },
            skip,
            limit: PAGE,
          });
          for (const document of page) {
            const current = erasureStatus(document.state, now);
            if (current.status === 'none' || (status !== undefined && current.status !== status)) continue;
            listed.push({
              ...current,
              case_id: document.id,
              subject_id: null,
              requested_at: document.state.request!.requested_at,
            });
            if (listed.length === limit) break;
          }
          if (page.length < PAGE) break;
        }
        if (listed.length >= limit) break;
        if (requestStatus === 'completed') {
          listed.push(...(await completedSubjectErasures(limit - listed.length)));
          continue;
        }
        subjectsOpen ??= await openSubjectErasures(now);
        const storedAs = (s: ListedErasure) => (s.status === 'executing' ? 'executing' : 'requested');
        const subjects = subjectsOpen.filter(
          (s) => storedAs(s) === requestStatus && (status === undefined || s.status === status),
        );
        listed.push(...subjects.slice(0, limit - listed.length));
      }
      return listed;
    },
  };
}
