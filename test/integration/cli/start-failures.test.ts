import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { testPersonalDataEnv } from '../../support/personal-data.ts';
import { startService } from '../../support/service-process.ts';
import { runCli } from './run-cli.ts';

const cleanups: (() => Promise<unknown>)[] = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A local port nothing listens on: taken from the system, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function dataDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'kyc-start-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

it('a MongoDB that cannot be reached stops the start with MongoDB and its address named, password hidden', async () => {
  const port = await closedPort();
  const run = await runCli(['serve'], {
    PORT: '0',
    DATA_DIR: await dataDir(),
    MONGODB_URL: `mongodb://reader:hunter2@127.0.0.1:${port}/`,
    ...testPersonalDataEnv,
  });
  assert.equal(run.code, 1, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(`MongoDB \\(MONGODB_URL=mongodb://reader:\\*\\*\\*@127\\.0\\.0\\.1:${port}/\\)`),
  );
  assert.doesNotMatch(run.stderr + run.stdout, /hunter2/);
});

it('Kafka brokers that cannot be reached stop the start with Kafka and the brokers named', async () => {
  const port = await closedPort();
  const run = await runCli(
    ['serve'],
    { PORT: '0', DATA_DIR: await dataDir(), KAFKA_BROKERS: `127.0.0.1:${port}` },
    90_000,
  );
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`Kafka \\(KAFKA_BROKERS=127\\.0\\.0\\.1:${port}\\) cannot be used`));
});

it('an event store that cannot be reached is named in a warning at start, and the service serves (logs in JSON when piped)', async () => {
  const port = await closedPort();
  const url = `esdb://127.0.0.1:${port}?tls=false`;
  // service-process reads standard output line by line as JSON: it only sees "listening" if the
  // logs are JSON when piped.
  const service = await startService({ DATA_DIR: await dataDir(), EVENTSTORE_URL: url });
  cleanups.push(() => service.kill());
  const warning = service.logs.find((entry) => entry.dependency === 'event store');
  assert.ok(warning, `no warning naming the event store in ${JSON.stringify(service.logs)}`);
  assert.equal(warning.level, 40);
  assert.equal(warning.address, url);
  assert.match(
    String(warning.msg),
    new RegExp(`event store \\(EVENTSTORE_URL=${url.replace(/[.?]/g, '\\$&')}\\) cannot be reached`),
  );
  const ready = await fetch(`${service.baseUrl}/health/ready`);
  assert.equal(ready.status, 503);
});
