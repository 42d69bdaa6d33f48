import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  beneficialOwnerIdFor,
  canonicalJson,
  caseIdFor,
  caseStreamName,
  companyIdFor,
  documentRequirementIdFor,
  intakeFingerprintFor,
  intakeStreamName,
  notificationIdFor,
  personIdFor,
} from '../../../src/cases/ids.ts';
import { readableIds } from './support.ts';

describe('ids', () => {
  it('derives each id from a namespace and its parts', () => {
    assert.equal(caseIdFor(readableIds, 'k'), 'case:k');
    assert.equal(companyIdFor(readableIds, 'c'), 'company:c');
    assert.equal(personIdFor(readableIds, 'c', 2), 'person:c:2');
    assert.equal(beneficialOwnerIdFor(readableIds, 'c', 0), 'beneficial-owner:c:0');
    assert.equal(
      documentRequirementIdFor(readableIds, 'c', 'e', 'PASSPORT'),
      'document-requirement:c:e:PASSPORT',
    );
    assert.equal(notificationIdFor(readableIds, 'c', 3), 'notification:c:3');
  });

  it('names the streams case-<case_id> and intake-<receipt_id>', () => {
    assert.equal(caseStreamName('abc'), 'case-abc');
    assert.equal(intakeStreamName('r1'), 'intake-r1');
  });

  it('fingerprints equal values equally whatever their key order', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }] }), '{"a":[{"c":"x","d":null}],"b":1}');
    assert.equal(
      intakeFingerprintFor(readableIds, { a: 1, b: 2 }),
      intakeFingerprintFor(readableIds, { b: 2, a: 1 }),
    );
    assert.notEqual(intakeFingerprintFor(readableIds, { a: 1 }), intakeFingerprintFor(readableIds, { a: 2 }));
  });
});
