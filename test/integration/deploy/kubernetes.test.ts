import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { variables } from '../../../src/app/config.ts';
import {
  environmentNames,
  readmeConfigurationNames,
  readObjects,
} from '../../support/kubernetes-manifests.ts';

// Renders every overlay with kustomize and validates it, and the platform resources, against the
// Kubernetes API schemas (scripts/validate-kubernetes.sh installs both tools under .tools on first
// use: a few minutes then). Then checks the rendered environment of each container.

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tools = ['go', 'python3'].filter((tool) => spawnSync(tool, ['version']).error !== undefined);
const rendered = mkdtempSync(join(tmpdir(), 'kubernetes-rendered-'));
after(() => rmSync(rendered, { recursive: true, force: true }));

function run(command: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => chunks.push(chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, output: chunks.join('') }));
  });
}

const options = {
  // Under CI a missing tool fails the test (below) rather than skipping it.
  skip: tools.length === 0 || process.env.CI === 'true' ? false : `${tools.join(' and ')} not installed`,
  timeout: 600_000,
};

describe('Kubernetes manifests, rendered and validated', { concurrency: false }, () => {
  it(
    'every overlay renders and every object is valid for the pinned Kubernetes version',
    options,
    async () => {
      assert.deepEqual(tools, [], `scripts/validate-kubernetes.sh needs ${tools.join(' and ')}`);
      const { code, output } = await run('bash', ['scripts/validate-kubernetes.sh', '--render-to', rendered]);
      assert.equal(code, 0, `validation failed (exit ${code}):\n${output.slice(-20_000)}`);
      assert.match(
        output,
        /kubernetes \d+\.\d+\.\d+: [1-9]\d* objects valid, \d+ custom resources skipped, 0 failed/,
      );
      assert.deepEqual(readdirSync(rendered).sort(), ['dev.yaml', 'prod.yaml']);
    },
  );

  it('the validator refuses an unknown field and a kind it has no schema for', options, async () => {
    const broken = join(rendered, 'broken.yaml.txt');
    writeFileSync(
      broken,
      [
        'apiVersion: v1\nkind: Service\nmetadata: {name: typo}\nspec: {ports: [{port: 80}], selectr: {}}',
        'apiVersion: app/v1\nkind: Deployment\nmetadata: {name: misspelt-group}',
      ].join('\n---\n'),
    );
    const { code, output } = await run('.tools/kubernetes-validate/bin/python', [
      'scripts/validate-kubernetes.py',
      '1.32.0',
      broken,
    ]);
    assert.equal(code, 1, output);
    assert.match(output, /FAILED .*Service\/typo.*selectr/);
    assert.match(output, /FAILED .*Deployment\/misspelt-group.*no schema/);
  });

  it('each rendered container gets only variables the service reads and README documents', options, () => {
    const documented = readmeConfigurationNames(readFileSync(join(root, 'README.md'), 'utf8'));
    const known = new Set(variables.map((variable) => variable.name));
    for (const overlay of ['dev', 'prod']) {
      const { names, missing } = environmentNames(readObjects(join(rendered, `${overlay}.yaml`)));
      assert.deepEqual(missing, [], `${overlay}: envFrom names objects the overlay does not render`);
      assert.ok(names.has('PROJECTOR') && names.has('KAFKA_BROKERS'), `${overlay}: the environment was read`);
      for (const name of names) {
        assert.ok(known.has(name), `${overlay} sets ${name}, which src/app/config.ts does not read`);
        assert.ok(documented.has(name), `${overlay} sets ${name}, which README's Configuration table lacks`);
      }
    }
  });
});
