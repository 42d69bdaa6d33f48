import type {
  PersonalDataDeclaration,
  PersonalDataDeclarations,
} from '../eventsourcing/core/personal-data.ts';
import type { CaseEventType } from './events.ts';

// Which fields of our events are personal data, whose they are, and what readers see once the
// subject's key is destroyed. Keys are per case and subject, so each case's retention ends on
// its own (a director of two companies has two keys). Ids, roles, statuses and dates stay in
// clear: the decider branches on them, never on a name, so a replay after erasure decides alike.

/** What an erased string reads as: stable, so rebuilt read models are identical. */
export const ERASED = '[erased]';

const text = (data: Readonly<Record<string, unknown>>, field: string): string => {
  const value = data[field];
  if (typeof value !== 'string' || value === '') throw new Error(`personal data: ${field} is not an id`);
  return value;
};

const caseScope = (data: Readonly<Record<string, unknown>>) => text(data, 'case_id');

/** The data subject whose key seals every notification of a case (ids of people are UUIDs). */
export const NOTIFICATIONS_SUBJECT = 'notifications';

export const casePersonalData = {
  PersonAdded: {
    scope: caseScope,
    subject: (data) => text(data, 'person_id'),
    // role_in_company stays readable: it makes a person a director, and requirements follow it.
    placeholders: { firstname: ERASED, lastname: ERASED, birthdate: null },
  },
  BeneficialOwnerAdded: {
    scope: caseScope,
    subject: (data) => text(data, 'beneficial_owner_id'),
    placeholders: {
      person_details: { firstname: ERASED, lastname: ERASED, birthdate: null, role_in_company: null },
    },
  },
  // The first person's name travels in the notification; all notifications of a case share one
  // key in the case's scope, so erasing the case reaches them (erasing one person alone does
  // not). One key per case, not per notification: a new key is a write to the key store, and a
  // case raises notifications for as long as it lives.
  NotificationRequired: {
    scope: caseScope,
    subject: () => NOTIFICATIONS_SUBJECT,
    placeholders: { recipient_details: {}, context_data: {} },
  },
} satisfies Partial<Record<CaseEventType, PersonalDataDeclaration>>;

export const intakePersonalData = {
  // The raw message names every person; a rejected one has no case, so its receipt is the scope.
  IntakeReceived: {
    scope: (data) =>
      typeof data.case_id === 'string' && data.case_id !== ''
        ? data.case_id
        : `intake-${text(data, 'receipt_id')}`,
    subject: (data) => `intake-${text(data, 'receipt_id')}`,
    // Violations may quote what was sent.
    placeholders: { payload: null, raw_text: null, violations: [] },
  },
} satisfies PersonalDataDeclarations;

/** Every personal-data declaration of the case service's streams. */
export const personalDataDeclarations: PersonalDataDeclarations = {
  ...casePersonalData,
  ...intakePersonalData,
};
