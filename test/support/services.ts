import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';

/**
 * Connection details of the real test servers, written by `make services-up` to `.services/env`
 * (KEY=value lines). Variables already in the environment win, so a developer can point the
 * tests at servers of their own.
 *
 * Under CI (`CI=true`) a missing server fails the test with a clear message; locally the test is
 * skipped and the skip names the missing server.
 */
const envFile = new URL('../../.services/env', import.meta.url);

function readEnvFile(): Record<string, string> {
  try {
    const entries: Record<string, string> = {};
    for (const line of readFileSync(envFile, 'utf8').split('\n')) {
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (match) entries[match[1]!] = match[2]!;
    }
    return entries;
  } catch {
    return {};
  }
}

const fileEnv = readEnvFile();

function lookup(key: string): string | undefined {
  const value = process.env[key] ?? fileEnv[key];
  return value === undefined || value === '' ? undefined : value;
}

function missing(t: TestContext, server: string, key: string): undefined {
  const message = `${server} is not available: ${key} is not set (start it with \`make services-up\`)`;
  if (process.env.CI === 'true') throw new Error(message);
  t.skip(message);
  return undefined;
}

/** Kafka bootstrap brokers, or undefined after skipping the test (fails under CI). */
export function kafkaBrokers(t: TestContext): string[] | undefined {
  const value = lookup('KAFKA_BROKERS');
  return value === undefined ? missing(t, 'Kafka', 'KAFKA_BROKERS') : value.split(',');
}

/** MongoDB-wire server URL, or undefined after skipping the test (fails under CI). */
export function mongoUrl(t: TestContext): string | undefined {
  const value = lookup('MONGODB_URL');
  return value === undefined ? missing(t, 'MongoDB (FerretDB)', 'MONGODB_URL') : value;
}

/**
 * For whole suites: the MongoDB-wire URL, or a skip reason naming the missing server (locally).
 * Under CI a missing server throws, failing the run.
 */
export function mongoUrlForSuite(): { url: string } | { skip: string } {
  const value = lookup('MONGODB_URL');
  if (value !== undefined) return { url: value };
  const message =
    'MongoDB (FerretDB) is not available: MONGODB_URL is not set (start it with `make services-up`)';
  if (process.env.CI === 'true') throw new Error(message);
  return { skip: message };
}
