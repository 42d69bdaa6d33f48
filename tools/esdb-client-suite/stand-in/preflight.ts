// Stand-in for the suite's global setup (which checks for docker and pulls images): makes the
// certificates a secure test node presents, once per run. Copied over the original by run.sh.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';

const openssl = (args: string[], cwd: string) => execFileSync('openssl', args, { cwd, stdio: 'ignore' });

const issue = (dir: string, name: string, subject: string, extensions?: string) => {
  openssl(
    [
      'req',
      '-new',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      `${name}.key`,
      '-out',
      `${name}.csr`,
      '-subj',
      subject,
    ],
    dir,
  );
  const args = [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '30',
    '-out',
    `${name}.crt`,
  ];
  if (extensions) {
    fs.writeFileSync(join(dir, `${name}.ext`), extensions);
    args.push('-extfile', `${name}.ext`);
  }
  openssl(args, dir);
};

module.exports = async () => {
  const dir = process.env.ESDB_SUITE_CERTS;
  if (!dir) throw new Error('run the suite through tools/esdb-client-suite/run.sh');
  if (fs.existsSync(join(dir, 'node.crt'))) return;
  fs.mkdirSync(dir, { recursive: true });
  openssl(
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '30',
      '-subj',
      '/CN=EventStoreDB CA',
    ],
    dir,
  );
  issue(dir, 'node', '/CN=eventstoredb-node', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  issue(dir, 'user-admin', '/CN=admin');
  issue(dir, 'user-invalid', '/CN=invalid');
};
