import { ERASED } from '../src/cases/personal-data.ts';
import type { DocumentPersonalDataDeclarations } from '../src/eventsourcing/core/personal-data.ts';
import { beneficialOwnersProjection } from './beneficial-owners.ts';
import { personsProjection } from './persons.ts';
import { rawIntakeProjection } from './raw-intake.ts';

// Which fields of the read models are personal data, sealed in the read store under the key of
// the event they come from (same scope and subject as in src/cases/personal-data.ts), so one
// destroyed key erases an event and every document built from it. Placeholders are what the
// projection makes of the erased event: the documents read the same before and after a rebuild.
// The other read models hold ids, statuses, dates and company data only.

const text = (document: Readonly<Record<string, unknown>>, field: string): string => {
  const value = document[field];
  if (typeof value !== 'string' || value === '') throw new Error(`personal data: ${field} is not an id`);
  return value;
};

const caseScope = (document: Readonly<Record<string, unknown>>) => text(document, 'case_id');

export const readModelPersonalData: DocumentPersonalDataDeclarations = {
  [personsProjection.collection]: {
    scope: caseScope,
    subject: (document) => text(document, 'id'),
    placeholders: { firstname: ERASED, lastname: ERASED, birthdate: null },
  },
  // The owner's person details, flattened (role_in_company is one of them).
  [beneficialOwnersProjection.collection]: {
    scope: caseScope,
    subject: (document) => text(document, 'id'),
    placeholders: { firstname: ERASED, lastname: ERASED, birthdate: null, role_in_company: null },
  },
  // A refused message has no case: its receipt is its scope, as for its event.
  [rawIntakeProjection.collection]: {
    scope: (document) =>
      typeof document.case_id === 'string' && document.case_id !== ''
        ? document.case_id
        : `intake-${text(document, 'id')}`,
    subject: (document) => `intake-${text(document, 'id')}`,
    placeholders: { payload: null, raw_text: null, violations: [] },
  },
};
