/**
 * The one reader of process.env. Every variable is declared once below (name, default, meaning),
 * converted explicitly, and every invalid one is reported in a single error. The defaults make
 * the embedded mode work with no environment at all. README's configuration table is checked
 * against this list by a test.
 */

import { type ApiKey, ROLES, type Role } from '../http/auth.ts';

export type { ApiKey, Role };
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'pretty' | 'json';

export type Config = {
  host: string;
  port: number;
  logLevel: LogLevel;
  /** undefined = pretty when stdout is a terminal, JSON otherwise (decided where the logger is made). */
  logFormat: LogFormat | undefined;
  /** esdb:// connection string of a real server; undefined = start the embedded emulator. */
  eventStoreUrl: string | undefined;
  /** Where the embedded emulator keeps its log. */
  dataDir: string;
  /** Appends arriving together share one fsync; false syncs each on its own (comparisons only). */
  eventLogGroupCommit: boolean;
  /** undefined = in-memory read models rebuilt from the log at start. */
  mongoUrl: string | undefined;
  mongoDatabase: string;
  /**
   * Who runs the processors (a projector per read model, the notification publisher): 'auto' the
   * replica holding each one's lease; 'on' this replica, always; 'off' never (another does).
   */
  projector: 'auto' | 'on' | 'off';
  /** Lease timing of `auto` (see the leadership README). */
  lease: { ttlMs: number; renewAfterMs: number; marginMs: number };
  /** undefined = host name plus a random suffix, made once per process. */
  replicaId: string | undefined;
  configServiceUrl: string | undefined;
  configServiceTimeoutMs: number;
  apiKeys: readonly ApiKey[];
  /** undefined = the Kafka bridge is off. */
  kafka: KafkaConfig | undefined;
  /** OTLP endpoint for traces; undefined = spans are not exported. */
  otlpEndpoint: string | undefined;
  /** Readiness fails when the read models are further behind than this. */
  readyMaxProjectionLagSeconds: number;
  /** Case streams whose folded state commands keep in memory; 0 = no cache. */
  commandCacheMaxEntries: number;
  /** Upper bound on that cache's estimated size. */
  commandCacheMaxBytes: number;
  personalData: PersonalDataConfig;
  /** How long case records are kept after the business relationship ends, under which rule. */
  retention: { rule: string; years: number };
  /** Days a refused intake message (no case) is kept from its receipt before the due job erases it. */
  rejectedIntakeRetentionDays: number;
  /** How often the erasure due job runs; 0 = never (run it from outside). */
  erasureJobIntervalSeconds: number;
  /** An erasure due for longer than this counts as overdue in the metrics. */
  erasureOverdueAfterSeconds: number;
};

/** A key-encryption key: wraps the per-subject data keys that encrypt personal data. */
export type KekConfig = { id: string; key: Buffer };

export type PersonalDataConfig = {
  /** undefined only in the embedded mode: a KEK is then generated into DATA_DIR. */
  kek: KekConfig | undefined;
  /** KEKs being rotated away from: keys they still wrap are rewrapped at start. */
  previousKeks: readonly KekConfig[];
};

export type KafkaConfig = {
  brokers: readonly string[];
  clientId: string;
  groupId: string;
  inboundTopic: string;
  dlqTopic: string;
  notificationTopic: string;
  topicPartitions: number;
  createTopics: boolean;
  maxMessageBytes: number;
  /** `retention.ms` of the intake and notification topics the service creates. */
  topicRetentionMs: number;
  /** `retention.ms` of the dead-letter topic the service creates. */
  dlqRetentionMs: number;
  /** Intake messages of one partition in hand at once (different cases); 1 = strictly in order. */
  intakeConcurrency: number;
};

export type Variable = { name: string; default: string; meaning: string };

/** Every environment variable the service reads. */
export const variables: readonly Variable[] = [
  { name: 'HOST', default: '127.0.0.1', meaning: 'Address the HTTP API binds to.' },
  { name: 'PORT', default: '8080', meaning: 'Port of the HTTP API.' },
  { name: 'LOG_LEVEL', default: 'info', meaning: 'fatal, error, warn, info, debug, trace or silent.' },
  {
    name: 'LOG_FORMAT',
    default: '(unset)',
    meaning:
      'pretty (coloured, one readable line per entry) or json (one JSON object per line). Unset: pretty when standard output is a terminal, json otherwise.',
  },
  {
    name: 'EVENTSTORE_URL',
    default: '(unset)',
    meaning:
      'EventStoreDB/KurrentDB connection string (esdb://…). Unset: the embedded EventStoreDB-compatible server runs in-process.',
  },
  { name: 'DATA_DIR', default: './data', meaning: 'Directory of the embedded event store log.' },
  {
    name: 'EVENT_LOG_GROUP_COMMIT',
    default: 'true',
    meaning:
      'true: appends to the embedded event store arriving together share one write and one fsync, each acknowledged after the fsync that covers it. false: one fsync per append (for comparisons).',
  },
  {
    name: 'MONGODB_URL',
    default: '(unset)',
    meaning: 'MongoDB connection string for the read models. Unset: in-memory read models rebuilt at start.',
  },
  { name: 'MONGODB_DATABASE', default: 'kyc_cases', meaning: 'Database of the read models.' },
  {
    name: 'PROJECTOR',
    default: 'auto with MONGODB_URL, else on',
    meaning:
      'Who runs each processor (a projector per read model, the notification publisher). auto: the replica holding its lease (collection `_leases`); every replica runs the same configuration and another takes over when one goes; needs MONGODB_URL. on: this replica, always (one replica only). off: never; it only serves the read models another replica projects; needs MONGODB_URL.',
  },
  {
    name: 'LEASE_TTL_MS',
    default: '15000',
    meaning:
      'PROJECTOR=auto: how long a lease holds after each renewal; a dead leader is replaced within about this plus LEASE_RENEW_AFTER_MS.',
  },
  {
    name: 'LEASE_RENEW_AFTER_MS',
    default: '5000',
    meaning:
      'PROJECTOR=auto: a leader renews its lease this long after the last renewal; followers look this often. LEASE_RENEW_AFTER_MS + LEASE_MARGIN_MS < LEASE_TTL_MS.',
  },
  {
    name: 'LEASE_MARGIN_MS',
    default: '5000',
    meaning:
      'PROJECTOR=auto: a leader that could not renew stops this long before its lease ends (allowance for clock difference and pauses).',
  },
  {
    name: 'REPLICA_ID',
    default: '(host name + random suffix)',
    meaning:
      'Names this process in leases and status; must differ between running processes. Unset: host name (the pod name) plus a random suffix.',
  },
  {
    name: 'CONFIG_SERVICE_URL',
    default: '(unset)',
    meaning:
      'Base URL of the notification-rules service (POST {url}/rules/match). Unset: the bundled rules file.',
  },
  {
    name: 'CONFIG_SERVICE_TIMEOUT_MS',
    default: '5000',
    meaning: 'Timeout of one configuration-service call.',
  },
  {
    name: 'API_KEYS',
    default: '(unset)',
    meaning:
      'Comma-separated name:role:secret entries, role one of reader, operator, reviewer, approver, admin (each may do what the ones before it may; the name is the person recorded on events), secret at least 16 characters (`openssl rand -hex 16`); names unique. Unset: no authentication, loopback only.',
  },
  {
    name: 'KAFKA_BROKERS',
    default: '(unset)',
    meaning: 'Comma-separated host:port list. Unset: the Kafka bridge is off (said once in the log).',
  },
  { name: 'KAFKA_CLIENT_ID', default: 'kyc-case-service', meaning: 'Kafka client id.' },
  { name: 'KAFKA_GROUP_ID', default: 'kyc-case-service', meaning: 'Consumer group of the intake bridge.' },
  { name: 'KAFKA_INBOUND_TOPIC', default: 'kyc_events', meaning: 'Topic the intake messages arrive on.' },
  {
    name: 'KAFKA_DLQ_TOPIC',
    default: 'kyc_events.dlq',
    meaning: 'Dead-letter topic: intake messages that cannot be processed, with the reason in headers.',
  },
  {
    name: 'KAFKA_NOTIFICATION_TOPIC',
    default: 'notification_events',
    meaning: 'Topic notifications are published to.',
  },
  { name: 'KAFKA_TOPIC_PARTITIONS', default: '3', meaning: 'Partitions of topics the service creates.' },
  {
    name: 'KAFKA_CREATE_TOPICS',
    default: 'true',
    meaning: 'Create missing topics at start; false: a missing topic stops the start with its name.',
  },
  {
    name: 'KAFKA_MAX_MESSAGE_BYTES',
    default: '1048576',
    meaning: 'Larger intake messages go to the dead-letter topic unread.',
  },
  {
    name: 'KAFKA_TOPIC_RETENTION_MS',
    default: '604800000',
    meaning:
      'retention.ms (7 days) of the intake and notification topics the service creates; an existing topic that keeps messages longer is reported at start.',
  },
  {
    name: 'KAFKA_DLQ_RETENTION_MS',
    default: '604800000',
    meaning:
      'retention.ms (7 days) of the dead-letter topic the service creates: dead letters hold the whole original message, names included, for operators to read and replay, then go.',
  },
  {
    name: 'KAFKA_INTAKE_CONCURRENCY',
    default: '32',
    meaning:
      'Intake messages of one partition handled at once, each for a different case (messages with the same idempotency key stay in offset order). 1: one message at a time, strictly in offset order.',
  },
  {
    name: 'READY_MAX_PROJECTION_LAG_SECONDS',
    default: '60',
    meaning: '/health/ready answers 503 when the read models are further behind the event store than this.',
  },
  {
    name: 'COMMAND_CACHE_MAX_ENTRIES',
    default: '10000',
    meaning:
      'Case streams whose folded state the command handler keeps in memory, so a command appends without reading its stream; 0 turns the cache off.',
  },
  {
    name: 'COMMAND_CACHE_MAX_BYTES',
    default: '67108864',
    meaning: "Upper bound on the cache's estimated memory (least recently used streams go first).",
  },
  {
    name: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    default: '(unset)',
    meaning:
      'OTLP/HTTP endpoint for traces (the other standard OTEL_* variables apply too). Unset: no spans are exported.',
  },
  {
    name: 'PERSONAL_DATA_KEK',
    default: '(unset)',
    meaning:
      'Key-encryption key of the per-subject keys that encrypt personal data: 32 random bytes in base64 (`openssl rand -base64 32`). Required with EVENTSTORE_URL or MONGODB_URL. Unset in the embedded mode: one is generated into DATA_DIR (personal-data-kek), with a warning.',
  },
  {
    name: 'PERSONAL_DATA_KEK_ID',
    default: 'kek-1',
    meaning: 'Id recorded beside every key PERSONAL_DATA_KEK wraps; a new KEK gets a new id.',
  },
  {
    name: 'PERSONAL_DATA_PREVIOUS_KEKS',
    default: '(unset)',
    meaning:
      'Comma-separated id:base64 KEKs being rotated away from: the keys they wrap are rewrapped with PERSONAL_DATA_KEK at start; remove them once the start has logged the rewrap.',
  },
  {
    name: 'RETENTION_YEARS',
    default: '5',
    meaning:
      'Years case records are kept after the business relationship ends before an erasure request may run (AML: 5).',
  },
  {
    name: 'RETENTION_RULE',
    default: 'AMLR-77',
    meaning: 'Name of the retention rule recorded with each retention date and in certificates of erasure.',
  },
  {
    name: 'REJECTED_INTAKE_RETENTION_DAYS',
    default: '30',
    meaning:
      'Days a refused intake message (no case opened, so no customer relationship) is kept from its receipt; then the erasure due job erases it under the rule INTAKE-REJECTED.',
  },
  {
    name: 'ERASURE_JOB_INTERVAL_SECONDS',
    default: '3600',
    meaning:
      'How often the service runs the erasure requests that have become due (retention over, no legal hold); 0: never.',
  },
  {
    name: 'ERASURE_OVERDUE_AFTER_SECONDS',
    default: '86400',
    meaning:
      'An erasure request due (retention over, no legal hold) for longer than this counts in kyc_erasures_overdue: alert on it.',
  },
];

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const logLevels: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const logFormats: readonly LogFormat[] = ['pretty', 'json'];
const roles: readonly Role[] = ROLES;

/** Reads the configuration; throws ConfigError naming every invalid variable. */
export function loadConfig(env: Env): Readonly<Config> {
  const problems: string[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name]?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+$/.test(raw) || value < min || value > max) {
      problems.push(`${name}: expected a whole number from ${min} to ${max}, got "${raw}"`);
      return fallback;
    }
    return value;
  };
  const oneOf = <T extends string>(name: string, allowed: readonly T[], fallback: T): T => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    if (!(allowed as readonly string[]).includes(raw)) {
      problems.push(`${name}: expected one of ${allowed.join(', ')}, got "${raw}"`);
      return fallback;
    }
    return raw as T;
  };
  const url = (name: string, protocols: readonly string[]): string | undefined => {
    const raw = read(name);
    if (raw === undefined) return undefined;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push(`${name}: expected a ${protocols.join(' or ')} URL, got "${parsed.protocol}"`);
      }
    } catch {
      problems.push(`${name}: not a valid URL`);
    }
    return raw;
  };

  const config: Config = {
    host: read('HOST') ?? '127.0.0.1',
    port: integer('PORT', 8080, 0, 65535),
    logLevel: oneOf('LOG_LEVEL', logLevels, 'info'),
    logFormat: read('LOG_FORMAT') === undefined ? undefined : oneOf('LOG_FORMAT', logFormats, 'json'),
    eventStoreUrl: url('EVENTSTORE_URL', ['esdb:', 'esdb+discover:', 'kurrentdb:', 'kdb:']),
    dataDir: read('DATA_DIR') ?? './data',
    eventLogGroupCommit: oneOf('EVENT_LOG_GROUP_COMMIT', ['true', 'false'], 'true') === 'true',
    mongoUrl: url('MONGODB_URL', ['mongodb:', 'mongodb+srv:']),
    mongoDatabase: read('MONGODB_DATABASE') ?? 'kyc_cases',
    projector: oneOf('PROJECTOR', ['auto', 'on', 'off'], read('MONGODB_URL') === undefined ? 'on' : 'auto'),
    lease: {
      ttlMs: integer('LEASE_TTL_MS', 15_000, 1, 3_600_000),
      renewAfterMs: integer('LEASE_RENEW_AFTER_MS', 5_000, 1, 3_600_000),
      marginMs: integer('LEASE_MARGIN_MS', 5_000, 0, 3_600_000),
    },
    replicaId: read('REPLICA_ID'),
    configServiceUrl: url('CONFIG_SERVICE_URL', ['http:', 'https:']),
    configServiceTimeoutMs: integer('CONFIG_SERVICE_TIMEOUT_MS', 5000, 1, 600_000),
    apiKeys: parseApiKeys(read('API_KEYS'), problems),
    kafka: undefined,
    otlpEndpoint: url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
    readyMaxProjectionLagSeconds: integer('READY_MAX_PROJECTION_LAG_SECONDS', 60, 1, 86_400),
    commandCacheMaxEntries: integer('COMMAND_CACHE_MAX_ENTRIES', 10_000, 0, 10_000_000),
    commandCacheMaxBytes: integer('COMMAND_CACHE_MAX_BYTES', 67_108_864, 1, 2 ** 40),
    personalData: { kek: undefined, previousKeks: [] },
    retention: { rule: read('RETENTION_RULE') ?? 'AMLR-77', years: integer('RETENTION_YEARS', 5, 0, 100) },
    rejectedIntakeRetentionDays: integer('REJECTED_INTAKE_RETENTION_DAYS', 30, 1, 36_500),
    erasureJobIntervalSeconds: integer('ERASURE_JOB_INTERVAL_SECONDS', 3600, 0, 31_536_000),
    erasureOverdueAfterSeconds: integer('ERASURE_OVERDUE_AFTER_SECONDS', 86_400, 0, 31_536_000),
  };
  const brokers = read('KAFKA_BROKERS');
  if (brokers !== undefined) {
    const list = brokers.split(',').map((broker) => broker.trim());
    for (const broker of list) {
      if (!/^[^\s:]+:\d{1,5}$/.test(broker)) problems.push(`KAFKA_BROKERS: "${broker}" is not host:port`);
    }
    config.kafka = {
      brokers: list,
      clientId: read('KAFKA_CLIENT_ID') ?? 'kyc-case-service',
      groupId: read('KAFKA_GROUP_ID') ?? 'kyc-case-service',
      inboundTopic: read('KAFKA_INBOUND_TOPIC') ?? 'kyc_events',
      dlqTopic: read('KAFKA_DLQ_TOPIC') ?? 'kyc_events.dlq',
      notificationTopic: read('KAFKA_NOTIFICATION_TOPIC') ?? 'notification_events',
      topicPartitions: integer('KAFKA_TOPIC_PARTITIONS', 3, 1, 1000),
      createTopics: oneOf('KAFKA_CREATE_TOPICS', ['true', 'false'], 'true') === 'true',
      maxMessageBytes: integer('KAFKA_MAX_MESSAGE_BYTES', 1_048_576, 1, 100_000_000),
      topicRetentionMs: integer('KAFKA_TOPIC_RETENTION_MS', 604_800_000, 60_000, 31_536_000_000),
      dlqRetentionMs: integer('KAFKA_DLQ_RETENTION_MS', 604_800_000, 60_000, 31_536_000_000),
      intakeConcurrency: integer('KAFKA_INTAKE_CONCURRENCY', 32, 1, 10_000),
    };
  }
  if (config.projector === 'off' && config.mongoUrl === undefined) {
    problems.push('PROJECTOR: off needs MONGODB_URL (in-memory read models are built by their own replica)');
  }
  if (config.projector === 'auto' && config.mongoUrl === undefined) {
    problems.push(
      'PROJECTOR: auto needs MONGODB_URL (in-memory read models belong to one replica by nature: nothing to share a lease or the read models with; use on)',
    );
  }
  const { ttlMs, renewAfterMs, marginMs } = config.lease;
  if (renewAfterMs + marginMs >= ttlMs) {
    problems.push(
      `LEASE_RENEW_AFTER_MS + LEASE_MARGIN_MS must be below LEASE_TTL_MS (a leader renews before it stops leading), got ${renewAfterMs} + ${marginMs} >= ${ttlMs}`,
    );
  }
  if (config.replicaId !== undefined && config.replicaId.length > 200) {
    problems.push(`REPLICA_ID: at most 200 characters, got ${config.replicaId.length}`);
  }
  config.personalData = parsePersonalData(
    read('PERSONAL_DATA_KEK'),
    read('PERSONAL_DATA_KEK_ID') ?? 'kek-1',
    read('PERSONAL_DATA_PREVIOUS_KEKS'),
    problems,
  );
  if (
    config.personalData.kek === undefined &&
    (config.eventStoreUrl !== undefined || config.mongoUrl !== undefined)
  ) {
    problems.push(
      'PERSONAL_DATA_KEK: required with EVENTSTORE_URL or MONGODB_URL (32 random bytes in base64: `openssl rand -base64 32`)',
    );
  }
  if (config.apiKeys.length === 0 && !isLoopback(config.host)) {
    problems.push(`HOST: without API_KEYS the service binds only to loopback, got "${config.host}"`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(config);
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const KEK_ID = /^[A-Za-z0-9._-]{1,64}$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/** A KEK from base64, or undefined with a problem that never quotes the key itself. */
function parseKek(name: string, id: string, raw: string, problems: string[]): KekConfig | undefined {
  if (!KEK_ID.test(id)) {
    problems.push(`${name}: the KEK id must be 1 to 64 letters, digits, dots, dashes or underscores`);
    return undefined;
  }
  const key = BASE64.test(raw) ? Buffer.from(raw, 'base64') : Buffer.alloc(0);
  if (key.length !== 32) {
    problems.push(
      `${name}: expected 32 bytes in base64 (\`openssl rand -base64 32\`), got ${key.length} bytes`,
    );
    return undefined;
  }
  return { id, key };
}

function parsePersonalData(
  kek: string | undefined,
  kekId: string,
  previous: string | undefined,
  problems: string[],
): PersonalDataConfig {
  const previousKeks: KekConfig[] = [];
  for (const [index, entry] of (previous?.split(',') ?? []).entries()) {
    const separator = entry.indexOf(':');
    if (separator < 0) {
      problems.push(`PERSONAL_DATA_PREVIOUS_KEKS: entry ${index + 1} must be id:base64`);
      continue;
    }
    const parsed = parseKek(
      `PERSONAL_DATA_PREVIOUS_KEKS (entry ${index + 1})`,
      entry.slice(0, separator).trim(),
      entry.slice(separator + 1).trim(),
      problems,
    );
    if (parsed?.id === kekId)
      problems.push(`PERSONAL_DATA_PREVIOUS_KEKS: "${kekId}" is the current KEK's id`);
    else if (parsed) previousKeks.push(parsed);
  }
  if (previousKeks.length > 0 && kek === undefined) {
    problems.push('PERSONAL_DATA_PREVIOUS_KEKS: needs PERSONAL_DATA_KEK, the KEK to rewrap with');
  }
  return {
    kek: kek === undefined ? undefined : parseKek('PERSONAL_DATA_KEK', kekId, kek, problems),
    previousKeks,
  };
}

function parseApiKeys(raw: string | undefined, problems: string[]): ApiKey[] {
  if (raw === undefined) return [];
  const keys: ApiKey[] = [];
  raw.split(',').forEach((entry, index) => {
    const [name, role, ...secretParts] = entry.trim().split(':');
    const secret = secretParts.join(':');
    if (!name || !role || !secret) {
      problems.push(`API_KEYS: entry ${index + 1} must be name:role:secret`);
    } else if (!(roles as readonly string[]).includes(role)) {
      problems.push(
        `API_KEYS: entry ${index + 1} ("${name}") has role "${role}"; expected ${roles.join(', ')}`,
      );
    } else if (secret.length < 16) {
      problems.push(`API_KEYS: entry ${index + 1} ("${name}") needs a secret of at least 16 characters`);
    } else {
      keys.push({ name, role: role as Role, secret });
    }
  });
  const names = keys.map((key) => key.name);
  for (const name of new Set(names)) {
    if (names.indexOf(name) !== names.lastIndexOf(name))
      problems.push(`API_KEYS: name "${name}" appears twice`);
  }
  return keys;
}
