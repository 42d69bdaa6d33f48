import { DOCUMENT_STATUSES, type DocumentStatus } from '../src/cases/documents.ts';
import {
  type BeneficialOwnerAdded,
  CASE_STATUSES,
  type CaseAssigned,
  type CaseDecisionRecorded,
  type CaseOpened,
  type CaseStatus,
  type CaseStatusChanged,
  type Decision,
  type DocumentRequired,
  type DocumentStatusChanged,
  type IntakeWarning,
  type PersonAdded,
  type RiskFactor,
  type RiskOverridden,
  type RiskRated,
  type RiskRating,
} from '../src/cases/events.ts';
import type { TraitementType } from '../src/cases/intake.ts';
import { AWAITING_REVIEW_STATUSES } from '../src/cases/review.ts';
import { defineProjection } from '../src/eventsourcing/core/projection.ts';

/** The `cases` collection: the older service's case document, plus counts and the idempotency key. */
export type CaseDocument = {
  id: string;
  client_id: string;
  /** The intake's schema version ("1.0"), as the older service stored it. */
  version: string;
  /** The case type. */
  type: string;
  traitement_type: TraitementType;
  company_id: string | null;
  status: CaseStatus;
  idempotency_key: string;
  persons_count: number;
  beneficial_owners_count: number;
  documents_total: number;
  /** Every status is present, zero included, so clients need no defaults. */
  document_counts: Record<DocumentStatus, number>;
  intake_warnings: IntakeWarning[];
  /** The reviewer (API key name), kept until someone else is assigned. */
  assignee: string | null;
  risk: CaseRisk;
  /** APPROVE decisions of the current review (reset when a review starts). */
  approvals: { by: string; at: string }[];
  last_decision: {
    decision: Decision;
    reason_codes: string[];
    comment: string | null;
    by: string;
    at: string;
  } | null;
  /** When the case entered its current status. */
  status_since: string;
  /** Seconds spent in each status before the current one (every status present); add now − status_since for the current one. */
  time_in_status: Record<CaseStatus, number>;
  /** PENDING_REVIEW or IN_REVIEW: on the reviewers' queue. */
  in_review_queue: boolean;
  /** When the case joined the queue (kept while assigned), null off the queue: the queue's order. */
  review_queue_since: string | null;
  created_at: string;
  updated_at: string;
};

export type CaseRisk = {
  /** The last RiskRated; null until the case is rated (cases from before ratings existed). */
  computed: RiskRating | null;
  score: number | null;
  factors: RiskFactor[];
  rules_version: string | null;
  rated_at: string | null;
  override: {
    rating: RiskRating;
    computed_rating: RiskRating | null;
    reason: string;
    by: string;
    at: string;
  } | null;
  /** The override when there is one, else the computed rating. */
  effective: RiskRating | null;
};

type Handled =
  | CaseOpened
  | PersonAdded
  | BeneficialOwnerAdded
  | DocumentRequired
  | DocumentStatusChanged
  | CaseStatusChanged
  | CaseAssigned
  | CaseDecisionRecorded
  | RiskRated
  | RiskOverridden;

const noTimeInStatus = (): Record<CaseStatus, number> =>
  Object.fromEntries(CASE_STATUSES.map((s) => [s, 0])) as Record<CaseStatus, number>;

const inQueue = (status: CaseStatus): boolean => AWAITING_REVIEW_STATUSES.includes(status);

/** Seconds between two ISO instants recorded on events (never the clock), at least 0. */
const secondsBetween = (from: string, to: string): number =>
  Math.max(0, (Date.parse(to) - Date.parse(from)) / 1000);

const whoOf = (actor: { type: string; id: string | null }): string => actor.id ?? actor.type;

const noDocuments = (): Record<DocumentStatus, number> =>
  Object.fromEntries(DOCUMENT_STATUSES.map((s) => [s, 0])) as Record<DocumentStatus, number>;

const touch = (current: CaseDocument, at: string, change: Partial<CaseDocument>): CaseDocument => ({
  ...current,
  ...change,
  updated_at: at,
});

export const casesProjection = defineProjection<Handled, CaseDocument>({
  name: 'cases',
  version: 2,
  collection: 'cases',
  id: (event) => event.data.case_id,
  on: {
    CaseOpened: {
      create: ({ data }) => ({
        id: data.case_id,
        client_id: data.client_id,
        version: data.case_version,
        type: data.case_type,
        traitement_type: data.traitement_type,
        company_id: data.company_id,
        status: 'OPEN',
        idempotency_key: data.idempotency_key,
        persons_count: 0,
        beneficial_owners_count: 0,
        documents_total: 0,
        document_counts: noDocuments(),
        intake_warnings: data.intake_warnings,
        assignee: null,
        risk: {
          computed: null,
          score: null,
          factors: [],
          rules_version: null,
          rated_at: null,
          override: null,
          effective: null,
        },
        approvals: [],
        last_decision: null,
        status_since: data.opened_at,
        time_in_status: noTimeInStatus(),
        in_review_queue: false,
        review_queue_since: null,
        created_at: data.opened_at,
        updated_at: data.opened_at,
      }),
    },
    PersonAdded: {
      update: (current, { data }) =>
        touch(current, data.added_at, { persons_count: current.persons_count + 1 }),
    },
    BeneficialOwnerAdded: {
      update: (current, { data }) =>
        touch(current, data.added_at, { beneficial_owners_count: current.beneficial_owners_count + 1 }),
    },
    DocumentRequired: {
      update: (current, { data }) => {
        const counts = { ...current.document_counts };
        counts[data.status] += 1;
        return touch(current, data.required_at, {
          documents_total: current.documents_total + 1,
          document_counts: counts,
        });
      },
    },
    DocumentStatusChanged: {
      update: (current, { data }) => {
        const counts = { ...current.document_counts };
        counts[data.old_status] -= 1;
        counts[data.new_status] += 1;
        return touch(current, data.changed_at, { document_counts: counts });
      },
    },
    CaseStatusChanged: {
      update: (current, { data }) => {
        const time = { ...noTimeInStatus(), ...current.time_in_status };
        time[current.status] += secondsBetween(current.status_since, data.changed_at);
        const queued = inQueue(data.new_status);
        const startsReview = data.new_status === 'IN_REVIEW';
        return touch(current, data.changed_at, {
          status: data.new_status,
          status_since: data.changed_at,
          time_in_status: time,
          in_review_queue: queued,
          review_queue_since: queued ? (current.review_queue_since ?? data.changed_at) : null,
          ...(startsReview ? { approvals: [] } : {}),
        });
      },
    },
    CaseAssigned: {
      update: (current, { data }) => touch(current, data.assigned_at, { assignee: data.assignee }),
    },
    CaseDecisionRecorded: {
      update: (current, { data }) => {
        const by = whoOf(data.actor);
        return touch(current, data.decided_at, {
          approvals:
            data.decision === 'APPROVE'
              ? [...current.approvals, { by, at: data.decided_at }]
              : current.approvals,
          last_decision: {
            decision: data.decision,
            reason_codes: data.reason_codes,
            comment: data.comment,
            by,
            at: data.decided_at,
          },
        });
      },
    },
    RiskRated: {
      update: (current, { data }) =>
        touch(current, data.rated_at, {
          risk: {
            ...current.risk,
            computed: data.rating,
            score: data.score,
            factors: data.factors,
            rules_version: data.rules_version,
            rated_at: data.rated_at,
            effective: current.risk.override?.rating ?? data.rating,
          },
        }),
    },
    RiskOverridden: {
      update: (current, { data }) =>
        touch(current, data.overridden_at, {
          risk: {
            ...current.risk,
            override: {
              rating: data.rating,
              computed_rating: data.computed_rating,
              reason: data.reason,
              by: whoOf(data.actor),
              at: data.overridden_at,
            },
            effective: data.rating,
          },
        }),
    },
  },
});
