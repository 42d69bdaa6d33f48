/**
 * A broken business rule. `code` is stable (e.g. `document.invalid_transition`) so that adapters
 * can map it (HTTP status, DLQ reason) without parsing messages.
 */
export class DomainError extends Error {
  readonly code: string;
  readonly details: Readonly<Record<string, unknown>>;
  /** The same request may succeed later (a busy case, an unreachable dependency): retry, do not give up. */
  readonly transient: boolean;

  constructor(
    code: string,
    message: string,
    details: Record<string, unknown> = {},
    options: { transient?: boolean; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DomainError';
    this.code = code;
    this.details = details;
    this.transient = options.transient ?? false;
  }
}

/**
 * Whether an error says "try again later": any error marked `transient` (an unreachable event
 * store, a busy case, a read store timeout). Everything else will fail the same way on a retry.
 */
export function isTransient(error: unknown): boolean {
  return error instanceof Error && (error as { transient?: unknown }).transient === true;
}

/** One schema violation: where in the data and what is wrong. */
export type SchemaViolation = { path: string; message: string };

/**
 * Event data that does not match its schema: on append it is a bug in `decide`, on read a
 * poison event (the projector stops on it and reports this error's message).
 */
export class EventValidationError extends Error {
  readonly code = 'event.invalid';
  readonly eventType: string;
  readonly schemaVersion: number;
  readonly violations: readonly SchemaViolation[];

  constructor(eventType: string, schemaVersion: number, violations: readonly SchemaViolation[]) {
    const first = violations[0];
    super(
      `${eventType} v${schemaVersion} does not match its schema` +
        (first ? `: ${first.path || '/'} ${first.message}` : ''),
    );
    this.name = 'EventValidationError';
    this.eventType = eventType;
    this.schemaVersion = schemaVersion;
    this.violations = violations;
  }
}

/** An event type the registry does not know, or a stored version it cannot upcast from. */
export class UnknownEventTypeError extends Error {
  readonly code = 'event.unknown_type';
  readonly eventType: string;
  readonly schemaVersion: number | undefined;

  constructor(eventType: string, schemaVersion?: number, reason = 'is not registered') {
    super(`event type ${eventType}${schemaVersion === undefined ? '' : ` v${schemaVersion}`} ${reason}`);
    this.name = 'UnknownEventTypeError';
    this.eventType = eventType;
    this.schemaVersion = schemaVersion;
  }
}
