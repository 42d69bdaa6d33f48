import type { Static, TSchema } from 'typebox';
import Compile from 'typebox/compile';
import { EventValidationError, UnknownEventTypeError } from './errors.ts';
import type { DomainEvent } from './events.ts';

/** Turns data of version N into data of version N + 1. Pure; may throw on data it cannot read. */
export type Upcaster = (data: unknown) => unknown;

/**
 * One event type: its stable name, the current version of its data and that version's schema,
 * plus one upcaster per older version (keyed by the version it upgrades *from*).
 */
export type EventDefinition<Type extends string = string, Schema extends TSchema = TSchema> = {
  readonly type: Type;
  readonly version: number;
  readonly schema: Schema;
  readonly upcasters: Readonly<Record<number, Upcaster>>;
};

/** The domain event an event definition describes. */
export type EventOf<D> =
  D extends EventDefinition<infer Type, infer Schema> ? DomainEvent<Type, Static<Schema>> : never;

/**
 * Declares an event type. `version` defaults to 1; a changed data shape gets a new version and
 * an upcaster from the previous one (`upcast: { 1: (v1) => v2 }`). Throws when an upcaster is
 * missing for a version below the current one.
 */
export function defineEvent<const Type extends string, Schema extends TSchema>(definition: {
  type: Type;
  schema: Schema;
  version?: number;
  upcast?: Readonly<Record<number, Upcaster>>;
}): EventDefinition<Type, Schema> {
  const version = definition.version ?? 1;
  if (!Number.isInteger(version) || version < 1) throw new Error(`${definition.type}: version must be ≥ 1`);
  const upcasters = definition.upcast ?? {};
  for (let v = 1; v < version; v++) {
    if (!upcasters[v]) throw new Error(`${definition.type}: missing upcaster from v${v} to v${v + 1}`);
  }
  return { type: definition.type, version, schema: definition.schema, upcasters };
}

/** Data ready to be written: the type, the validated data and the schema version to record. */
export type EncodedEvent = { type: string; data: unknown; schemaVersion: number };

/**
 * The set of event types of one bounded context. `encode` validates before an append, `decode`
 * upcasts then validates after a read, so code past the registry only sees current, valid data.
 */
export type EventRegistry<E extends DomainEvent = DomainEvent> = {
  readonly types: readonly E['type'][];
  has(type: string): boolean;
  /** Current schema version of a type; throws UnknownEventTypeError for an unknown type. */
  versionOf(type: string): number;
  /** Throws EventValidationError when the data does not match the current schema. */
  encode(event: E): EncodedEvent;
  /**
   * Upcasts from `schemaVersion` to the current version, then validates. Throws
   * UnknownEventTypeError (unknown type, or a version newer than ours) or EventValidationError.
   */
  decode(type: string, data: unknown, schemaVersion: number): E;
};

type Entry = {
  definition: EventDefinition;
  check(value: unknown): boolean;
  violations(value: unknown): { path: string; message: string }[];
};

/** Builds a registry; throws when two definitions share a type name. */
export function createEventRegistry<const Defs extends readonly EventDefinition<string, TSchema>[]>(
  definitions: Defs,
): EventRegistry<EventOf<Defs[number]>> {
  type E = EventOf<Defs[number]>;
  const entries = new Map<string, Entry>();
  for (const definition of definitions) {
    if (entries.has(definition.type)) throw new Error(`event type ${definition.type} is defined twice`);
    const validator = Compile(definition.schema);
    entries.set(definition.type, {
      definition,
      check: (value) => validator.Check(value),
      violations: (value) =>
        validator.Errors(value).map((error) => ({ path: error.instancePath, message: error.message })),
    });
  }

  function entryOf(type: string, schemaVersion?: number): Entry {
    const entry = entries.get(type);
    if (!entry) throw new UnknownEventTypeError(type, schemaVersion);
    return entry;
  }

  function validated(entry: Entry, data: unknown): unknown {
    if (!entry.check(data)) {
      throw new EventValidationError(entry.definition.type, entry.definition.version, entry.violations(data));
    }
    return data;
  }

  /**
   * The data as a reader will get it back: through JSON. Validating this rather than the object
   * in hand is what makes a stored event valid by construction: an `undefined` field, a `NaN` or
   * a value JSON cannot carry would otherwise pass here and fail every read after.
   */
  function asStored(entry: Entry, data: unknown): unknown {
    try {
      const text = JSON.stringify(data);
      if (text === undefined) throw new Error('the data is not JSON');
      return JSON.parse(text);
    } catch (error) {
      throw new EventValidationError(entry.definition.type, entry.definition.version, [
        { path: '', message: `cannot be stored as JSON: ${(error as Error).message}` },
      ]);
    }
  }

  return {
    types: definitions.map((d) => d.type) as E['type'][],
    has: (type) => entries.has(type),
    versionOf: (type) => entryOf(type).definition.version,
    encode(event) {
      const entry = entryOf(event.type);
      return {
        type: event.type,
        data: validated(entry, asStored(entry, event.data)),
        schemaVersion: entry.definition.version,
      };
    },
    decode(type, data, schemaVersion) {
      const entry = entryOf(type, schemaVersion);
      const { version, upcasters } = entry.definition;
      if (!Number.isInteger(schemaVersion) || schemaVersion < 1 || schemaVersion > version) {
        throw new UnknownEventTypeError(
          type,
          schemaVersion,
          `cannot be read (current version is v${version})`,
        );
      }
      let current = data;
      for (let v = schemaVersion; v < version; v++) current = upcasters[v]!(current);
      return { type, data: validated(entry, current) } as E;
    },
  };
}
