import type { CountryCode } from '../../cases/countries.ts';
import type { IntakeMessage } from '../../cases/intake.ts';

/**
 * Realistic, varied KYC and KYB intakes for the demo command. Pure: intake `index` of `seed` is
 * always the same message, whatever order or concurrency the intakes are sent in, so a demo run
 * can be reproduced and a refused intake found again from its index.
 */
export type DemoOptions = {
  seed: number;
  /** Share of KYB intakes, 0–1. */
  kybRatio: number;
};

/** A source of numbers in [0, 1): mulberry32, small and good enough for test data. */
type Random = () => number;

/** murmur3's finaliser: every input bit moves every output bit. */
function mix(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function randomFor(seed: number, index: number): Random {
  let state = mix(mix(seed) + index);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const between = (random: Random, min: number, max: number): number =>
  min + Math.floor(random() * (max - min + 1));
const pick = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/** A country with names and address parts that belong together. */
type Locale = {
  country: CountryCode;
  firstnames: readonly string[];
  lastnames: readonly string[];
  cities: readonly string[];
  streets: readonly string[];
  /** Builds a postal code in the country's format. */
  postalCode(random: Random): string;
  /** Builds a company register number in the country's format. */
  registrationNumber(random: Random): string;
  legalForms: readonly string[];
  regions?: readonly string[];
};

const digits = (random: Random, count: number): string =>
  Array.from({ length: count }, () => between(random, 0, 9)).join('');
const letters = (random: Random, count: number): string =>
  Array.from({ length: count }, () => String.fromCharCode(65 + between(random, 0, 25))).join('');

const locales: readonly Locale[] = [
  {
    country: 'GB',
    firstnames: ['Oliver', 'Amelia', 'Harry', 'Isla', 'George', 'Ava', 'Noah', 'Grace', 'Priya', 'Callum'],
    lastnames: ['Smith', 'Jones', 'Taylor', 'Brown', 'Williams', 'Patel', 'Evans', 'Walker', 'Hughes'],
    cities: ['London', 'Manchester', 'Leeds', 'Bristol', 'Edinburgh', 'Cardiff'],
    streets: ['High Street', 'Station Road', 'Church Lane', 'Victoria Road', 'Park Avenue'],
    postalCode: (random) =>
      `${letters(random, 2)}${between(random, 1, 20)} ${between(random, 1, 9)}${letters(random, 2)}`,
    registrationNumber: (random) => digits(random, 8),
    legalForms: ['Limited Company', 'PLC', 'Limited Liability Partnership'],
  },
  {
    country: 'FR',
    firstnames: ['Camille', 'Louis', 'Léa', 'Hugo', 'Chloé', 'Jules', 'Manon', 'Gabriel', 'Inès'],
    lastnames: ['Martin', 'Bernard', 'Dubois', 'Thomas', 'Robert', 'Petit', 'Durand', 'Lefèvre'],
    cities: ['Paris', 'Lyon', 'Marseille', 'Toulouse', 'Nantes', 'Lille'],
    streets: ['rue de la République', 'avenue Victor Hugo', 'boulevard Voltaire', 'rue Pasteur'],
    postalCode: (random) => `${pad(between(random, 1, 95))}${digits(random, 3)}`,
    registrationNumber: (random) => `${digits(random, 3)} ${digits(random, 3)} ${digits(random, 3)}`,
    legalForms: ['SAS', 'SARL', 'SA'],
  },
  {
    country: 'DE',
    firstnames: ['Lukas', 'Mia', 'Leon', 'Hannah', 'Felix', 'Emma', 'Jonas', 'Lena', 'Paul'],
    lastnames: ['Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker'],
    cities: ['Berlin', 'Hamburg', 'München', 'Köln', 'Frankfurt am Main', 'Stuttgart'],
    streets: ['Hauptstraße', 'Schulstraße', 'Gartenweg', 'Bahnhofstraße', 'Lindenallee'],
    postalCode: (random) => digits(random, 5),
    registrationNumber: (random) => `HRB ${between(random, 1000, 299999)}`,
    legalForms: ['GmbH', 'AG', 'UG (haftungsbeschränkt)'],
  },
  {
    country: 'ES',
    firstnames: ['Lucía', 'Mateo', 'Sofía', 'Hugo', 'Martina', 'Pablo', 'Valeria', 'Álvaro'],
    lastnames: ['García', 'Fernández', 'González', 'Rodríguez', 'López', 'Martínez', 'Sánchez'],
    cities: ['Madrid', 'Barcelona', 'Valencia', 'Sevilla', 'Bilbao'],
    streets: ['Calle Mayor', 'Avenida de la Constitución', 'Calle del Sol', 'Paseo del Prado'],
    postalCode: (random) => `${pad(between(random, 1, 52))}${digits(random, 3)}`,
    registrationNumber: (random) => `B${digits(random, 8)}`,
    legalForms: ['S.L.', 'S.A.'],
  },
  {
    country: 'IT',
    firstnames: ['Giulia', 'Leonardo', 'Sofia', 'Francesco', 'Aurora', 'Alessandro', 'Chiara'],
    lastnames: ['Rossi', 'Russo', 'Ferrari', 'Esposito', 'Bianchi', 'Romano', 'Colombo'],
    cities: ['Roma', 'Milano', 'Napoli', 'Torino', 'Bologna', 'Firenze'],
    streets: ['Via Roma', 'Via Garibaldi', 'Corso Italia', 'Via Dante'],
    postalCode: (random) => digits(random, 5),
    registrationNumber: (random) => `${letters(random, 2)}-${digits(random, 6)}`,
    legalForms: ['S.r.l.', 'S.p.A.'],
  },
  {
    country: 'NL',
    firstnames: ['Daan', 'Emma', 'Sem', 'Julia', 'Lucas', 'Tess', 'Finn', 'Sanne'],
    lastnames: ['de Jong', 'Jansen', 'de Vries', 'van den Berg', 'Bakker', 'Visser', 'Smit'],
    cities: ['Amsterdam', 'Rotterdam', 'Utrecht', 'Den Haag', 'Eindhoven'],
    streets: ['Kerkstraat', 'Dorpsstraat', 'Molenweg', 'Stationsplein'],
    postalCode: (random) => `${between(random, 1000, 9999)} ${letters(random, 2)}`,
    registrationNumber: (random) => digits(random, 8),
    legalForms: ['B.V.', 'N.V.'],
  },
  {
    country: 'US',
    firstnames: ['James', 'Olivia', 'Michael', 'Emily', 'Daniel', 'Madison', 'Ethan', 'Aaliyah'],
    lastnames: ['Johnson', 'Miller', 'Davis', 'Garcia', 'Wilson', 'Anderson', 'Nguyen', 'Kim'],
    cities: ['New York', 'Austin', 'Chicago', 'Seattle', 'Denver', 'Boston'],
    streets: ['Main Street', 'Oak Avenue', 'Maple Drive', 'Market Street', 'Broadway'],
    postalCode: (random) => digits(random, 5),
    registrationNumber: (random) => digits(random, 7),
    legalForms: ['LLC', 'Corporation', 'Limited Partnership'],
    regions: ['NY', 'TX', 'IL', 'WA', 'CO', 'MA', 'DE'],
  },
  {
    country: 'CA',
    firstnames: ['Liam', 'Charlotte', 'William', 'Chloé', 'Benjamin', 'Maya', 'Samuel'],
    lastnames: ['Tremblay', 'Roy', 'Gagnon', 'MacDonald', 'Campbell', 'Wong', 'Singh'],
    cities: ['Toronto', 'Montréal', 'Vancouver', 'Calgary', 'Ottawa'],
    streets: ['King Street', 'rue Sainte-Catherine', 'Yonge Street', 'Granville Street'],
    postalCode: (random) =>
      `${letters(random, 1)}${between(random, 0, 9)}${letters(random, 1)} ${between(random, 0, 9)}${letters(random, 1)}${between(random, 0, 9)}`,
    registrationNumber: (random) => digits(random, 9),
    legalForms: ['Corporation', 'Inc.', 'Limited Partnership'],
    regions: ['ON', 'QC', 'BC', 'AB'],
  },
  {
    country: 'SG',
    firstnames: ['Wei Ling', 'Jun Jie', 'Siti', 'Arjun', 'Hui Min', 'Marcus', 'Nur'],
    lastnames: ['Tan', 'Lim', 'Lee', 'Ng', 'Wong', 'Rahman', 'Kumar'],
    cities: ['Singapore'],
    streets: ['Orchard Road', 'Raffles Place', 'Tanjong Pagar Road', 'Jurong East Street'],
    postalCode: (random) => digits(random, 6),
    registrationNumber: (random) => `${between(random, 1990, 2022)}${digits(random, 5)}${letters(random, 1)}`,
    legalForms: ['Private Limited', 'Public Company Limited by Shares'],
  },
  {
    country: 'AU',
    firstnames: ['Charlotte', 'Jack', 'Olivia', 'Thomas', 'Matilda', 'Lachlan', 'Ruby'],
    lastnames: ['Smith', 'Nguyen', 'Kelly', 'Mitchell', "O'Brien", 'Campbell', 'Chen'],
    cities: ['Sydney', 'Melbourne', 'Brisbane', 'Perth', 'Adelaide'],
    streets: ['George Street', 'Collins Street', 'Queen Street', 'Hay Street'],
    postalCode: (random) => digits(random, 4),
    registrationNumber: (random) => `${digits(random, 3)} ${digits(random, 3)} ${digits(random, 3)}`,
    legalForms: ['Pty Ltd', 'Ltd'],
    regions: ['NSW', 'VIC', 'QLD', 'WA', 'SA'],
  },
  {
    country: 'CH',
    firstnames: ['Noah', 'Mia', 'Luca', 'Lara', 'Elias', 'Laura', 'Matteo'],
    lastnames: ['Müller', 'Meier', 'Schmid', 'Keller', 'Weber', 'Rochat', 'Bernasconi'],
    cities: ['Zürich', 'Genève', 'Basel', 'Lausanne', 'Bern', 'Lugano'],
    streets: ['Bahnhofstrasse', 'Rue du Rhône', 'Seestrasse', 'Via Nassa'],
    postalCode: (random) => String(between(random, 1000, 9658)),
    registrationNumber: (random) => `CHE-${digits(random, 3)}.${digits(random, 3)}.${digits(random, 3)}`,
    legalForms: ['AG', 'GmbH', 'SA'],
  },
  {
    country: 'LU',
    firstnames: ['Gabriel', 'Emma', 'Luca', 'Zoé', 'Tom', 'Léa'],
    lastnames: ['Schmit', 'Muller', 'Weber', 'Hoffmann', 'Wagner', 'Reuter'],
    cities: ['Luxembourg', 'Esch-sur-Alzette', 'Differdange'],
    streets: ['Boulevard Royal', 'Avenue de la Liberté', 'Rue de Hollerich'],
    postalCode: (random) => `L-${digits(random, 4)}`,
    registrationNumber: (random) => `B${between(random, 10000, 280000)}`,
    legalForms: ['S.à r.l.', 'S.A.', 'SCSp'],
  },
];

const companyStems = [
  'Northwind',
  'Bluefin',
  'Silverline',
  'Crescent',
  'Harbourview',
  'Redwood',
  'Polaris',
  'Meridian',
  'Alder',
  'Quarry Hill',
  'Brightwater',
  'Granite',
  'Evergreen',
  'Lighthouse',
  'Kestrel',
  'Oakmont',
];
const companyActivities = [
  'Trading',
  'Logistics',
  'Capital',
  'Software',
  'Foods',
  'Consulting',
  'Holdings',
  'Energy',
  'Textiles',
  'Medical',
];
const sectors = [
  'Wholesale trade',
  'Transport and storage',
  'Financial services',
  'Information technology',
  'Food and beverages',
  'Professional services',
  'Real estate',
  'Renewable energy',
  'Manufacturing',
  'Healthcare',
];
const roles = [
  'Director',
  'Managing Director',
  'Chief Executive Officer',
  'Chief Financial Officer',
  'Company Secretary',
  'Authorised Signatory',
];

const daysIn = (year: number, month: number): number =>
  month === 2
    ? year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
      ? 29
      : 28
    : [4, 6, 9, 11].includes(month)
      ? 30
      : 31;

/** A date between the two years inclusive, always a real day. */
function date(random: Random, fromYear: number, toYear: number): string {
  const year = between(random, fromYear, toYear);
  const month = between(random, 1, 12);
  return `${year}-${pad(month)}-${pad(between(random, 1, daysIn(year, month)))}`;
}

// Birth years stop well before any date this code will run on, so every birthdate is in the past
// without reading a clock: an adult of 18 to 85 in 2024.
function person(random: Random, locale: Locale): { firstname: string; lastname: string; birthdate: string } {
  return {
    firstname: pick(random, locale.firstnames),
    lastname: pick(random, locale.lastnames),
    birthdate: date(random, 1939, 2006),
  };
}

function address(random: Random, locale: Locale) {
  const region = locale.regions === undefined ? {} : { state_province: pick(random, locale.regions) };
  return {
    street: `${between(random, 1, 240)} ${pick(random, locale.streets)}`,
    city: pick(random, locale.cities),
    ...region,
    postal_code: locale.postalCode(random),
    country: locale.country,
  };
}

/** The number after a client id prefix: six digits, so ids look like a calling system's. */
const clientNumber = (random: Random): string => digits(random, 6);

function kyc(random: Random): IntakeMessage {
  const locale = pick(random, locales);
  const subject = person(random, locale);
  // Now and then a joint applicant, who shares the subject's family name.
  const joint = random() < 0.15 ? [{ ...person(random, locale), lastname: subject.lastname }] : [];
  return {
    client_id: `kyc-${locale.country.toLowerCase()}-${clientNumber(random)}`,
    version: '1.0',
    type: random() < 0.8 ? 'INDIVIDUAL_STANDARD' : 'ENHANCED_DUE_DILIGENCE',
    traitement_type: 'KYC',
    persons: [subject, ...joint],
  };
}

/** 0–2 owners whose shares add up to at most 100; an owner of 25 % or more is an ultimate one. */
function owners(
  random: Random,
  locale: Locale,
  officers: readonly { firstname: string; lastname: string; birthdate: string }[],
) {
  const count = between(random, 0, 2);
  let left = 100;
  return Array.from({ length: count }, (_, i) => {
    const share =
      i === count - 1 && random() < 0.5 ? left : between(random, 5, Math.max(5, left - 5 * (count - 1 - i)));
    left -= share;
    // Half the time an owner is also one of the officers, as in most small companies.
    const details = random() < 0.5 ? { ...pick(random, officers) } : person(random, locale);
    const control =
      share >= 25 ? ['SHAREHOLDING_OVER_25', ...(share > 50 ? ['VOTING_RIGHTS_OVER_50'] : [])] : [];
    return {
      person_details: details,
      ownership_percentage: share,
      types_of_control: control,
      is_ubo: share >= 25,
    };
  });
}

function kyb(random: Random): IntakeMessage {
  const locale = pick(random, locales);
  const officers = Array.from({ length: between(random, 1, 3) }, () => person(random, locale));
  const usedRoles = new Set<string>();
  const persons = officers.map((officer) => {
    let role = pick(random, roles);
    while (usedRoles.has(role) && role !== 'Director') role = pick(random, roles);
    usedRoles.add(role);
    return { ...officer, role_in_company: role };
  });
  const legalForm = pick(random, locale.legalForms);
  const stem = pick(random, companyStems);
  const name = `${stem} ${pick(random, companyActivities)} ${legalForm}`;
  return {
    client_id: `kyb-${locale.country.toLowerCase()}-${clientNumber(random)}`,
    version: '1.0',
    type: random() < 0.8 ? 'COMPANY_STANDARD' : 'ENHANCED_DUE_DILIGENCE',
    traitement_type: 'KYB',
    company_profile: {
      registered_name: name,
      ...(random() < 0.4 ? { trading_name: stem } : {}),
      registration_number: locale.registrationNumber(random),
      ...(random() < 0.8 ? { registration_date: date(random, 1950, 2023) } : {}),
      country_of_incorporation: locale.country,
      registered_address: address(random, locale),
      business_type: legalForm,
      industry_sector: pick(random, sectors),
    },
    persons,
    beneficial_owners: owners(random, locale, officers),
  };
}

/** Intake number `index` (from 0) of the run with `options.seed`. */
export function demoIntake(index: number, options: DemoOptions): IntakeMessage {
  const random = randomFor(options.seed, index);
  return random() < options.kybRatio ? kyb(random) : kyc(random);
}

/** The first `count` intakes of the run with `options.seed`. */
export function demoIntakes(count: number, options: DemoOptions): IntakeMessage[] {
  return Array.from({ length: count }, (_, index) => demoIntake(index, options));
}
