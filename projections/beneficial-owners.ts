import type { BeneficialOwnerAdded } from '../src/cases/events.ts';
import type { RecordedEvent } from '../src/eventsourcing/core/events.ts';
import { defineProjection } from '../src/eventsourcing/core/projection.ts';

/**
 * The `beneficial_owners` collection: the owner's person details flattened as the older service
 * stored them, plus `case_id` and the person's `role_in_company` (which it dropped).
 */
export type BeneficialOwnerDocument = {
  id: string;
  company_id: string;
  case_id: string;
  firstname: string;
  lastname: string;
  birthdate: string | null;
  role_in_company: string | null;
  ownership_percentage: number | null;
  types_of_control: string[];
  is_ubo: boolean;
  created_at: string;
  updated_at: string;
};

export function beneficialOwnerDocument(event: RecordedEvent<BeneficialOwnerAdded>): BeneficialOwnerDocument {
  const data = event.data;
  return {
    id: data.beneficial_owner_id,
    company_id: data.company_id,
    case_id: data.case_id,
    firstname: data.person_details.firstname,
    lastname: data.person_details.lastname,
    birthdate: data.person_details.birthdate,
    role_in_company: data.person_details.role_in_company,
    ownership_percentage: data.ownership_percentage,
    types_of_control: [...data.types_of_control],
    is_ubo: data.is_ubo,
    created_at: data.added_at,
    updated_at: data.added_at,
  };
}

export const beneficialOwnersProjection = defineProjection<BeneficialOwnerAdded, BeneficialOwnerDocument>({
  name: 'beneficial_owners',
  // 2: stored with the personal fields sealed (projections/personal-data.ts); the rebuild seals
  // documents an earlier version stored in clear.
  version: 2,
  collection: 'beneficial_owners',
  on: {
    BeneficialOwnerAdded: {
      id: (event) => event.data.beneficial_owner_id,
      create: (event) => beneficialOwnerDocument(event),
    },
  },
});
