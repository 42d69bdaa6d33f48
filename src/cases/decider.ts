import type { Decider } from '../eventsourcing/core/decider.ts';
import { DomainError } from '../eventsourcing/core/errors.ts';
import type {
  AssignCase,
  CaseCommand,
  ChangeDocumentStatus,
  CloseCase,
  DetermineRequirements,
  OpenCase,
  OverrideRisk,
  RecordDecision,
  ReopenCase,
} from './commands.ts';
import {
  allowedTransitions,
  canRequestAgain,
  canTransition,
  type DocumentStatus,
  type EntityType,
  isDocumentStatus,
  isResolved,
} from './documents.ts';
import { CaseErrorCodes } from './errors.ts';
import {
  type Actor,
  type CaseEvent,
  type CaseStatus,
  DECISIONS,
  type Decision,
  type IntakeWarning,
  RISK_RATINGS,
  type RiskFactor,
  type RiskRating,
} from './events.ts';
import {
  beneficialOwnerIdFor,
  caseIdFor,
  companyIdFor,
  documentRequirementIdFor,
  type IdDeriver,
  intakeFingerprintFor,
  notificationIdFor,
  personIdFor,
} from './ids.ts';
import { type Intake, normaliseCaseType, type TraitementType } from './intake.ts';
import {
  matchBundledRule,
  type NotificationEvent,
  type NotificationResolution,
  type NotificationRules,
  type NotificationTrigger,
  notificationRequired,
  triggerFor,
} from './notifications.ts';
import { type EntityFacts, type RequirementRules, requiredDocuments } from './requirements.ts';
import {
  allowedActions,
  allowedStatuses,
  type CaseAction,
  canDo,
  type ReasonAction,
  type ReasonCodes,
  RISK_OVERRIDE_STATUSES,
  reasonCodesFor,
  unacceptedReasonCodes,
} from './review.ts';
import { type RiskInputs, type RiskResult, type RiskRules, rateRisk, sameRating } from './risk.ts';

// --- state --------------------------------------------------------------------------------------

export type RequirementState = {
  entity_id: string;
  entity_type: EntityType;
  document_type: string;
  status: DocumentStatus;
  /** 1 when required, one more per status change: the `version` of the document read model. */
  version: number;
};

/** What decisions need to know about an opened case; read models hold the rest. */
export type OpenedCase = {
  status: CaseStatus;
  case_id: string;
  idempotency_key: string;
  intake_fingerprint: string;
  client_id: string;
  case_type: string;
  traitement_type: TraitementType;
  company_id: string | null;
  /** The first person of the intake: the notification's contact, as in the older service. */
  primary_contact: { firstname: string; lastname: string } | null;
  persons: Readonly<Record<string, { role_in_company: string | null }>>;
  /** `country` is for the risk rating; the intake does not carry one yet, so it is null. */
  beneficial_owners: Readonly<Record<string, { is_ubo: boolean; country: string | null }>>;
  requirements: Readonly<Record<string, RequirementState>>;
  notifications: number;
  /** Risk inputs the company brought; null for KYC. */
  company: RiskInputs['company'];
  /** The person reviewing the case (an API key name), kept until someone else is assigned. */
  assignee: string | null;
  /** When the case entered its status; with review_started_at, feeds time-in-status metrics. */
  status_since: string;
  /** When the case last entered IN_REVIEW; kept after it leaves, until the next review. */
  review_started_at: string | null;
  risk: {
    computed: RiskResult | null;
    override: { rating: RiskRating; reason: string; by: string } | null;
  };
  /** Who approved in the current review (reset when a review starts): four eyes. */
  approvals: readonly { by: string; at: string }[];
  /** The last decision of the current review, to recognise the same decision sent again. */
  last_decision: DecisionRecord | null;
  /** The closure (reopening) in effect, to recognise the same request sent again. */
  last_closure: StatusRequestRecord | null;
  last_reopening: StatusRequestRecord | null;
};

type DecisionRecord = {
  by: string;
  decision: Decision;
  reason_codes: readonly string[];
  comment: string | null;
  requested_documents: readonly string[];
  requested_fields: readonly string[];
};

type StatusRequestRecord = { by: string; reason_code: string; comment: string | null };

/** Who a person is for four eyes: the actor's id (the API key name), else its type. */
const personOf = (actor: Actor): string => actor.id ?? actor.type;

/** The rating that counts: the manual override when there is one, else the computed rating. */
export function effectiveRisk(state: OpenedCase): RiskRating | null {
  return state.risk.override?.rating ?? state.risk.computed?.rating ?? null;
}

export type CaseState = { status: 'NONE' } | OpenedCase;

export const initialCaseState = (): CaseState => ({ status: 'NONE' });

/** Folds one event of the case stream into state. Pure, and needs no rules: events hold the outcomes. */
export function evolveCase(state: CaseState, event: CaseEvent): CaseState {
  if (event.type === 'CaseOpened') {
    const data = event.data;
    return {
      status: 'OPEN',
      case_id: data.case_id,
      idempotency_key: data.idempotency_key,
      intake_fingerprint: data.intake_fingerprint,
      client_id: data.client_id,
      case_type: data.case_type,
      traitement_type: data.traitement_type,
      company_id: data.company_id,
      primary_contact: null,
      persons: {},
      beneficial_owners: {},
      requirements: {},
      notifications: 0,
      company: null,
      assignee: null,
      status_since: data.opened_at,
      review_started_at: null,
      risk: { computed: null, override: null },
      approvals: [],
      last_decision: null,
      last_closure: null,
      last_reopening: null,
    };
  }
  // Anything else before CaseOpened cannot come from our decider; ignore it rather than invent a case.
  if (state.status === 'NONE') return state;
  switch (event.type) {
    case 'CompanyRegistered':
      return {
        ...state,
        company: {
          country_of_incorporation: event.data.country_of_incorporation,
          residence_country: event.data.registered_address.country,
          industry_sector: event.data.industry_sector,
        },
      };
    case 'PersonAdded': {
      const { person_id, role_in_company, firstname, lastname } = event.data;
      return {
        ...state,
        primary_contact: state.primary_contact ?? { firstname, lastname },
        persons: { ...state.persons, [person_id]: { role_in_company } },
      };
    }
    case 'BeneficialOwnerAdded':
      return {
        ...state,
        beneficial_owners: {
          ...state.beneficial_owners,
          [event.data.beneficial_owner_id]: { is_ubo: event.data.is_ubo, country: null },
        },
      };
    case 'DocumentRequired': {
      const { document_requirement_id, entity_id, entity_type, document_type, status } = event.data;
      return {
        ...state,
        requirements: {
          ...state.requirements,
          [document_requirement_id]: { entity_id, entity_type, document_type, status, version: 1 },
        },
      };
    }
    case 'DocumentStatusChanged': {
      const requirement = state.requirements[event.data.document_requirement_id];
      if (requirement === undefined) return state;
      return {
        ...state,
        requirements: {
          ...state.requirements,
          [event.data.document_requirement_id]: {
            ...requirement,
            status: event.data.new_status,
            version: requirement.version + 1,
          },
        },
      };
    }
    case 'CaseStatusChanged': {
      const { new_status, changed_at } = event.data;
      if (new_status !== 'IN_REVIEW') return { ...state, status: new_status, status_since: changed_at };
      // A new review: approvals and the last decision belong to the previous one.
      return {
        ...state,
        status: new_status,
        status_since: changed_at,
        review_started_at: changed_at,
        approvals: [],
        last_decision: null,
      };
    }
    case 'NotificationRequired':
      return { ...state, notifications: state.notifications + 1 };
    case 'CaseAssigned':
      return { ...state, assignee: event.data.assignee };
    case 'CaseDecisionRecorded': {
      const data = event.data;
      const by = personOf(data.actor);
      return {
        ...state,
        approvals:
          data.decision === 'APPROVE' ? [...state.approvals, { by, at: data.decided_at }] : state.approvals,
        last_decision: {
          by,
          decision: data.decision,
          reason_codes: data.reason_codes,
          comment: data.comment,
          requested_documents: data.requested_documents,
          requested_fields: data.requested_fields,
        },
      };
    }
    case 'CaseClosed': {
      const { reason_code, comment, actor } = event.data;
      return { ...state, last_closure: { by: personOf(actor), reason_code, comment }, last_reopening: null };
    }
    case 'CaseReopened': {
      const { reason_code, comment, actor } = event.data;
      return { ...state, last_reopening: { by: personOf(actor), reason_code, comment }, last_closure: null };
    }
    case 'RiskRated': {
      const { rating, score, factors, rules_version } = event.data;
      return { ...state, risk: { ...state.risk, computed: { rating, score, factors, rules_version } } };
    }
    case 'RiskOverridden': {
      const { rating, reason, actor } = event.data;
      return { ...state, risk: { ...state.risk, override: { rating, reason, by: personOf(actor) } } };
    }
    default: {
      const unknown: never = event;
      throw new Error(`unknown case event ${JSON.stringify(unknown)}`);
    }
  }
}

// --- decisions ----------------------------------------------------------------------------------

export type CaseDeciderDependencies = {
  /** Pure and deterministic (e.g. a name-based UUID); the adapter provides the hashing. */
  ids: IdDeriver;
  requirementRules: RequirementRules;
  /** The bundled rules: used for any trigger the command carries no resolution for. */
  notificationRules: NotificationRules;
  riskRules: RiskRules;
  reasonCodes: ReasonCodes;
};

export type CaseDecider = Decider<CaseCommand, CaseEvent, CaseState> & {
  /**
   * The notification triggers `decide` would raise for this command in this state, so the handler
   * can resolve their rules (configuration service) before deciding. Pure; may throw like `decide`.
   */
  notificationTriggers(command: CaseCommand, state: CaseState): NotificationTrigger[];
};

type Resolve = (trigger: NotificationTrigger) => NotificationResolution;

/**
 * The case decider. `decide` throws DomainError (codes in CaseErrorCodes) when a rule is broken and
 * returns no events when there is nothing to do: the same intake again, a requirement that
 * already exists, a status that is already current.
 */
export function createCaseDecider(deps: CaseDeciderDependencies): CaseDecider {
  const bundled = (trigger: NotificationTrigger): NotificationResolution => ({
    rule: matchBundledRule(deps.notificationRules, trigger.trigger),
    source: 'bundled',
    fallback_reason: null,
  });

  function decideWith(command: CaseCommand, state: CaseState, resolve: Resolve): CaseEvent[] {
    switch (command.type) {
      case 'OpenCase':
        return openCase(deps, command, state, resolve);
      case 'DetermineRequirements':
        return determineRequirements(deps, command, state, resolve);
      case 'ChangeDocumentStatus':
        return changeDocumentStatus(deps, command, state, resolve);
      case 'AssignCase':
        return assignCase(deps, command, state);
      case 'RecordDecision':
        return recordDecision(deps, command, state, resolve);
      case 'CloseCase':
        return closeCase(deps, command, state);
      case 'ReopenCase':
        return reopenCase(deps, command, state);
      case 'OverrideRisk':
        return overrideRisk(command, state);
      default: {
        const unknown: never = command;
        throw new Error(`unknown case command ${JSON.stringify(unknown)}`);
      }
    }
  }

  return {
    initialState: initialCaseState,
    evolve: evolveCase,
    decide(command, state) {
      const resolutions = command.data.notifications ?? {};
      return decideWith(command, state, (trigger) => resolutions[trigger.trigger] ?? bundled(trigger));
    },
    notificationTriggers(command, state) {
      const triggers: NotificationTrigger[] = [];
      decideWith(command, state, (trigger) => {
        triggers.push(trigger);
        return { rule: null, source: 'bundled', fallback_reason: null };
      });
      return triggers;
    },
  };
}

/** Events decided so far, and the state they lead to: later decisions see earlier ones. */
type Batch = { events: CaseEvent[]; state: CaseState };

const startBatch = (state: CaseState): Batch => ({ events: [], state });

function record(batch: Batch, event: CaseEvent): void {
  batch.events.push(event);
  batch.state = evolveCase(batch.state, event);
}

function opened(batch: Batch): OpenedCase {
  if (batch.state.status === 'NONE') throw new Error('case not opened in this batch');
  return batch.state;
}

function openCase(
  deps: CaseDeciderDependencies,
  command: OpenCase,
  state: CaseState,
  resolve: Resolve,
): CaseEvent[] {
  const { idempotency_key: key, intake, at, actor } = command.data;
  const fingerprint = intakeFingerprintFor(deps.ids, intake);
  if (state.status !== 'NONE') {
    if (state.idempotency_key !== key) {
      throw new DomainError(
        CaseErrorCodes.CaseAlreadyExists,
        'a case from another intake already uses this stream',
        {
          case_id: state.case_id,
        },
      );
    }
    if (state.intake_fingerprint !== fingerprint) {
      throw new DomainError(
        CaseErrorCodes.IdempotencyKeyReused,
        'this idempotency key was already used for a different intake',
        { case_id: state.case_id, idempotency_key: key },
      );
    }
    return []; // the same intake again: already handled
  }
  assertIntakeInvariants(intake);

  const caseId = caseIdFor(deps.ids, key);
  const isKyb = intake.traitement_type === 'KYB';
  const company = isKyb ? intake.company_profile : null;
  const companyId = company === null ? null : companyIdFor(deps.ids, caseId);
  const batch = startBatch(state);

  record(batch, {
    type: 'CaseOpened',
    data: {
      case_id: caseId,
      idempotency_key: key,
      intake_fingerprint: fingerprint,
      client_id: intake.client_id,
      case_version: intake.version,
      case_type: intake.type,
      traitement_type: intake.traitement_type,
      company_id: companyId,
      opened_at: at,
      opened_by: actor,
      intake_warnings: intakeWarnings(intake),
    },
  });
  if (company !== null && companyId !== null) {
    // Fields are copied one by one so that nothing but the contract ever reaches the stream.
    const address = company.registered_address;
    record(batch, {
      type: 'CompanyRegistered',
      data: {
        company_id: companyId,
        case_id: caseId,
        registered_name: company.registered_name,
        trading_name: company.trading_name,
        registration_number: company.registration_number,
        registration_date: company.registration_date,
        country_of_incorporation: company.country_of_incorporation,
        registered_address: {
          street: address.street,
          city: address.city,
          state_province: address.state_province,
          postal_code: address.postal_code,
          country: address.country,
        },
        business_type: company.business_type,
        industry_sector: company.industry_sector,
        registered_at: at,
      },
    });
  }
  intake.persons.forEach((person, index) => {
    // A KYB person is linked to the company only through a role, as the older service intended.
    const linked = isKyb && person.role_in_company !== null;
    record(batch, {
      type: 'PersonAdded',
      data: {
        person_id: personIdFor(deps.ids, caseId, index),
        case_id: caseId,
        company_id: linked ? companyId : null,
        firstname: person.firstname,
        lastname: person.lastname,
        birthdate: person.birthdate,
        role_in_company: person.role_in_company,
        added_at: at,
      },
    });
  });
  if (companyId !== null) {
    intake.beneficial_owners.forEach((owner, index) => {
      record(batch, {
        type: 'BeneficialOwnerAdded',
        data: {
          beneficial_owner_id: beneficialOwnerIdFor(deps.ids, caseId, index),
          case_id: caseId,
          company_id: companyId,
          person_details: {
            firstname: owner.person_details.firstname,
            lastname: owner.person_details.lastname,
            birthdate: owner.person_details.birthdate,
            role_in_company: owner.person_details.role_in_company,
          },
          ownership_percentage: owner.ownership_percentage,
          types_of_control: [...owner.types_of_control],
          is_ubo: owner.is_ubo,
          added_at: at,
        },
      });
    });
  }

  // Documents are determined for every entity at once: company, then persons, then owners.
  const current = opened(batch);
  for (const entity of entitiesOf(current)) requireDocuments(deps, batch, entity, at, actor);
  rate(deps, batch, 'intake', at);
  notify(deps, batch, 'CASE_CREATED', {}, at, resolve);
  checkReadiness(deps, batch, at, resolve);
  return batch.events;
}

function assertIntakeInvariants(intake: Intake): void {
  if (intake.traitement_type === 'KYB' && intake.company_profile === null) {
    throw new DomainError(
      CaseErrorCodes.IntakeInvalid,
      'company_profile is required when traitement_type is KYB',
      {
        path: '/company_profile',
      },
    );
  }
  if (intake.traitement_type === 'KYC' && intake.beneficial_owners.length > 0) {
    throw new DomainError(
      CaseErrorCodes.IntakeInvalid,
      'beneficial_owners must be empty when traitement_type is KYC',
      {
        path: '/beneficial_owners',
      },
    );
  }
}

/** What the case will not use from the intake, recorded instead of dropped silently. */
function intakeWarnings(intake: Intake): IntakeWarning[] {
  const warnings: IntakeWarning[] = [];
  if (intake.traitement_type === 'KYC' && intake.company_profile !== null) {
    warnings.push({
      path: '/company_profile',
      code: 'company_profile_ignored',
      message: 'a KYC case has no company: company_profile is ignored',
    });
  }
  if (intake.traitement_type === 'KYB') {
    intake.persons.forEach((person, index) => {
      if (person.role_in_company !== null) return;
      warnings.push({
        path: `/persons/${index}/role_in_company`,
        code: 'person_without_role',
        message: 'person kept on the case but not linked to the company: no role_in_company',
      });
    });
  }
  return warnings;
}

type Entity = { entity_id: string; facts: EntityFacts };

function entitiesOf(state: OpenedCase): Entity[] {
  const base = {
    traitement_type: state.traitement_type,
    case_type: state.case_type,
    has_role: false,
    is_ubo: false,
  };
  const entities: Entity[] = [];
  if (state.company_id !== null) {
    entities.push({ entity_id: state.company_id, facts: { ...base, entity_type: 'COMPANY' } });
  }
  for (const [id, person] of Object.entries(state.persons)) {
    entities.push({
      entity_id: id,
      facts: { ...base, entity_type: 'PERSON', has_role: person.role_in_company !== null },
    });
  }
  for (const [id, owner] of Object.entries(state.beneficial_owners)) {
    entities.push({
      entity_id: id,
      facts: { ...base, entity_type: 'BENEFICIAL_OWNER', is_ubo: owner.is_ubo },
    });
  }
  return entities;
}

function findEntity(state: OpenedCase, entityType: EntityType, entityId: string): Entity | null {
  return (
    entitiesOf(state).find((e) => e.entity_id === entityId && e.facts.entity_type === entityType) ?? null
  );
}

/** Adds the documents the rules ask for that the entity does not have yet. */
function requireDocuments(
  deps: CaseDeciderDependencies,
  batch: Batch,
  entity: Entity,
  at: string,
  actor: Actor,
): void {
  const current = opened(batch);
  // The id is derived from entity and document type, so an existing id means "already required";
  // requiredDocuments lists each type once, so `current` need not be refreshed inside the loop.
  for (const document of requiredDocuments(deps.requirementRules, entity.facts)) {
    const id = documentRequirementIdFor(deps.ids, current.case_id, entity.entity_id, document.document_type);
    if (current.requirements[id] !== undefined) continue;
    record(batch, {
      type: 'DocumentRequired',
      data: {
        document_requirement_id: id,
        case_id: current.case_id,
        entity_id: entity.entity_id,
        entity_type: entity.facts.entity_type,
        document_type: document.document_type,
        is_required: true,
        status: 'AWAITING_UPLOAD',
        rule_ids: document.rule_ids,
        required_at: at,
        required_by: actor,
      },
    });
  }
}

function determineRequirements(
  deps: CaseDeciderDependencies,
  command: DetermineRequirements,
  state: CaseState,
  resolve: Resolve,
): CaseEvent[] {
  const { case_id, entity_id, entity_type, traitement_type, case_type, at, actor } = command.data;
  const current = requireCase(state, case_id);
  const mismatches: Record<string, string> = {};
  if (traitement_type !== undefined && traitement_type.toUpperCase() !== current.traitement_type) {
    mismatches.traitement_type = current.traitement_type;
  }
  if (case_type !== undefined && normaliseCaseType(case_type) !== current.case_type) {
    mismatches.case_type = current.case_type;
  }
  if (Object.keys(mismatches).length > 0) {
    throw new DomainError(CaseErrorCodes.RequirementsContextMismatch, 'the request does not match the case', {
      case_id,
      expected: mismatches,
    });
  }
  const entity = findEntity(current, entity_type, entity_id);
  if (entity === null) {
    throw new DomainError(
      CaseErrorCodes.EntityNotFound,
      `no ${entity_type} ${entity_id} in case ${case_id}`,
      {
        case_id,
        entity_id,
        entity_type,
      },
    );
  }
  const batch = startBatch(state);
  requireDocuments(deps, batch, entity, at, actor);
  checkReadiness(deps, batch, at, resolve);
  return batch.events;
}

function changeDocumentStatus(
  deps: CaseDeciderDependencies,
  command: ChangeDocumentStatus,
  state: CaseState,
  resolve: Resolve,
): CaseEvent[] {
  const { case_id, document_requirement_id: id, new_status, actor, at } = command.data;
  const current = requireCase(state, case_id);
  const requirement = current.requirements[id];
  if (requirement === undefined) {
    throw new DomainError(
      CaseErrorCodes.DocumentNotFound,
      `no document requirement ${id} in case ${case_id}`,
      {
        case_id,
        document_requirement_id: id,
      },
    );
  }
  if (!isDocumentStatus(new_status)) {
    throw new DomainError(CaseErrorCodes.DocumentUnknownStatus, `unknown document status ${new_status}`, {
      document_requirement_id: id,
      status: new_status,
    });
  }
  // Setting the current status again changes nothing, notes and metadata included, so a retried
  // request cannot append its notes twice.
  if (new_status === requirement.status) return [];
  const expectedVersion = command.data.expected_version;
  if (expectedVersion !== undefined && expectedVersion !== requirement.version) {
    throw new DomainError(
      CaseErrorCodes.DocumentVersionMismatch,
      `the document changed since version ${expectedVersion}; it is at version ${requirement.version}`,
      { document_requirement_id: id, expected_version: expectedVersion, actual_version: requirement.version },
    );
  }
  if (!canTransition(requirement.status, new_status)) {
    const allowed = allowedTransitions(requirement.status);
    throw new DomainError(
      CaseErrorCodes.DocumentInvalidTransition,
      `a document cannot go from ${requirement.status} to ${new_status}; allowed: ${allowed.join(', ') || 'none'}`,
      { document_requirement_id: id, from: requirement.status, to: new_status, allowed: [...allowed] },
    );
  }
  const batch = startBatch(state);
  const metadata = command.data.metadata_changes;
  record(batch, {
    type: 'DocumentStatusChanged',
    data: {
      document_requirement_id: id,
      case_id,
      entity_id: requirement.entity_id,
      entity_type: requirement.entity_type,
      document_type: requirement.document_type,
      old_status: requirement.status,
      new_status,
      actor,
      updated_by: actor.id ?? actor.type,
      notes_added: [...(command.data.notes_to_add ?? [])],
      metadata_changes: metadata === undefined || metadata === null ? null : { ...metadata },
      changed_at: at,
    },
  });
  if (new_status === 'REJECTED') {
    const details = {
      document_requirement_id: id,
      document_type: requirement.document_type,
      entity_id: requirement.entity_id,
      entity_type: requirement.entity_type,
    };
    notify(deps, batch, 'DOCUMENT_REJECTED', details, at, resolve);
  }
  checkReadiness(deps, batch, at, resolve);
  return batch.events;
}

function requireCase(state: CaseState, caseId: string): OpenedCase {
  if (state.status === 'NONE' || state.case_id !== caseId) {
    throw new DomainError(CaseErrorCodes.CaseNotFound, `no case ${caseId}`, { case_id: caseId });
  }
  return state;
}

/** At least one requirement, and every one verified or not applicable. */
function allDocumentsResolved(state: OpenedCase): boolean {
  const requirements = Object.values(state.requirements);
  return requirements.length > 0 && requirements.every((r) => isResolved(r.status));
}

/**
 * A case with at least one requirement, all verified or not applicable, is ready for review; one
 * with an outstanding requirement is open. Moving into review notifies; moving back does not.
 */
function checkReadiness(deps: CaseDeciderDependencies, batch: Batch, at: string, resolve: Resolve): void {
  const current = opened(batch);
  const ready = allDocumentsResolved(current);
  if (current.status === 'OPEN' && ready) {
    record(batch, {
      type: 'CaseStatusChanged',
      data: {
        case_id: current.case_id,
        old_status: 'OPEN',
        new_status: 'PENDING_REVIEW',
        reason: 'all_documents_resolved',
        changed_at: at,
      },
    });
    notify(deps, batch, 'CASE_READY_FOR_REVIEW', {}, at, resolve);
  } else if (current.status === 'MORE_INFORMATION_REQUESTED' && ready) {
    record(batch, {
      type: 'CaseStatusChanged',
      data: {
        case_id: current.case_id,
        old_status: 'MORE_INFORMATION_REQUESTED',
        new_status: 'PENDING_REVIEW',
        reason: 'resubmitted',
        changed_at: at,
      },
    });
    notify(deps, batch, 'CASE_READY_FOR_REVIEW', {}, at, resolve);
  } else if (current.status === 'PENDING_REVIEW' && !ready) {
    record(batch, {
      type: 'CaseStatusChanged',
      data: {
        case_id: current.case_id,
        old_status: 'PENDING_REVIEW',
        new_status: 'OPEN',
        reason: 'documents_outstanding',
        changed_at: at,
      },
    });
  }
}

/** Raises a trigger; records NotificationRequired when its resolution names an active rule. */
function notify(
  deps: CaseDeciderDependencies,
  batch: Batch,
  event: NotificationEvent,
  details: Readonly<Record<string, string>>,
  at: string,
  resolve: Resolve,
): void {
  const current = opened(batch);
  const trigger: NotificationTrigger = {
    trigger: triggerFor(event, current.traitement_type, current.case_type),
    context: {
      case_id: current.case_id,
      client_id: current.client_id,
      traitement_type: current.traitement_type,
      case_type: current.case_type,
    },
  };
  const resolution = resolve(trigger);
  if (resolution.rule === null) return; // no active rule: no notification, as in the older service
  record(batch, {
    type: 'NotificationRequired',
    data: notificationRequired({
      notification_id: notificationIdFor(deps.ids, current.case_id, current.notifications),
      trigger,
      rule: resolution.rule,
      resolution,
      primary_contact: current.primary_contact,
      details,
      at,
    }),
  });
}

// --- review -------------------------------------------------------------------------------------

/** 409 naming the statuses and actions the case's status allows (CASE_TRANSITIONS). */
function invalidTransition(state: OpenedCase, action: CaseAction | 'override_risk'): DomainError {
  const actions = action === 'override_risk' ? [] : allowedActions(state.status);
  return new DomainError(
    CaseErrorCodes.CaseInvalidTransition,
    `a case in ${state.status} cannot ${action.replaceAll('_', ' ')}; allowed: ${actions.join(', ') || 'none'}`,
    {
      case_id: state.case_id,
      status: state.status,
      action,
      allowed: allowedStatuses(state.status),
      allowed_actions: allowedActions(state.status),
      ...(action === 'override_risk' ? { override_allowed_in: [...RISK_OVERRIDE_STATUSES] } : {}),
    },
  );
}

function assertReasonCodes(
  deps: CaseDeciderDependencies,
  action: ReasonAction,
  codes: readonly string[],
): void {
  const refused = unacceptedReasonCodes(deps.reasonCodes, action, codes);
  if (codes.length > 0 && refused.length === 0) return;
  const accepted = reasonCodesFor(deps.reasonCodes, action);
  throw new DomainError(
    CaseErrorCodes.ReasonCodeInvalid,
    codes.length === 0
      ? `${action} needs at least one reason code`
      : `reason code(s) not accepted for ${action}: ${refused.join(', ')}`,
    { action, refused, accepted },
  );
}

/** Inputs of the risk rating, as the case's events recorded them. */
function riskInputsOf(state: OpenedCase): RiskInputs {
  return {
    traitement_type: state.traitement_type,
    case_type: state.case_type,
    company: state.company,
    person_countries: [],
    beneficial_owners: Object.values(state.beneficial_owners),
  };
}

/** Rates the case; records RiskRated only when the result differs from the last one. */
function rate(deps: CaseDeciderDependencies, batch: Batch, trigger: string, at: string): void {
  const current = opened(batch);
  const result = rateRisk(deps.riskRules, riskInputsOf(current));
  if (current.risk.computed !== null && sameRating(current.risk.computed, result)) return;
  record(batch, {
    type: 'RiskRated',
    data: {
      case_id: current.case_id,
      rating: result.rating,
      score: result.score,
      factors: result.factors.map((factor: RiskFactor) => ({ ...factor })),
      rules_version: result.rules_version,
      trigger,
      rated_at: at,
    },
  });
}

function changeStatus(
  batch: Batch,
  to: CaseStatus,
  reason: Extract<CaseEvent, { type: 'CaseStatusChanged' }>['data']['reason'],
  at: string,
): void {
  const current = opened(batch);
  record(batch, {
    type: 'CaseStatusChanged',
    data: { case_id: current.case_id, old_status: current.status, new_status: to, reason, changed_at: at },
  });
}

function assignCase(deps: CaseDeciderDependencies, command: AssignCase, state: CaseState): CaseEvent[] {
  const { case_id, assignee, actor, at } = command.data;
  const current = requireCase(state, case_id);
  if (current.status === 'IN_REVIEW' && current.assignee === assignee) return [];
  if (!canDo(current.status, 'assign')) throw invalidTransition(current, 'assign');
  const batch = startBatch(state);
  // A review looks at the rating under the rules in force now: a newer rules file may rate
  // differently, and a case opened before ratings existed gets its first one.
  rate(deps, batch, current.risk.computed === null ? 'first_review' : 'rules_changed', at);
  if (current.assignee !== assignee) {
    record(batch, {
      type: 'CaseAssigned',
      data: { case_id, assignee, previous_assignee: current.assignee, actor, assigned_at: at },
    });
  }
  if (current.status !== 'IN_REVIEW') changeStatus(batch, 'IN_REVIEW', 'review_started', at);
  return batch.events;
}

const sameList = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && a.every((item, i) => item === b[i]);

function isDecision(value: string): value is Decision {
  return (DECISIONS as readonly string[]).includes(value);
}

const DECISION_ACTIONS: Record<Decision, CaseAction> = {
  APPROVE: 'approve',
  REJECT: 'reject',
  REQUEST_INFORMATION: 'request_information',
};

function recordDecision(
  deps: CaseDeciderDependencies,
  command: RecordDecision,
  state: CaseState,
  resolve: Resolve,
): CaseEvent[] {
  const { case_id, decision, comment, actor, at } = command.data;
  const current = requireCase(state, case_id);
  if (!isDecision(decision)) {
    throw new DomainError(CaseErrorCodes.DecisionUnknown, `unknown decision ${decision}`, {
      decision,
      allowed: [...DECISIONS],
    });
  }
  const by = personOf(actor);
  const wanted: DecisionRecord = {
    by,
    decision,
    reason_codes: [...command.data.reason_codes],
    comment,
    requested_documents: [...command.data.requested_documents],
    requested_fields: [...command.data.requested_fields],
  };
  // The same person sending the same decision again (a retry) changes nothing.
  const last = current.last_decision;
  if (
    last !== null &&
    last.by === wanted.by &&
    last.decision === wanted.decision &&
    last.comment === wanted.comment &&
    sameList(last.reason_codes, wanted.reason_codes) &&
    sameList(last.requested_documents, wanted.requested_documents) &&
    sameList(last.requested_fields, wanted.requested_fields)
  ) {
    return [];
  }
  if (!canDo(current.status, DECISION_ACTIONS[decision])) {
    throw invalidTransition(current, DECISION_ACTIONS[decision]);
  }
  assertReasonCodes(deps, decision, wanted.reason_codes);

  const approvalsNeeded = effectiveRisk(current) === 'HIGH' ? 2 : 1;
  if (decision === 'APPROVE') {
    if (!allDocumentsResolved(current)) {
      throw new DomainError(
        CaseErrorCodes.DocumentsOutstanding,
        'every document must be resolved before approval',
        {
          case_id,
          outstanding: Object.entries(current.requirements)
            .filter(([, requirement]) => !isResolved(requirement.status))
            .map(([id]) => id),
        },
      );
    }
    if (current.approvals.some((approval) => approval.by === by)) {
      throw new DomainError(CaseErrorCodes.AlreadyApproved, `${by} already approved this case`, {
        case_id,
        approvals: current.approvals.map((approval) => approval.by),
        approvals_needed: approvalsNeeded,
      });
    }
    if (current.risk.override !== null && current.risk.override.by === by) {
      throw new DomainError(CaseErrorCodes.OwnOverride, `${by} set the risk override and cannot approve`, {
        case_id,
        override_by: by,
      });
    }
  }
  if (decision === 'REQUEST_INFORMATION') {
    if (wanted.requested_documents.length === 0 && wanted.requested_fields.length === 0) {
      throw new DomainError(
        CaseErrorCodes.InformationUnspecified,
        'REQUEST_INFORMATION must name at least one document or field',
        { case_id },
      );
    }
    const unknown = wanted.requested_documents.filter((id) => current.requirements[id] === undefined);
    if (unknown.length > 0) {
      throw new DomainError(
        CaseErrorCodes.RequestedDocumentNotFound,
        `no document requirement ${unknown.join(', ')} in case ${case_id}`,
        { case_id, document_requirement_ids: unknown },
      );
    }
  }

  const batch = startBatch(state);
  const approvalsSoFar = decision === 'APPROVE' ? current.approvals.length + 1 : 0;
  record(batch, {
    type: 'CaseDecisionRecorded',
    data: {
      case_id,
      decision,
      reason_codes: [...wanted.reason_codes],
      comment,
      requested_documents: [...wanted.requested_documents],
      requested_fields: [...wanted.requested_fields],
      approvals_needed: decision === 'APPROVE' ? approvalsNeeded : 0,
      approvals_so_far: approvalsSoFar,
      actor,
      decided_at: at,
    },
  });
  const details = { reason_codes: wanted.reason_codes.join(','), decided_by: by };
  switch (decision) {
    case 'APPROVE':
      // Four eyes: a HIGH-risk case stays IN_REVIEW until a second person approves.
      if (approvalsSoFar < approvalsNeeded) return batch.events;
      changeStatus(batch, 'APPROVED', 'approved', at);
      notify(deps, batch, 'CASE_APPROVED', details, at, resolve);
      return batch.events;
    case 'REJECT':
      changeStatus(batch, 'REJECTED', 'rejected', at);
      notify(deps, batch, 'CASE_REJECTED', details, at, resolve);
      return batch.events;
    case 'REQUEST_INFORMATION':
      for (const id of wanted.requested_documents) requestAgain(batch, id, wanted, actor, at);
      changeStatus(batch, 'MORE_INFORMATION_REQUESTED', 'information_requested', at);
      notify(
        deps,
        batch,
        'CASE_MORE_INFORMATION_REQUESTED',
        {
          ...details,
          requested_documents: wanted.requested_documents
            .map((id) => current.requirements[id]?.document_type ?? id)
            .join(','),
          requested_fields: wanted.requested_fields.join(','),
        },
        at,
        resolve,
      );
      return batch.events;
    default: {
      const unknown: never = decision;
      throw new Error(`unknown decision ${String(unknown)}`);
    }
  }
}

/** Sends one document back to AWAITING_UPLOAD for a request for information. */
function requestAgain(batch: Batch, id: string, decision: DecisionRecord, actor: Actor, at: string): void {
  const current = opened(batch);
  const requirement = current.requirements[id];
  if (requirement === undefined || !canRequestAgain(requirement.status)) return;
  const why = decision.comment ?? decision.reason_codes.join(', ');
  record(batch, {
    type: 'DocumentStatusChanged',
    data: {
      document_requirement_id: id,
      case_id: current.case_id,
      entity_id: requirement.entity_id,
      entity_type: requirement.entity_type,
      document_type: requirement.document_type,
      old_status: requirement.status,
      new_status: 'AWAITING_UPLOAD',
      actor,
      updated_by: personOf(actor),
      notes_added: [`Requested again by the reviewer: ${why}`],
      metadata_changes: { requested_reason_codes: [...decision.reason_codes] },
      changed_at: at,
    },
  });
}

function closeCase(deps: CaseDeciderDependencies, command: CloseCase, state: CaseState): CaseEvent[] {
  const { case_id, reason_code, comment, actor, at } = command.data;
  const current = requireCase(state, case_id);
  const last = current.last_closure;
  if (
    current.status === 'CLOSED' &&
    last !== null &&
    last.by === personOf(actor) &&
    last.reason_code === reason_code &&
    last.comment === comment
  ) {
    return [];
  }
  if (!canDo(current.status, 'close')) throw invalidTransition(current, 'close');
  assertReasonCodes(deps, 'CLOSE', [reason_code]);
  const batch = startBatch(state);
  record(batch, { type: 'CaseClosed', data: { case_id, reason_code, comment, actor, closed_at: at } });
  changeStatus(batch, 'CLOSED', 'closed', at);
  return batch.events;
}

function reopenCase(deps: CaseDeciderDependencies, command: ReopenCase, state: CaseState): CaseEvent[] {
  const { case_id, reason_code, comment, actor, at } = command.data;
  const current = requireCase(state, case_id);
  const last = current.last_reopening;
  if (
    current.status !== 'CLOSED' &&
    last !== null &&
    last.by === personOf(actor) &&
    last.reason_code === reason_code &&
    last.comment === comment
  ) {
    return [];
  }
  if (!canDo(current.status, 'reopen')) throw invalidTransition(current, 'reopen');
  assertReasonCodes(deps, 'REOPEN', [reason_code]);
  const batch = startBatch(state);
  record(batch, { type: 'CaseReopened', data: { case_id, reason_code, comment, actor, reopened_at: at } });
  changeStatus(batch, allDocumentsResolved(current) ? 'PENDING_REVIEW' : 'OPEN', 'reopened', at);
  return batch.events;
}

function overrideRisk(command: OverrideRisk, state: CaseState): CaseEvent[] {
  const { case_id, rating, reason, actor, at } = command.data;
  const current = requireCase(state, case_id);
  if (!(RISK_RATINGS as readonly string[]).includes(rating)) {
    throw new DomainError(CaseErrorCodes.RiskUnknownRating, `unknown risk rating ${rating}`, {
      rating,
      allowed: [...RISK_RATINGS],
    });
  }
  const override = current.risk.override;
  if (
    override !== null &&
    override.rating === rating &&
    override.reason === reason &&
    override.by === personOf(actor)
  ) {
    return [];
  }
  if (!RISK_OVERRIDE_STATUSES.includes(current.status)) throw invalidTransition(current, 'override_risk');
  return [
    {
      type: 'RiskOverridden',
      data: {
        case_id,
        rating: rating as RiskRating,
        computed_rating: current.risk.computed?.rating ?? null,
        reason,
        actor,
        overridden_at: at,
      },
    },
  ];
}
