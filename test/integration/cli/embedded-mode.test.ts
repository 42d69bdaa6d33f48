import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { loadConfig } from '../../../src/app/config.ts';
import { type RunningService, startService } from '../../../src/app/service.ts';
import { kybIntakeExample, kycIntakeExample } from '../../support/intake-examples.ts';
import { runCli } from './run-cli.ts';

describe('operator commands against the embedded mode (no Kafka)', () => {
  let dataDir: string;
  let service: RunningService;
  const cli = (...args: string[]) => runCli([...args, '--url', service.url]);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'kyc-cli-embedded-'));
    service = await startService(loadConfig({ DATA_DIR: dataDir, PORT: '0' }), pino({ level: 'silent' }));
    for (const [index, intake] of [kycIntakeExample, kybIntakeExample].entries()) {
      const response = await fetch(`${service.url}/api/v1/cases`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': `cli-embedded-${index}` },
        body: JSON.stringify(intake),
      });
      assert.equal(response.status, 202);
    }
  });

  after(async () => {
    await service?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('parked list and replay say the Kafka bridge is off and exit 0', async () => {
    for (const action of ['list', 'replay']) {
      const run = await cli('parked', action);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /the Kafka bridge is off in this service \(KAFKA_BROKERS is not set\)/);
      assert.equal(run.stderr, '');
    }
  });

  it('a mistyped projection name is refused with the name it probably meant', async () => {
    const rebuild = await cli('projections', 'rebuild', 'casse');
    assert.equal(rebuild.code, 2);
    assert.match(
      rebuild.stderr,
      /unknown projection "casse" \(did you mean "cases"\?\); projections: .*cases/,
    );
    const retry = await cli('projections', 'retry', 'persns');
    assert.equal(retry.code, 2);
    assert.match(retry.stderr, /unknown projection "persns" \(did you mean "persons"\?\)/);
  });

  it('projections rebuild --all ends every bar at 100 % on a clean line', async () => {
    const run = await runCli(['projections', 'rebuild', '--all', '--url', service.url], {}, 120_000);
    assert.equal(run.code, 0, run.stderr);
    const swapped = [...run.stdout.matchAll(/^(\S+): rebuilt and swapped$/gm)].map((m) => m[1]);
    assert.ok(swapped.includes('cases'), run.stdout);
    // Each projection's block: its name, bar frames redrawn with \r, then the swap line.
    for (const name of swapped) {
      const block = new RegExp(`^${name}\\n([^\\n]*)\\n${name}: rebuilt and swapped$`, 'm').exec(run.stdout);
      assert.ok(block, `no block for ${name} in ${JSON.stringify(run.stdout)}`);
      const frames = block[1]!.split('\r').slice(1);
      assert.ok(frames.length > 0);
      for (const frame of frames) {
        assert.match(frame, /^\[[#.]{30}\] +\d+% [\d,]+ events {2}[\d,]+\/s(?: {2}~\d+ s left)? *$/, frame);
      }
      assert.match(frames.at(-1)!, /^\[#{30}\] 100% [\d,]+ events {2}[\d,]+\/s *$/);
    }
  });
});
