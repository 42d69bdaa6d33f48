import type { DocumentStatus, EntityType } from '../src/cases/documents.ts';
import type { DocumentRequired, DocumentStatusChanged } from '../src/cases/events.ts';
import { defineProjection } from '../src/eventsourcing/core/projection.ts';

/**
 * The `document_requirements` collection, as in the older service (its `version` counts the
 * document's changes from 1), with the id now carried by the event instead of invented at
 * projection time, metadata merged instead of replaced, and who changed it last.
 */
export type DocumentRequirementDocument = {
  id: string;
  case_id: string;
  entity_id: string;
  entity_type: EntityType;
  document_type: string;
  status: DocumentStatus;
  is_required: boolean;
  metadata: Record<string, unknown> | null;
  notes: string[];
  version: number;
  rule_ids: string[];
  updated_by: string | null;
  created_at: string;
  updated_at: string;
};

type Handled = DocumentRequired | DocumentStatusChanged;

export const documentRequirementsProjection = defineProjection<Handled, DocumentRequirementDocument>({
  name: 'document_requirements',
  version: 1,
  collection: 'document_requirements',
  id: (event) => event.data.document_requirement_id,
  on: {
    DocumentRequired: {
      create: ({ data }) => ({
        id: data.document_requirement_id,
        case_id: data.case_id,
        entity_id: data.entity_id,
        entity_type: data.entity_type,
        document_type: data.document_type,
        status: data.status,
        is_required: data.is_required,
        metadata: null,
        notes: [],
        version: 1,
        rule_ids: [...data.rule_ids],
        updated_by: null,
        created_at: data.required_at,
        updated_at: data.required_at,
      }),
    },
    DocumentStatusChanged: {
      update: (current, { data }) => ({
        ...current,
        status: data.new_status,
        // Shallow merge: a key in the change replaces that key; the others stay.
        metadata:
          data.metadata_changes === null
            ? current.metadata
            : { ...(current.metadata ?? {}), ...data.metadata_changes },
        notes: [...current.notes, ...data.notes_added],
        version: current.version + 1,
        updated_by: data.updated_by,
        updated_at: data.changed_at,
      }),
    },
  },
});
