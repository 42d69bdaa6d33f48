// The two example messages from the older service's README ("Example Minimal KYC/KYB Kafka
// Message Payload"), verbatim. Plain objects: tests clone them before changing anything.

export const kycIntakeExample = {
  client_id: 'kyc-client-001',
  version: '1.0',
  type: 'INDIVIDUAL_STANDARD',
  traitement_type: 'KYC',
  persons: [{ firstname: 'John', lastname: 'Doe', birthdate: '1990-01-15' }],
};

export const kybIntakeExample = {
  client_id: 'kyb-client-002',
  version: '1.0',
  type: 'COMPANY_STANDARD',
  traitement_type: 'KYB',
  company_profile: {
    registered_name: 'Test Corp Ltd',
    registration_number: 'C09876',
    country_of_incorporation: 'GB',
    registered_address: { street: '1 Business Park', city: 'London', country: 'GB', postal_code: 'E14 5HQ' },
  },
  persons: [
    { firstname: 'Jane', lastname: 'Director', birthdate: '1985-03-20', role_in_company: 'Director' },
  ],
  beneficial_owners: [
    {
      person_details: { firstname: 'Ultimate', lastname: 'Owner', birthdate: '1975-11-10' },
      ownership_percentage: 75,
      types_of_control: ['SHAREHOLDING_OVER_25'],
      is_ubo: true,
    },
  ],
};

/** The README's body for `PUT /api/v1/documents/{id}/status`. */
export const statusUpdateExample = {
  new_status: 'UPLOADED',
  updated_by_actor_id: 'test_user',
  metadata_changes: { file_reference: 'doc_xyz.pdf' },
};

/** A deep copy to change freely in a test. */
export const copyOf = <T>(value: T): T => structuredClone(value);
