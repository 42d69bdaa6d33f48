/**
 * A broken business rule. `code` is stable (e.g. `document.invalid_transition`) so that adapters
 * can map it (HTTP status, DLQ reason) without parsing messages.
 */
export class DomainError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
  }
}
