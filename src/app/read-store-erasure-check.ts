import type { DocumentPersonalDataDeclarations } from '../eventsourcing/core/personal-data.ts';
import { auditSealedDocuments } from '../eventsourcing/protection/protected-read-store.ts';
import type { ReadStore } from '../eventsourcing/readstore/port.ts';
import type { ErasureCheck } from './erasure-service.ts';

/**
 * The read-store check of a certificate of erasure. Passed means: every document of the case
 * in a read model with personal fields (selected by `case_id`, as stored, below the protection)
 * holds those fields only sealed, under one of the case's destroyed keys, and none of them in
 * clear. Nothing is decrypted: a sealed field under a destroyed key is unreadable by anyone.
 * For one subject's erasure (`scope` 'subject') documents under other keys are the other
 * subjects' and may stay; none may hold personal fields in clear.
 */
export function readStoreErasureCheck(
  storedDocuments: ReadStore,
  declarations: DocumentPersonalDataDeclarations,
) {
  return async (
    caseId: string,
    destroyedKeyIds: readonly string[],
    scope: 'case' | 'subject' = 'case',
  ): Promise<ErasureCheck> => {
    const audits = await auditSealedDocuments(
      storedDocuments,
      declarations,
      { case_id: caseId },
      new Set(destroyedKeyIds),
    );
    const total = (count: (audit: (typeof audits)[number]) => number) =>
      audits.reduce((sum, audit) => sum + count(audit), 0);
    const documents = total((a) => a.documents);
    const erased = total((a) => a.sealedUnderGivenKeys);
    const readable = total((a) => a.sealedUnderOtherKeys);
    const inClear = total((a) => a.inClear);
    return {
      store: 'read store',
      // One subject's erasure leaves the other subjects' documents readable, sealed under their
      // own keys; key ids are derived from (case, subject), so the subject's can only be sealed
      // under one of the destroyed keys.
      result: (scope === 'case' ? readable === 0 : true) && inClear === 0 ? 'passed' : 'failed',
      detail:
        `${documents} documents of the case in ${audits.map((a) => a.collection).join(', ')}: ` +
        `${erased} sealed under destroyed keys, ${readable} under other keys` +
        (scope === 'subject' ? ' (other subjects, readable)' : '') +
        `, ${inClear} with personal fields in clear`,
    };
  };
}
