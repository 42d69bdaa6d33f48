import type { DocumentStatus, EntityType } from '../src/cases/documents.ts';
import type { DocumentRequired, DocumentStatusChanged } from '../src/cases/events.ts';
import type { Projection } from '../src/eventsourcing/core/projection.ts';

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

export function evolveDocumentRequirement(
  current: DocumentRequirementDocument | null,
  event: Handled,
): DocumentRequirementDocument | null {
  switch (event.type) {
    case 'DocumentRequired': {
      const data = event.data;
      return {
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
      };
    }
    case 'DocumentStatusChanged': {
      if (current === null) return null;
      const changes = event.data.metadata_changes;
      return {
        ...current,
        status: event.data.new_status,
        // Shallow merge: a key in the change replaces that key; the others stay.
        metadata: changes === null ? current.metadata : { ...(current.metadata ?? {}), ...changes },
        notes: [...current.notes, ...event.data.notes_added],
        version: current.version + 1,
        updated_by: event.data.updated_by,
        updated_at: event.data.changed_at,
      };
    }
    default: {
      const unknown: never = event;
      throw new Error(`document_requirements projection cannot handle ${JSON.stringify(unknown)}`);
    }
  }
}

export const documentRequirementsProjection: Projection<DocumentRequirementDocument, Handled> = {
  name: 'document_requirements',
  version: 1,
  collection: 'document_requirements',
  creates: ['DocumentRequired'],
  handles: ['DocumentRequired', 'DocumentStatusChanged'],
  documentIds: (event) => [event.data.document_requirement_id],
  evolve: (current, event) => evolveDocumentRequirement(current, event),
};
