import type { CountryCode } from '../src/cases/countries.ts';
import type { CompanyRegistered } from '../src/cases/events.ts';
import type { RecordedEvent } from '../src/eventsourcing/core/events.ts';
import { defineProjection } from '../src/eventsourcing/core/projection.ts';

/** The `companies` collection: the older service's company document plus its `case_id`. */
export type CompanyDocument = {
  id: string;
  case_id: string;
  registered_name: string;
  trading_name: string | null;
  registration_number: string;
  registration_date: string | null;
  country_of_incorporation: CountryCode;
  registered_address: {
    street: string | null;
    city: string | null;
    state_province: string | null;
    postal_code: string | null;
    country: CountryCode;
  };
  business_type: string | null;
  industry_sector: string | null;
  created_at: string;
  updated_at: string;
};

export function companyDocument(event: RecordedEvent<CompanyRegistered>): CompanyDocument {
  const data = event.data;
  return {
    id: data.company_id,
    case_id: data.case_id,
    registered_name: data.registered_name,
    trading_name: data.trading_name,
    registration_number: data.registration_number,
    registration_date: data.registration_date,
    country_of_incorporation: data.country_of_incorporation,
    registered_address: { ...data.registered_address },
    business_type: data.business_type,
    industry_sector: data.industry_sector,
    created_at: data.registered_at,
    updated_at: data.registered_at,
  };
}

export const companiesProjection = defineProjection<CompanyRegistered, CompanyDocument>({
  name: 'companies',
  version: 1,
  collection: 'companies',
  on: {
    CompanyRegistered: { id: (event) => event.data.company_id, create: (event) => companyDocument(event) },
  },
});
