/**
 * Which fields of an event type hold personal data, and whose. The protection layer
 * (`eventsourcing/protection`) encrypts those fields before an append under a key of the
 * (scope, subject) pair, and puts them back after a read; once that key is destroyed, readers
 * get `placeholders` instead, so a replay after erasure is deterministic.
 *
 * Scope and subject must be ids, never personal data themselves: they are stored in clear
 * beside the ciphertext and in the key store.
 */
export type PersonalDataDeclaration = {
  /** What the key belongs to for erasure, usually the case id; all keys of a scope can be listed. */
  scope(data: Readonly<Record<string, unknown>>, stream: string): string;
  /** The data subject within the scope (a person id, a receipt id). */
  subject(data: Readonly<Record<string, unknown>>, stream: string): string;
  /**
   * The top-level fields that are personal, each with the value readers get once the subject's
   * key is destroyed. A placeholder must satisfy the event's schema (a string for a string field).
   */
  placeholders: Readonly<Record<string, unknown>>;
};

/** Declarations by event type; types not listed are stored as they are. */
export type PersonalDataDeclarations = Readonly<Record<string, PersonalDataDeclaration>>;

/**
 * Which top-level fields of a read model's documents hold personal data, and whose. The
 * protection layer seals them in the read store under the key of (scope, subject), the same key
 * as the events they were projected from, so destroying it erases the documents at once.
 */
export type DocumentPersonalDataDeclaration = {
  scope(document: Readonly<Record<string, unknown>>): string;
  subject(document: Readonly<Record<string, unknown>>): string;
  /**
   * The personal fields, each with the value readers get once the key is destroyed: what the
   * projection makes of the erased event, so a rebuild after erasure reads the same.
   */
  placeholders: Readonly<Record<string, unknown>>;
};

/** Declarations by logical collection; collections not listed are stored as they are. */
export type DocumentPersonalDataDeclarations = Readonly<Record<string, DocumentPersonalDataDeclaration>>;
