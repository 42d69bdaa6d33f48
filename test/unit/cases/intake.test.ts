import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ISO_COUNTRY_CODES } from '../../../src/cases/countries.ts';
import { IntakeSchema, type Violation, validateIntake } from '../../../src/cases/intake.ts';
import { copyOf, kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';

type Message = Record<string, unknown>;

function violationsOf(value: unknown, today?: string): Violation[] {
  const result = validateIntake(value, today === undefined ? {} : { today });
  return result.ok ? [] : result.violations;
}

function messageAt(value: unknown, path: string): string | undefined {
  return violationsOf(value).find((v) => v.path === path)?.message;
}

function kyc(change: (m: Message & { persons: Message[] }) => void = () => {}): Message {
  const message = copyOf(kycIntakeExample) as unknown as Message & { persons: Message[] };
  change(message);
  return message;
}

type KybMessage = Message & {
  persons: Message[];
  company_profile: Message & { registered_address: Message };
  beneficial_owners: (Message & { person_details: Message })[];
};

function kyb(change: (m: KybMessage) => void = () => {}): Message {
  const message = copyOf(kybIntakeExample) as unknown as KybMessage;
  change(message);
  return message;
}

describe('validateIntake: the older service examples', () => {
  it('accepts the KYC example and fills every optional field', () => {
    const result = validateIntake(kycIntakeExample);
    assert.ok(result.ok);
    assert.deepEqual(result.intake, {
      client_id: 'kyc-client-001',
      version: '1.0',
      type: 'INDIVIDUAL_STANDARD',
      traitement_type: 'KYC',
      persons: [{ firstname: 'John', lastname: 'Doe', birthdate: '1990-01-15', role_in_company: null }],
      company_profile: null,
      beneficial_owners: [],
    });
  });

  it('accepts the KYB example with its company and owner', () => {
    const result = validateIntake(kybIntakeExample);
    assert.ok(result.ok);
    assert.deepEqual(result.intake.company_profile, {
      registered_name: 'Test Corp Ltd',
      trading_name: null,
      registration_number: 'C09876',
      registration_date: null,
      country_of_incorporation: 'GB',
      registered_address: {
        street: '1 Business Park',
        city: 'London',
        state_province: null,
        postal_code: 'E14 5HQ',
        country: 'GB',
      },
      business_type: null,
      industry_sector: null,
    });
    assert.deepEqual(result.intake.beneficial_owners, [
      {
        person_details: {
          firstname: 'Ultimate',
          lastname: 'Owner',
          birthdate: '1975-11-10',
          role_in_company: null,
        },
        ownership_percentage: 75,
        types_of_control: ['SHAREHOLDING_OVER_25'],
        is_ubo: true,
      },
    ]);
  });

  it('does not change the message it validates', () => {
    const message = kyb();
    const before = copyOf(message);
    validateIntake(message);
    assert.deepEqual(message, before);
  });
});

describe('validateIntake: top-level fields', () => {
  it('rejects a message that is not an object', () => {
    for (const value of [null, [], 'text', 42]) {
      assert.deepEqual(violationsOf(value), [{ path: '', message: 'must be object' }]);
    }
  });

  it('reports each missing required field at its own path', () => {
    const paths = violationsOf({}).map((v) => v.path);
    assert.deepEqual(paths.sort(), ['/client_id', '/persons', '/traitement_type', '/type', '/version']);
  });

  it('rejects a client_id that is not a string, as the older service did', () => {
    assert.equal(
      messageAt(
        kyc((m) => Object.assign(m, { client_id: 5 })),
        '/client_id',
      ),
      'must be string',
    );
  });

  it('rejects an empty client_id, one with outer white space, and one over 128 characters', () => {
    assert.equal(
      messageAt(
        kyc((m) => Object.assign(m, { client_id: '' })),
        '/client_id',
      ),
      'must not be empty',
    );
    assert.equal(
      messageAt(
        kyc((m) => Object.assign(m, { client_id: ' c-1' })),
        '/client_id',
      ),
      'must not start or end with white space',
    );
    assert.ok(
      messageAt(
        kyc((m) => Object.assign(m, { client_id: 'x'.repeat(129) })),
        '/client_id',
      ),
    );
  });

  it('rejects any version but "1.0" with the older service message, including the number 1.0', () => {
    for (const version of ['2.0', '1', 1.0]) {
      assert.equal(
        messageAt(
          kyc((m) => Object.assign(m, { version })),
          '/version',
        ),
        'Version must be 1.0 for this schema processing',
      );
    }
  });

  it('accepts traitement_type in any letter case and normalises it to upper case', () => {
    const result = validateIntake(kyc((m) => Object.assign(m, { traitement_type: 'kYc' })));
    assert.ok(result.ok);
    assert.equal(result.intake.traitement_type, 'KYC');
  });

  it('rejects a traitement_type other than KYC or KYB, surrounding spaces included', () => {
    for (const traitement_type of ['KYX', ' KYC', 'KYC ', '']) {
      assert.equal(
        messageAt(
          kyc((m) => Object.assign(m, { traitement_type })),
          '/traitement_type',
        ),
        'traitement_type must be either KYC or KYB',
      );
    }
  });

  it('normalises the case type to upper snake case', () => {
    const result = validateIntake(kyc((m) => Object.assign(m, { type: 'individual-standard' })));
    assert.ok(result.ok);
    assert.equal(result.intake.type, 'INDIVIDUAL_STANDARD');
  });

  it('rejects a case type with spaces, a leading digit or more than 64 characters', () => {
    for (const type of ['KYB STANDARD', '1_STANDARD', 'A'.repeat(65), '']) {
      assert.ok(
        messageAt(
          kyc((m) => Object.assign(m, { type })),
          '/type',
        ),
        type,
      );
    }
  });

  it('rejects persons that is null, as the older service did', () => {
    assert.equal(
      messageAt(
        kyc((m) => Object.assign(m, { persons: null })),
        '/persons',
      ),
      'must be array',
    );
  });

  it('rejects more than 100 persons', () => {
    const person = { firstname: 'A', lastname: 'B' };
    assert.ok(
      messageAt(
        kyc((m) => Object.assign(m, { persons: Array(101).fill(person) })),
        '/persons',
      ),
    );
  });

  it('ignores unknown fields and leaves them out of the intake', () => {
    const result = validateIntake(kyc((m) => Object.assign(m, { extra: 1 })));
    assert.ok(result.ok);
    assert.equal('extra' in result.intake, false);
  });
});

describe('validateIntake: persons', () => {
  it('requires firstname and lastname', () => {
    const message = kyc((m) => {
      m.persons[0] = {};
    });
    assert.equal(messageAt(message, '/persons/0/firstname'), 'is required');
    assert.equal(messageAt(message, '/persons/0/lastname'), 'is required');
  });

  it('rejects empty, blank and over-long names', () => {
    assert.equal(
      messageAt(
        kyc((m) => Object.assign(m.persons[0]!, { firstname: '' })),
        '/persons/0/firstname',
      ),
      'must not be empty',
    );
    assert.equal(
      messageAt(
        kyc((m) => Object.assign(m.persons[0]!, { lastname: '   ' })),
        '/persons/0/lastname',
      ),
      'must not be blank',
    );
    assert.ok(
      messageAt(
        kyc((m) => Object.assign(m.persons[0]!, { lastname: 'x'.repeat(101) })),
        '/persons/0/lastname',
      ),
    );
  });

  it('accepts a birthdate that is absent or null', () => {
    assert.ok(validateIntake(kyc((m) => Object.assign(m.persons[0]!, { birthdate: null }))).ok);
    assert.ok(validateIntake(kyc((m) => delete m.persons[0]!.birthdate)).ok);
  });

  it('rejects a birthdate that is not an ISO date', () => {
    for (const birthdate of ['15/01/1990', '1990-1-15', '19900115', '1990-01-15T00:00:00Z']) {
      assert.ok(
        messageAt(
          kyc((m) => Object.assign(m.persons[0]!, { birthdate })),
          '/persons/0/birthdate',
        ),
        birthdate,
      );
    }
  });

  it('rejects a birthdate that does not exist in the calendar', () => {
    for (const birthdate of ['1990-02-30', '1990-13-01', '2001-02-29']) {
      assert.equal(
        messageAt(
          kyc((m) => Object.assign(m.persons[0]!, { birthdate })),
          '/persons/0/birthdate',
        ),
        'must be a calendar date YYYY-MM-DD',
        birthdate,
      );
    }
    assert.ok(validateIntake(kyc((m) => Object.assign(m.persons[0]!, { birthdate: '2000-02-29' }))).ok);
  });

  it('rejects a birthdate before 1900', () => {
    assert.match(
      messageAt(
        kyc((m) => Object.assign(m.persons[0]!, { birthdate: '1899-12-31' })),
        '/persons/0/birthdate',
      ) ?? '',
      /between 1900-01-01/,
    );
  });

  it('rejects a birthdate after today when today is given', () => {
    const message = kyc((m) => Object.assign(m.persons[0]!, { birthdate: '2030-01-01' }));
    assert.deepEqual(violationsOf(message, '2026-01-01'), [
      { path: '/persons/0/birthdate', message: 'must not be after today (2026-01-01)' },
    ]);
    assert.deepEqual(violationsOf(message), []);
  });

  it('rejects an empty role and one that is not a string; accepts null', () => {
    assert.equal(
      messageAt(
        kyc((m) => Object.assign(m.persons[0]!, { role_in_company: '' })),
        '/persons/0/role_in_company',
      ),
      'must not be empty',
    );
    assert.equal(
      messageAt(
        kyc((m) => Object.assign(m.persons[0]!, { role_in_company: 7 })),
        '/persons/0/role_in_company',
      ),
      'must be string or null',
    );
    assert.ok(validateIntake(kyc((m) => Object.assign(m.persons[0]!, { role_in_company: null }))).ok);
  });

  it('rejects a person that is not an object', () => {
    assert.equal(
      messageAt(
        kyc((m) => m.persons.push(3 as unknown as Message)),
        '/persons/1',
      ),
      'must be object',
    );
  });
});

describe('validateIntake: company profile', () => {
  it('requires the registered name, number, country and address', () => {
    const message = kyb((m) => {
      m.company_profile = { registered_address: {} } as KybMessage['company_profile'];
    });
    const paths = violationsOf(message).map((v) => v.path);
    for (const path of [
      '/company_profile/registered_name',
      '/company_profile/registration_number',
      '/company_profile/country_of_incorporation',
      '/company_profile/registered_address/country',
    ]) {
      assert.ok(paths.includes(path), path);
    }
  });

  it('accepts only upper-case ISO 3166-1 alpha-2 country codes', () => {
    for (const country of ['gb', 'UK', 'GBR', 'XX', '']) {
      assert.equal(
        messageAt(
          kyb((m) => Object.assign(m.company_profile, { country_of_incorporation: country })),
          '/company_profile/country_of_incorporation',
        ),
        'must be an ISO 3166-1 alpha-2 country code in upper case, e.g. GB',
        country,
      );
    }
    assert.ok(
      messageAt(
        kyb((m) => Object.assign(m.company_profile.registered_address, { country: 'gb' })),
        '/company_profile/registered_address/country',
      ),
    );
  });

  it('ships the 249 officially assigned country codes, each two upper-case letters, once', () => {
    assert.equal(ISO_COUNTRY_CODES.length, 249);
    assert.equal(new Set(ISO_COUNTRY_CODES).size, 249);
    assert.ok(ISO_COUNTRY_CODES.every((code) => /^[A-Z]{2}$/.test(code)));
  });

  it('checks the optional fields when they are given', () => {
    const message = kyb((m) =>
      Object.assign(m.company_profile, {
        trading_name: 5,
        registration_date: '2020-02-30',
        business_type: '',
        industry_sector: 'x'.repeat(101),
      }),
    );
    assert.equal(messageAt(message, '/company_profile/trading_name'), 'must be string or null');
    assert.equal(
      messageAt(message, '/company_profile/registration_date'),
      'must be a calendar date YYYY-MM-DD',
    );
    assert.equal(messageAt(message, '/company_profile/business_type'), 'must not be empty');
    assert.ok(messageAt(message, '/company_profile/industry_sector'));
  });

  it('rejects a registration date after today when today is given', () => {
    const message = kyb((m) => Object.assign(m.company_profile, { registration_date: '2027-05-01' }));
    assert.deepEqual(violationsOf(message, '2026-01-01'), [
      { path: '/company_profile/registration_date', message: 'must not be after today (2026-01-01)' },
    ]);
  });

  it('rejects a company profile that is neither an object nor null', () => {
    assert.equal(
      messageAt(
        kyb((m) => Object.assign(m, { company_profile: 4 })),
        '/company_profile',
      ),
      'must be object or null',
    );
  });
});

describe('validateIntake: beneficial owners', () => {
  it('accepts ownership of 0 and 100 and rejects 101 and -10', () => {
    for (const ownership_percentage of [0, 100, null]) {
      assert.ok(
        validateIntake(kyb((m) => Object.assign(m.beneficial_owners[0]!, { ownership_percentage }))).ok,
      );
    }
    assert.equal(
      messageAt(
        kyb((m) => Object.assign(m.beneficial_owners[0]!, { ownership_percentage: 101 })),
        '/beneficial_owners/0/ownership_percentage',
      ),
      'must be <= 100',
    );
    assert.equal(
      messageAt(
        kyb((m) => Object.assign(m.beneficial_owners[0]!, { ownership_percentage: -10 })),
        '/beneficial_owners/0/ownership_percentage',
      ),
      'must be >= 0',
    );
  });

  it('requires person_details with names', () => {
    assert.equal(
      messageAt(
        kyb((m) => delete (m.beneficial_owners[0] as Message).person_details),
        '/beneficial_owners/0/person_details',
      ),
      'is required',
    );
    assert.equal(
      messageAt(
        kyb((m) => Object.assign(m.beneficial_owners[0]!.person_details, { firstname: '' })),
        '/beneficial_owners/0/person_details/firstname',
      ),
      'must not be empty',
    );
  });

  it('rejects empty kinds of control and a non-boolean is_ubo', () => {
    const message = kyb((m) =>
      Object.assign(m.beneficial_owners[0]!, { types_of_control: ['ok', ''], is_ubo: 'yes' }),
    );
    assert.equal(messageAt(message, '/beneficial_owners/0/types_of_control/1'), 'must not be empty');
    assert.equal(messageAt(message, '/beneficial_owners/0/is_ubo'), 'must be boolean');
  });

  it('defaults types_of_control to [] and is_ubo to false', () => {
    const result = validateIntake(
      kyb((m) => {
        m.beneficial_owners[0] = {
          person_details: { firstname: 'A', lastname: 'B' },
          types_of_control: null,
        };
      }),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.intake.beneficial_owners[0], {
      person_details: { firstname: 'A', lastname: 'B', birthdate: null, role_in_company: null },
      ownership_percentage: null,
      types_of_control: [],
      is_ubo: false,
    });
  });

  it('treats beneficial_owners null or absent as none for KYB', () => {
    for (const change of [
      (m: KybMessage) => Object.assign(m, { beneficial_owners: null }),
      (m: KybMessage) => delete (m as Message).beneficial_owners,
    ]) {
      const result = validateIntake(kyb(change));
      assert.ok(result.ok);
      assert.deepEqual(result.intake.beneficial_owners, []);
    }
  });
});

describe('validateIntake: rules across fields', () => {
  it('requires a company profile for KYB, absent or null', () => {
    for (const change of [
      (m: KybMessage) => delete (m as Message).company_profile,
      (m: KybMessage) => Object.assign(m, { company_profile: null }),
    ]) {
      assert.deepEqual(violationsOf(kyb(change)), [
        { path: '/company_profile', message: 'company_profile is required when traitement_type is KYB' },
      ]);
    }
  });

  it('rejects beneficial owners on a KYC intake, and accepts an empty list or null', () => {
    const owners = copyOf(kybIntakeExample.beneficial_owners);
    assert.deepEqual(violationsOf(kyc((m) => Object.assign(m, { beneficial_owners: owners }))), [
      {
        path: '/beneficial_owners',
        message: 'beneficial_owners should be empty or not provided when traitement_type is KYC',
      },
    ]);
    assert.ok(validateIntake(kyc((m) => Object.assign(m, { beneficial_owners: [] }))).ok);
    assert.ok(validateIntake(kyc((m) => Object.assign(m, { beneficial_owners: null }))).ok);
  });

  it('requires at least one person for KYC but not for KYB', () => {
    assert.deepEqual(violationsOf(kyc((m) => Object.assign(m, { persons: [] }))), [
      { path: '/persons', message: 'persons must name at least one person when traitement_type is KYC' },
    ]);
    assert.ok(validateIntake(kyb((m) => Object.assign(m, { persons: [] }))).ok);
  });

  it('accepts a KYC intake carrying a company profile and keeps it for the decider to ignore', () => {
    const result = validateIntake(
      kyc((m) => Object.assign(m, { company_profile: copyOf(kybIntakeExample.company_profile) })),
    );
    assert.ok(result.ok);
    assert.equal(result.intake.company_profile?.registered_name, 'Test Corp Ltd');
  });

  it('accepts a KYB person without a role (the decider keeps it off the company)', () => {
    assert.ok(validateIntake(kyb((m) => m.persons.push({ firstname: 'No', lastname: 'Role' }))).ok);
  });

  it('skips the cross-field rules when traitement_type is unreadable', () => {
    assert.deepEqual(
      violationsOf(kyb((m) => Object.assign(m, { traitement_type: 'KYD', company_profile: null }))).map(
        (v) => v.path,
      ),
      ['/traitement_type'],
    );
  });
});

describe('validateIntake: reporting', () => {
  it('reports every violation at once, well beyond the validator default of 8', () => {
    const message = {
      client_id: 5,
      version: '2.0',
      type: '1',
      traitement_type: 'X',
      persons: [{}, { firstname: '', lastname: '', birthdate: 'x', role_in_company: '' }],
      company_profile: { registered_address: {} },
      beneficial_owners: [{ ownership_percentage: 101, is_ubo: 1 }],
    };
    const paths = violationsOf(message).map((v) => v.path);
    assert.deepEqual(paths, [
      '/client_id',
      '/version',
      '/type',
      '/traitement_type',
      '/persons/0/firstname',
      '/persons/0/lastname',
      '/persons/1/firstname',
      '/persons/1/lastname',
      '/persons/1/birthdate',
      '/persons/1/role_in_company',
      '/company_profile/registered_name',
      '/company_profile/registration_number',
      '/company_profile/country_of_incorporation',
      '/company_profile/registered_address/country',
      '/beneficial_owners/0/person_details',
      '/beneficial_owners/0/ownership_percentage',
      '/beneficial_owners/0/is_ubo',
    ]);
  });

  it('reports one violation per path', () => {
    const paths = violationsOf(kyc((m) => Object.assign(m.persons[0]!, { birthdate: '15/01/1890' }))).map(
      (v) => v.path,
    );
    assert.deepEqual(paths, ['/persons/0/birthdate']);
  });

  it('has a schema that survives JSON serialisation (for OpenAPI)', () => {
    const json = JSON.parse(JSON.stringify(IntakeSchema)) as Record<string, unknown>;
    assert.equal(json.type, 'object');
    assert.deepEqual(json.required, ['client_id', 'version', 'type', 'traitement_type', 'persons']);
    assert.ok(typeof json.description === 'string');
  });
});
