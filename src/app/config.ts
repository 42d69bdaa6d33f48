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
  /** undefined = in-memory read models rebuilt from the log at start. */
  mongoUrl: string | undefined;
  mongoDatabase: string;
  /** 'off': this replica serves read models that another replica projects. */
  projector: 'on' | 'off';
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
    name: 'MONGODB_URL',
    default: '(unset)',
    meaning: 'MongoDB connection string for the read models. Unset: in-memory read models rebuilt at start.',
  },
  { name: 'MONGODB_DATABASE', default: 'kyc_cases', meaning: 'Database of the read models.' },
  {
    name: 'PROJECTOR',
    default: 'on',
    meaning:
      'on: this replica projects events into the read models. off: it only serves them (another replica, with on, projects); needs MONGODB_URL.',
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
      'Comma-separated name:role:secret entries, role one of reader, operator, reviewer, approver, admin (each may do what the ones before it may; the name is the person recorded on events). Unset: no authentication, loopback only.',
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
    mongoUrl: url('MONGODB_URL', ['mongodb:', 'mongodb+srv:']),
    mongoDatabase: read('MONGODB_DATABASE') ?? 'kyc_cases',
    projector: oneOf('PROJECTOR', ['on', 'off'], 'on'),
    configServiceUrl: url('CONFIG_SERVICE_URL', ['http:', 'https:']),
    configServiceTimeoutMs: integer('CONFIG_SERVICE_TIMEOUT_MS', 5000, 1, 600_000),
    apiKeys: parseApiKeys(read('API_KEYS'), problems),
    kafka: undefined,
    otlpEndpoint: url('OTEL_EXPORTER_OTLP_ENDPOINT', ['http:', 'https:']),
    readyMaxProjectionLagSeconds: integer('READY_MAX_PROJECTION_LAG_SECONDS', 60, 1, 86_400),
    commandCacheMaxEntries: integer('COMMAND_CACHE_MAX_ENTRIES', 10_000, 0, 10_000_000),
    commandCacheMaxBytes: integer('COMMAND_CACHE_MAX_BYTES', 67_108_864, 1, 2 ** 40),
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
    };
  }
  if (config.projector === 'off' && config.mongoUrl === undefined) {
    problems.push('PROJECTOR: off needs MONGODB_URL (in-memory read models are built by their own replica)');
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
