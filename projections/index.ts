import { beneficialOwnersProjection } from './beneficial-owners.ts';
import { casesProjection } from './cases.ts';
import { companiesProjection } from './companies.ts';
import { documentRequirementsProjection } from './document-requirements.ts';
import { erasureIndexProjection } from './erasure-index.ts';
import { personsProjection } from './persons.ts';
import { rawIntakeProjection } from './raw-intake.ts';
import { timelineProjection } from './timeline.ts';

export * from './beneficial-owners.ts';
export * from './cases.ts';
export * from './companies.ts';
export * from './document-requirements.ts';
export * from './erasure-index.ts';
export * from './personal-data.ts';
export * from './persons.ts';
export * from './raw-intake.ts';
export * from './timeline.ts';

/** The read models built from the `case-` streams (the timeline also from the `access-` ones). */
export const caseProjections = [
  casesProjection,
  personsProjection,
  companiesProjection,
  beneficialOwnersProjection,
  documentRequirementsProjection,
  timelineProjection,
] as const;

/** The read model built from the `intake-` streams. */
export const intakeProjections = [rawIntakeProjection] as const;

/** The read model built from the `retention-` streams: what the erasure due job reads. */
export const retentionProjections = [erasureIndexProjection] as const;
