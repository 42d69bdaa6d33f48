import Type, { type Static } from 'typebox';
import Value from 'typebox/value';

/**
 * The one reader of process.env. Every variable is converted explicitly, every invalid one is
 * reported in a single error, and the defaults make the embedded mode work with no environment.
 */
const ConfigSchema = Type.Object({
  host: Type.String({ minLength: 1 }),
  port: Type.Integer({ minimum: 0, maximum: 65535 }),
  logLevel: Type.Union([
    Type.Literal('fatal'),
    Type.Literal('error'),
    Type.Literal('warn'),
    Type.Literal('info'),
    Type.Literal('debug'),
    Type.Literal('trace'),
    Type.Literal('silent'),
  ]),
});

export type Config = Static<typeof ConfigSchema>;

export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function integer(env: Env, key: string, fallback: number, problems: string[]): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) {
    problems.push(`${key}: expected a whole number, got "${raw}"`);
    return fallback;
  }
  return Number(raw);
}

function text(env: Env, key: string, fallback: string): string {
  const raw = env[key];
  return raw === undefined || raw === '' ? fallback : raw;
}

export function loadConfig(env: Env): Readonly<Config> {
  const problems: string[] = [];
  const candidate = {
    host: text(env, 'HOST', '127.0.0.1'),
    port: integer(env, 'PORT', 8080, problems),
    logLevel: text(env, 'LOG_LEVEL', 'info'),
  };
  for (const error of Value.Errors(ConfigSchema, candidate)) {
    problems.push(`${configKeyOf(error.instancePath)}: ${error.message}`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(candidate as Config);
}

const envNames: Record<string, string> = { host: 'HOST', port: 'PORT', logLevel: 'LOG_LEVEL' };

function configKeyOf(instancePath: string): string {
  const field = instancePath.replace(/^\//, '').split('/')[0] ?? '';
  return envNames[field] ?? field;
}
