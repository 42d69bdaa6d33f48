/**
 * Server-side event filters for `$all` reads and subscriptions: by stream name or event type, by
 * prefixes or a regular expression. On `$all` every filter also applies the server's default
 * filter, which hides `$epoch-information` and the checkpoint and parked streams of persistent
 * subscriptions to `$all`; other system events pass.
 */
export type EventFilter = {
  /** Whether an event of this stream and type is delivered. */
  allows(stream: string, type: string): boolean;
};

const PS_ALL_PREFIX = '$persistentsubscription-$all::';

/** The server's `DefaultAllFilter`. */
export function defaultAllFilterAllows(stream: string): boolean {
  if (!stream.startsWith('$')) return true;
  if (stream === '$epoch-information') return false;
  if (stream.startsWith(PS_ALL_PREFIX) && (stream.endsWith('-checkpoint') || stream.endsWith('-parked'))) {
    return false;
  }
  return true;
}

export type FilterSpec = {
  on: 'stream' | 'type';
  prefixes: readonly string[];
  /** When set (non-empty), takes precedence over prefixes, as on the server. */
  regex: string | undefined;
};

/** Builds a filter; throws SyntaxError for an invalid regular expression. */
export function createFilter(spec: FilterSpec): EventFilter {
  const subject = spec.on === 'stream' ? (stream: string) => stream : (_: string, type: string) => type;
  if (spec.regex !== undefined && spec.regex !== '') {
    const regex = new RegExp(spec.regex);
    return {
      allows: (stream, type) => defaultAllFilterAllows(stream) && regex.test(subject(stream, type)),
    };
  }
  const prefixes = [...spec.prefixes];
  return {
    allows(stream, type) {
      if (!defaultAllFilterAllows(stream)) return false;
      const value = subject(stream, type);
      for (const prefix of prefixes) if (value.startsWith(prefix)) return true;
      return false;
    },
  };
}
