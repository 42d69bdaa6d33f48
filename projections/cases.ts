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
import type { Projection } from '../src/eventsourcing/core/projection.ts';

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

export function evolveCaseDocument(current: CaseDocument | null, event: Handled): CaseDocument | null {
  if (event.type === 'CaseOpened') {
    const data = event.data;
    return {
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
    };
  }
  // Later events of a case whose opening this read model never saw have nothing to update.
  if (current === null) return null;
  switch (event.type) {
    case 'PersonAdded':
      return { ...current, persons_count: current.persons_count + 1, updated_at: event.data.added_at };
    case 'BeneficialOwnerAdded':
      return {
        ...current,
        beneficial_owners_count: current.beneficial_owners_count + 1,
        updated_at: event.data.added_at,
      };
    case 'DocumentRequired': {
      const counts = { ...current.document_counts };
      counts[event.data.status] += 1;
      return {
        ...current,
        documents_total: current.documents_total + 1,
        document_counts: counts,
        updated_at: event.data.required_at,
      };
    }
    case 'DocumentStatusChanged': {
      const counts = { ...current.document_counts };
      counts[event.data.old_status] -= 1;
      counts[event.data.new_status] += 1;
      return { ...current, document_counts: counts, updated_at: event.data.changed_at };
    }
    case 'CaseStatusChanged':
      return { ...current, status: event.data.new_status, updated_at: event.data.changed_at };
    default: {
      const unknown: never = event;
      throw new Error(`cases projection cannot handle ${JSON.stringify(unknown)}`);
    }
  }
}

export const casesProjection: Projection<CaseDocument, Handled> = {
  name: 'cases',
  version: 1,
  collection: 'cases',
  creates: ['CaseOpened'],
  handles: [
    'CaseOpened',
    'PersonAdded',
    'BeneficialOwnerAdded',
    'DocumentRequired',
    'DocumentStatusChanged',
    'CaseStatusChanged',
  ],
  documentIds: (event) => [event.data.case_id],
  evolve: (current, event) => evolveCaseDocument(current, event),
};
