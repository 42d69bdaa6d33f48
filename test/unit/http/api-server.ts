import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { ApiKey } from '../../../src/app/config.ts';
import { IntakeSchema, validateIntake } from '../../../src/cases/intake.ts';
import { DomainError } from '../../../src/eventsourcing/core/errors.ts';
import { createAuthenticator } from '../../../src/http/auth.ts';
import type {
  CaseCommands,
  CaseQueries,
  CommandContext,
  Doc,
  Operations,
  RefusedIntake,
} from '../../../src/http/ports.ts';
import { adminRoutes } from '../../../src/http/routes/admin.ts';
import { caseRoutes } from '../../../src/http/routes/cases.ts';
import { documentRoutes } from '../../../src/http/routes/documents.ts';
import { partyRoutes } from '../../../src/http/routes/parties.ts';
import { buildServer } from '../../../src/http/server.ts';

/** What the fake ports saw, for assertions. */
export type Recorded = {
  opened: { intake: unknown; context: CommandContext }[];
  refused: { refusal: RefusedIntake; context: CommandContext }[];
  statusChanges: { documentId: string; change: unknown }[];
  pages: { limit: number; skip: number }[];
};

export type ApiServerOptions = {
  keys?: ApiKey[];
  commands?: Partial<CaseCommands>;
  queries?: Partial<CaseQueries>;
  operations?: Partial<Operations>;
};

const document: Doc = { id: 'doc-1', case_id: 'case-1', status: 'AWAITING_UPLOAD', version: 1 };

/**
 * The whole HTTP API (every resource plugin, the real server, auth and error mapping) over fake
 * ports that answer from constants, so routes can be driven with `inject` without any process.
 * A port can be replaced piecemeal, e.g. to make it throw a given DomainError.
 */
export async function apiServer(
  options: ApiServerOptions = {},
): Promise<{ app: FastifyInstance; recorded: Recorded }> {
  const recorded: Recorded = { opened: [], refused: [], statusChanges: [], pages: [] };
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
    async caseEvents(caseId) {
      return caseId === 'case-1' ? [{ event_type: 'CaseOpened' }] : undefined;
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
      return [{ id: 'case-1' }];
    },
    async getCase(caseId) {
      return caseId === 'case-1' ? { id: 'case-1' } : undefined;
    },
    async personsOfCase(_caseId, page) {
      recorded.pages.push(page);
      return [];
    },
    async getCompany(companyId) {
      return companyId === 'company-1' ? { id: 'company-1' } : undefined;
    },
    async ownersOfCompany() {
      return [];
    },
    async getDocument(documentId) {
      return documentId === 'doc-1' ? document : undefined;
    },
    async documentsOfCase() {
      return [document];
    },
    async rawIntake(page) {
      recorded.pages.push(page);
      return [];
    },
    ...options.queries,
  };
  const operations: Operations = {
    async projections() {
      return { projections: [] };
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
      caseRoutes(commands, queries, IntakeSchema),
      documentRoutes(commands, queries),
      partyRoutes(queries),
      adminRoutes(operations),
    ],
  });
  return { app, recorded };
}
