import type { DocumentPersonalDataDeclarations } from '../eventsourcing/core/personal-data.ts';
import { auditSealedDocuments } from '../eventsourcing/protection/protected-read-store.ts';
import type { ReadStore } from '../eventsourcing/readstore/port.ts';
import type { ErasureCheck } from './erasure-service.ts';

/**
 * The read-store check of a certificate of erasure. Passed means: every document of the case
 * in a read model with personal fields (selected by `case_id`, as stored, below the protection)
 * holds those fields only sealed, under one of the case's destroyed keys, and none of them in
 * clear. Nothing is decrypted: a sealed field under a destroyed key is unreadable by anyone.
 */
export function readStoreErasureCheck(
  storedDocuments: ReadStore,
  declarations: DocumentPersonalDataDeclarations,
) {
  return async (caseId: string, destroyedKeyIds: readonly string[]): Promise<ErasureCheck> => {
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
      result: readable === 0 && inClear === 0 ? 'passed' : 'failed',
      detail:
        `${documents} documents of the case in ${audits.map((a) => a.collection).join(', ')}: ` +
        `${erased} sealed under destroyed keys, ${readable} under other keys, ${inClear} with personal fields in clear`,
    };
  };
}
