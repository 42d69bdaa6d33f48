import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { ApiKey } from '../../../src/app/config.ts';
import type {
  CaseCommands,
  CaseQueries,
  CommandContext,
  Doc,
  RefusedIntake,
  ReviewCommands,
  ReviewReceipt,
} from '../../../src/cases/application/ports.ts';
import { IntakeSchema, validateIntake } from '../../../src/cases/intake.ts';
import { parseReasonCodes, type ReasonCodes } from '../../../src/cases/review.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import { createAuthenticator } from '../../../src/http/auth.ts';
import type { AccessLog, Operations, PersonalDataAccess } from '../../../src/http/ports.ts';
import { adminRoutes } from '../../../src/http/routes/admin.ts';
import { caseRoutes } from '../../../src/http/routes/cases.ts';
import { consoleRoutes } from '../../../src/http/routes/console.ts';
import { documentRoutes } from '../../../src/http/routes/documents.ts';
import { partyRoutes } from '../../../src/http/routes/parties.ts';
import { reviewRoutes } from '../../../src/http/routes/review.ts';
import { timelineRoutes } from '../../../src/http/routes/timeline.ts';
import { buildServer } from '../../../src/http/server.ts';

/** What the fake ports saw, for assertions. */
export type Recorded = {
  opened: { intake: unknown; context: CommandContext }[];
  refused: { refusal: RefusedIntake; context: CommandContext }[];
  statusChanges: { documentId: string; change: unknown }[];
  /** Review commands: which one, on which case, with what body, as whom. */
  reviews: { command: string; caseId: string; body: unknown; context: CommandContext }[];
  pages: { limit: number; skip: number }[];
  reads: PersonalDataAccess[];
};

export type ApiServerOptions = {
  keys?: ApiKey[];
  commands?: Partial<CaseCommands>;
  queries?: Partial<CaseQueries>;
  review?: Partial<ReviewCommands>;
  operations?: Partial<Operations>;
  /** Where reads of personal data go; by default into `recorded.reads`. */
  access?: AccessLog;
};

const at = '2026-01-02T03:04:05.000Z';

const parsedReasonCodes = parseReasonCodes(
  JSON.parse(readFileSync(new URL('../../../src/cases/rules/reason-codes.json', import.meta.url), 'utf8')),
);
if (!parsedReasonCodes.ok) throw new Error(JSON.stringify(parsedReasonCodes.violations));
const reasonCodes: ReasonCodes = parsedReasonCodes.value;

/** Read-model documents as the projections build them, so the response schemas can serialise them. */
export const fixtures = {
  processor: {
    name: 'cases',
    kind: 'projector',
    state: 'running',
    phase: 'live',
    position: { commit: '10', prepare: '10' },
    handledEvents: 3,
    failures: [],
    rebuilds: [],
    details: {},
    lag: { events: 0, eventsAtLeast: false, seconds: 0, head: null },
    rebuildSupport: { supported: true },
    rebuilding: false,
    rebuildError: null,
    lease: {
      mode: 'auto',
      role: 'leader',
      holder: 'api-7f9c-1a2b3c4d',
      token: 4,
      expires_at: '2026-01-01T00:00:15.000Z',
    },
  },
  case: {
    id: 'case-1',
    client_id: 'kyc-client-001',
    version: '1.0',
    type: 'INDIVIDUAL_STANDARD',
    traitement_type: 'KYC',
    company_id: null,
    status: 'OPEN',
    idempotency_key: 'key-1',
    persons_count: 1,
    beneficial_owners_count: 0,
    documents_total: 1,
    document_counts: {
      AWAITING_UPLOAD: 1,
      UPLOADED: 0,
      VERIFIED_SYSTEM: 0,
      VERIFIED_MANUAL: 0,
      REJECTED: 0,
      NOT_APPLICABLE: 0,
    },
    intake_warnings: [],
    assignee: null,
    risk: {
      computed: 'LOW',
      score: 0,
      factors: [],
      rules_version: '2026-12.1',
      rated_at: at,
      override: null,
      effective: 'LOW',
    },
    approvals: [],
    last_decision: null,
    status_since: at,
    time_in_status: {
      OPEN: 0,
      PENDING_REVIEW: 0,
      IN_REVIEW: 0,
      MORE_INFORMATION_REQUESTED: 0,
      APPROVED: 0,
      REJECTED: 0,
      CLOSED: 0,
    },
    in_review_queue: false,
    review_queue_since: null,
    created_at: at,
    updated_at: at,
  },
  person: {
    id: 'person-1',
    case_id: 'case-1',
    company_id: null,
    firstname: 'John',
    lastname: 'Doe',
    birthdate: '1990-01-15',
    role_in_company: null,
    created_at: at,
    updated_at: at,
  },
  company: {
    id: 'company-1',
    case_id: 'case-2',
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
    created_at: at,
    updated_at: at,
  },
  owner: {
    id: 'owner-1',
    company_id: 'company-1',
    case_id: 'case-2',
    firstname: 'Ultimate',
    lastname: 'Owner',
    birthdate: '1975-11-10',
    role_in_company: null,
    ownership_percentage: 75,
    types_of_control: ['SHAREHOLDING_OVER_25'],
    is_ubo: true,
    created_at: at,
    updated_at: at,
  },
  document: {
    id: 'doc-1',
    case_id: 'case-1',
    entity_id: 'person-1',
    entity_type: 'PERSON',
    document_type: 'PASSPORT',
    status: 'AWAITING_UPLOAD',
    is_required: true,
    metadata: null,
    notes: [],
    version: 1,
    rule_ids: ['kyc-passport'],
    updated_by: null,
    created_at: at,
    updated_at: at,
  },
  rawIntake: {
    id: 'receipt-1',
    event_type: 'HTTP_INTAKE_RECEIVED',
    payload: { client_id: 'kyc-client-001' },
    raw_text: null,
    received_at: at,
    processed_at: at,
    source: 'http',
    transport: { method: 'POST', path: '/api/v1/cases' },
    idempotency_key: 'key-1',
    outcome: 'case_opened',
    case_id: 'case-1',
    violations: [],
    error_code: null,
  },
  timelineEntry: {
    id: '00000000-0000-4000-8000-000000000002',
    case_id: 'case-1',
    at,
    sequence: '00000000000000000011',
    stream: 'case-case-1',
    revision: 1,
    event_type: 'DocumentStatusChanged',
    category: 'document',
    actor: { type: 'USER', id: 'analyst-042' },
    subject: { type: 'DOCUMENT', id: 'doc-1' },
    summary: 'PASSPORT: AWAITING_UPLOAD → UPLOADED',
    before: { status: 'AWAITING_UPLOAD' },
    after: { status: 'UPLOADED' },
    reason_codes: [],
    comment: null,
    why: null,
  },
  event: {
    event_id: '00000000-0000-4000-8000-000000000001',
    event_type: 'CaseOpened',
    aggregate_id: 'case-1',
    revision: '0',
    position: '10-10',
    timestamp: at,
    payload: { case_id: 'case-1' },
    metadata: {},
  },
} satisfies Record<string, Record<string, unknown>>;

const document: Doc = fixtures.document;
/** A page holding every item there is. */
const whole = (items: Doc[]) => ({ items, total: items.length });

/**
 * The whole HTTP API (every resource plugin, the real server, auth and error mapping) over fake
 * ports that answer from constants, so routes can be driven with `inject` without any process.
 * A port can be replaced piecemeal, e.g. to make it throw a given DomainError.
 */
export async function apiServer(
  options: ApiServerOptions = {},
): Promise<{ app: FastifyInstance; recorded: Recorded }> {
  const recorded: Recorded = {
    opened: [],
    refused: [],
    statusChanges: [],
    pages: [],
    reviews: [],
    reads: [],
  };
  const access = options.access ?? { record: (read: PersonalDataAccess) => void recorded.reads.push(read) };
  const receipt = { position: '10-10', revision: '0' };
  const commands: CaseCommands = {
    async openCase(intake, context) {
      const checked = validateIntake(intake);
      if (!checked.ok) {
        throw new DomainError('intake.invalid', 'The intake message is invalid', {
          violations: checked.violations,
        });
      }
      recorded.opened.push({ intake, context });
      return { case_id: 'case-1', ...receipt };
    },
    async determineRequirements() {
      return { ...receipt, requirement_ids: ['doc-1'] };
    },
    async changeDocumentStatus(documentId, change) {
      recorded.statusChanges.push({ documentId, change });
      return { position: '11-11', revision: '1' };
    },
    async caseEvents(caseId, { fromRevision, limit }) {
      if (caseId !== 'case-1') return undefined;
      return { items: [fixtures.event].slice(fromRevision, fromRevision + limit), total: 1 };
    },
    async recordRefusedIntake(refusal, context) {
      recorded.refused.push({ refusal, context });
    },
    ...options.commands,
  };
  const queries: CaseQueries = {
    async waitForPosition() {
      return true;
    },
    async listCases(_filter, page) {
      recorded.pages.push(page);
      return whole([fixtures.case]);
    },
    async getCase(caseId) {
      return caseId === 'case-1' ? fixtures.case : undefined;
    },
    async personsOfCase(_caseId, page) {
      recorded.pages.push(page);
      return whole([fixtures.person]);
    },
    async getCompany(companyId) {
      return companyId === 'company-1' ? fixtures.company : undefined;
    },
    async ownersOfCompany() {
      return whole([fixtures.owner]);
    },
    async getDocument(documentId) {
      return documentId === 'doc-1' ? document : undefined;
    },
    async documentsOfCase() {
      return whole([document]);
    },
    async rawIntake(page) {
      recorded.pages.push(page);
      return whole([fixtures.rawIntake]);
    },
    async timelineOfCase(_caseId, _filter, page) {
      recorded.pages.push(page);
      return whole([fixtures.timelineEntry]);
    },
    ...options.queries,
  };
  const reviewed =
    (command: string) =>
    async (caseId: string, body: unknown, context: CommandContext): Promise<ReviewReceipt> => {
      recorded.reviews.push({ command, caseId, body, context });
      if (caseId !== 'case-1')
        throw new DomainError('case.not_found', `no case ${caseId}`, { case_id: caseId });
      return { ...receipt, case_id: caseId, status: 'IN_REVIEW', changed: true };
    };
  const review: ReviewCommands = {
    assignCase: reviewed('assignCase'),
    recordDecision: reviewed('recordDecision'),
    closeCase: reviewed('closeCase'),
    reopenCase: reviewed('reopenCase'),
    overrideRisk: reviewed('overrideRisk'),
    ...options.review,
  };
  const operations: Operations = {
    async processors() {
      return [fixtures.processor];
    },
    async processor(name) {
      return name === fixtures.processor.name
        ? { outcome: 'done', report: fixtures.processor }
        : { outcome: 'not_found', known: [fixtures.processor.name] };
    },
    async retryProcessor(name) {
      return name === fixtures.processor.name
        ? { outcome: 'done', events: [] }
        : { outcome: 'not_found', known: [fixtures.processor.name] };
    },
    async skipProcessorEvent(name, eventId) {
      return name === fixtures.processor.name
        ? { outcome: 'done', skipped: eventId }
        : { outcome: 'not_found', known: [fixtures.processor.name] };
    },
    rebuildProcessor(name) {
      return name === fixtures.processor.name
        ? { outcome: 'done', rebuilding: name }
        : { outcome: 'not_found', known: [fixtures.processor.name] };
    },
    async projections() {
      return {
        state: 'running',
        healthy: true,
        failure: null,
        projections: [],
        lag: {},
        readiness: { status: 'up' },
      };
    },
    retryProjections: () => true,
    async skipEvent() {
      return true;
    },
    startRebuild: () => ({ started: true }),
    async parked() {
      return [];
    },
    async replayParked() {
      return true;
    },
    async deadLetters() {
      return { total: 0, letters: [] };
    },
    ...options.operations,
  };
  const app = await buildServer({
    logger: pino({ level: 'silent' }),
    auth: createAuthenticator(options.keys ?? []),
    health: async () => ({ eventStore: { status: 'up' } }),
    resources: [
      caseRoutes(commands, queries, IntakeSchema, access),
      documentRoutes(commands, queries),
      partyRoutes(queries, access),
      reviewRoutes(
        review,
        {
          waitForPosition: queries.waitForPosition,
          async reviewQueue(_filter, page) {
            recorded.pages.push(page);
            return { items: [fixtures.case], total: 1 };
          },
        },
        reasonCodes,
      ),
      timelineRoutes(queries),
      consoleRoutes,
      adminRoutes(operations),
    ],
  });
  return { app, recorded };
}
