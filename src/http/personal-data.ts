import type { FastifyRequest } from 'fastify';
import type { AccessLog, PersonalDataAccess } from './ports.ts';

/**
 * Reports that a route answered with personal data of a case. Only queues the record (see
 * AccessLog): the answer never waits for the audit store, nor fails with it.
 */
export function recordPersonalDataRead(
  access: AccessLog,
  request: FastifyRequest,
  caseId: string,
  subjects: PersonalDataAccess['subjects'],
): void {
  if (subjects.length === 0) return;
  const correlation = request.headers['x-correlation-id'];
  try {
    access.record({
      caseId,
      reader: request.caller.name,
      route: `${request.method} ${request.routeOptions.url ?? request.url}`,
      subjects,
      correlationId: typeof correlation === 'string' && correlation !== '' ? correlation : request.id,
    });
  } catch (error) {
    // The answer goes out all the same; the missing record is an error in the log.
    request.log.error({ err: error, case_id: caseId }, 'could not record a personal-data read');
  }
}
