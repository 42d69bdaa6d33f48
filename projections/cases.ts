import { DOCUMENT_STATUSES, type DocumentStatus } from '../src/cases/documents.ts';
import type {
  BeneficialOwnerAdded,
  CaseOpened,
  CaseStatus,
  CaseStatusChanged,
  DocumentRequired,
  DocumentStatusChanged,
  IntakeWarning,
  PersonAdded,
} from '../src/cases/events.ts';
import type { TraitementType } from '../src/cases/intake.ts';
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
  created_at: string;
  updated_at: string;
};

type Handled =
  | CaseOpened
  | PersonAdded
  | BeneficialOwnerAdded
  | DocumentRequired
  | DocumentStatusChanged
  | CaseStatusChanged;

const noDocuments = (): Record<DocumentStatus, number> =>
  Object.fromEntries(DOCUMENT_STATUSES.map((s) => [s, 0])) as Record<DocumentStatus, number>;

const touch = (current: CaseDocument, at: string, change: Partial<CaseDocument>): CaseDocument => ({
  ...current,
  ...change,
  updated_at: at,
});

export const casesProjection = defineProjection<Handled, CaseDocument>({
  name: 'cases',
  version: 1,
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
      update: (current, { data }) => touch(current, data.changed_at, { status: data.new_status }),
    },
  },
});
