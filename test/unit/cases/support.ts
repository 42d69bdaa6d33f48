import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { CaseCommand, OpenCase } from '../../../src/cases/commands.ts';
import { type CaseDecider, type CaseState, createCaseDecider } from '../../../src/cases/decider.ts';
import type { Actor, CaseEvent } from '../../../src/cases/events.ts';
import type { IdDeriver } from '../../../src/cases/ids.ts';
import { type Intake, validateIntake } from '../../../src/cases/intake.ts';
import { type NotificationRules, parseNotificationRules } from '../../../src/cases/notifications.ts';
import { parseRequirementRules, type RequirementRules } from '../../../src/cases/requirements.ts';
import { parseReasonCodes, type ReasonCodes } from '../../../src/cases/review.ts';
import { parseRiskRules, type RiskRules } from '../../../src/cases/risk.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';

/** Readable and deterministic: ids show what they were derived from. */
export const readableIds: IdDeriver = (...parts) => parts.join(':');

const rulesFile = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../../src/cases/rules/${name}`, import.meta.url), 'utf8'));

export function bundledRequirementRules(): RequirementRules {
  const parsed = parseRequirementRules(rulesFile('document-requirements.json'));
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.value;
}

export function bundledNotificationRules(): NotificationRules {
  const parsed = parseNotificationRules(rulesFile('notification-rules.json'));
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.value;
}

export function bundledRiskRules(): RiskRules {
  const parsed = parseRiskRules(rulesFile('risk-rules.json'));
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.value;
}

export function bundledReasonCodes(): ReasonCodes {
  const parsed = parseReasonCodes(rulesFile('reason-codes.json'));
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.value;
}

export function createDecider(overrides: Partial<Parameters<typeof createCaseDecider>[0]> = {}): CaseDecider {
  return createCaseDecider({
    ids: readableIds,
    requirementRules: bundledRequirementRules(),
    notificationRules: bundledNotificationRules(),
    riskRules: bundledRiskRules(),
    reasonCodes: bundledReasonCodes(),
    ...overrides,
  });
}

export const AT = '2026-03-01T10:00:00.000Z';
export const LATER = '2026-03-02T11:30:00.000Z';
export const SYSTEM: Actor = { type: 'SYSTEM', id: null };
export const REVIEWER: Actor = { type: 'USER', id: 'reviewer-7' };

export function intakeOf(message: unknown): Intake {
  const result = validateIntake(message);
  assert.ok(result.ok, JSON.stringify(result));
  return result.intake;
}

export function openCase(message: unknown, key = 'key-1', extra: Partial<OpenCase['data']> = {}): OpenCase {
  return {
    type: 'OpenCase',
    data: { idempotency_key: key, intake: intakeOf(message), at: AT, actor: SYSTEM, ...extra },
  };
}

/** Folds the history, then decides: the given/when of a decider test. */
export function given(decider: CaseDecider, history: readonly CaseEvent[]) {
  const state: CaseState = history.reduce(decider.evolve, decider.initialState());
  return {
    state,
    when: (command: CaseCommand): CaseEvent[] => [...decider.decide(command, state)],
    whenThrows(command: CaseCommand, code: string): DomainError {
      try {
        decider.decide(command, state);
      } catch (error) {
        assert.ok(error instanceof DomainError, `expected a DomainError, got ${String(error)}`);
        assert.equal(error.code, code);
        return error;
      }
      assert.fail(`expected ${code}, but the command was accepted`);
    },
  };
}

export const ofType = <T extends CaseEvent['type']>(events: readonly CaseEvent[], type: T) =>
  events.filter((e): e is Extract<CaseEvent, { type: T }> => e.type === type);
