import type { PersonAdded } from '../src/cases/events.ts';
import type { RecordedEvent } from '../src/eventsourcing/core/events.ts';
import { defineProjection } from '../src/eventsourcing/core/projection.ts';

/**
 * The `persons` collection, as in the older service, except that every person carries its
 * `case_id` (KYB persons included) and `company_id` is set for KYB persons linked by a role.
 */
export type PersonDocument = {
  id: string;
  case_id: string;
  company_id: string | null;
  firstname: string;
  lastname: string;
  birthdate: string | null;
  role_in_company: string | null;
  created_at: string;
  updated_at: string;
};

export function personDocument(event: RecordedEvent<PersonAdded>): PersonDocument {
  const data = event.data;
  return {
    id: data.person_id,
    case_id: data.case_id,
    company_id: data.company_id,
    firstname: data.firstname,
    lastname: data.lastname,
    birthdate: data.birthdate,
    role_in_company: data.role_in_company,
    created_at: data.added_at,
    updated_at: data.added_at,
  };
}

export const personsProjection = defineProjection<PersonAdded, PersonDocument>({
  name: 'persons',
  // 2: stored with the personal fields sealed (projections/personal-data.ts); the rebuild seals
  // documents an earlier version stored in clear.
  version: 2,
  collection: 'persons',
  on: {
    PersonAdded: { id: (event) => event.data.person_id, create: (event) => personDocument(event) },
  },
});
