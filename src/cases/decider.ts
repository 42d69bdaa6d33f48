import type { Decider } from '../eventsourcing/core/decider.ts';
import { DomainError } from '../eventsourcing/core/errors.ts';
import type { CaseCommand, ChangeDocumentStatus, DetermineRequirements, OpenCase } from './commands.ts';
import {
  allowedTransitions,
  canTransition,
  type DocumentStatus,
  type EntityType,
  isDocumentStatus,
  isResolved,
} from './documents.ts';
import { CaseErrorCodes } from './errors.ts';
import type { Actor, CaseEvent, CaseStatus, IntakeWarning } from './events.ts';
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
  beneficial_owners: Readonly<Record<string, { is_ubo: boolean }>>;
  requirements: Readonly<Record<string, RequirementState>>;
  notifications: number;
};

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
    };
  }
  // Anything else before CaseOpened cannot come from our decider; ignore it rather than invent a case.
  if (state.status === 'NONE') return state;
  switch (event.type) {
    case 'CompanyRegistered':
      return state;
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
          [event.data.beneficial_owner_id]: { is_ubo: event.data.is_ubo },
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
    case 'CaseStatusChanged':
      return { ...state, status: event.data.new_status };
    case 'NotificationRequired':
      return { ...state, notifications: state.notifications + 1 };
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

/**
 * A case with at least one requirement, all verified or not applicable, is ready for review; one
 * with an outstanding requirement is open. Moving into review notifies; moving back does not.
 */
function checkReadiness(deps: CaseDeciderDependencies, batch: Batch, at: string, resolve: Resolve): void {
  const current = opened(batch);
  const requirements = Object.values(current.requirements);
  const ready = requirements.length > 0 && requirements.every((r) => isResolved(r.status));
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
