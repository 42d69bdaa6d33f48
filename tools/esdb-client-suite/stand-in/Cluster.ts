// Stand-in for the suite's docker-compose test node: the same public surface as its
// src/utils/Cluster.ts, backed by one embedded event store process per instance (one fresh
// store per test file). Copied over the original by run.sh; compiled by the suite's ts-jest.

import * as cp from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Certificate, EndPoint } from '@eventstore/db-client';

const root = process.env.ESDB_EMULATOR_ROOT;
const certs = process.env.ESDB_SUITE_CERTS;
const instances = process.env.ESDB_SUITE_INSTANCES;

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });

type LogLevel = 'Warning' | 'Debug' | 'Information' | 'Error' | 'Verbose';
interface LogLevels {
  Default: LogLevel;
  System: LogLevel;
  Microsoft: LogLevel;
  Grpc: LogLevel;
}

let counter = 0;

export class Cluster {
  private count: number;
  private insecure: boolean;
  private id: string;
  private port = 0;
  private child?: cp.ChildProcess;
  private exited?: Promise<void>;
  private options = new Map<string, string>();
  private certificates?: {
    root: Buffer;
    users: { admin: Certificate; invalid: Certificate };
  };

  constructor(count: number, insecure = false, id?: string) {
    if (!root || !certs || !instances) {
      throw new Error('run the suite through tools/esdb-client-suite/run.sh');
    }
    this.count = count;
    this.insecure = insecure;
    this.id = id ?? `${process.pid}-${++counter}`;
  }

  public domain = '127.0.0.1';

  public setLogLevel = (_levels: Partial<LogLevels>): this => this;

  public setOption = (key: string, value: unknown): this => {
    this.options.set(key, String(value));
    return this;
  };

  public get certs() {
    if (this.insecure) throw new Error('No Cert for insecure cluster');
    if (!this.certificates) throw new Error('Cluster failed to initialize');
    return this.certificates;
  }

  public get certPath() {
    if (this.insecure) throw new Error('No Cert for insecure cluster');
    return {
      root: join(certs!, 'ca.crt'),
      admin: {
        certPath: join(certs!, 'user-admin.crt'),
        certKeyPath: join(certs!, 'user-admin.key'),
      },
      invalid: {
        certPath: join(certs!, 'user-invalid.crt'),
        certKeyPath: join(certs!, 'user-invalid.key'),
      },
    };
  }

  public get uri(): string {
    return `${this.domain}:${this.port}`;
  }

  public get endpoints(): EndPoint[] {
    return [{ address: this.domain, port: this.port }];
  }

  public up = async (): Promise<void> => {
    if (this.count !== 1) {
      throw new Error('clusters are out of scope for the embedded event store');
    }
    this.port = await freePort();
    await this.start();
    if (!this.insecure) {
      const read = (file: string) => fs.readFileSync(join(certs!, file));
      // Client certificates belong to a commercial plugin: the files exist, the node ignores them.
      this.certificates = {
        root: read('ca.crt'),
        users: {
          admin: { userCertFile: read('user-admin.crt'), userKeyFile: read('user-admin.key') },
          invalid: { userCertFile: read('user-invalid.crt'), userKeyFile: read('user-invalid.key') },
        },
      };
    }
  };

  public down = async (): Promise<void> => {
    await this.stop();
    fs.rmSync(this.dataDir(), { recursive: true, force: true });
  };

  public killNode = async (_node: EndPoint): Promise<void> => {
    await this.stop();
  };

  public resurrect = async (): Promise<void> => {
    await this.start();
  };

  public enableNodeLogs = async (_node?: EndPoint): Promise<void> => {};
  public inspect = async (): Promise<void> => {};
  public openInBrowser = async (_launch = true): Promise<void> => {};

  private dataDir = () => join(instances!, this.id);

  private start = async (): Promise<void> => {
    const args = [
      '--import',
      'tsx',
      join(root!, 'tools/esdb-client-suite/node.ts'),
      '--port',
      String(this.port),
      '--data-dir',
      this.dataDir(),
    ];
    if (!this.insecure) {
      args.push('--tls-cert', join(certs!, 'node.crt'), '--tls-key', join(certs!, 'node.key'));
    }
    const maxAppendSize = this.options.get('EVENTSTORE_MAX_APPEND_SIZE');
    if (maxAppendSize !== undefined) args.push('--max-append-size', maxAppendSize);

    const child = cp.spawn(process.execPath, args, {
      cwd: root,
      // stdin stays open while this process lives: the node exits when it closes.
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`test node exited with ${code} before listening`)));
      lines.on('line', (line) => {
        if (line.startsWith('listening ')) resolve();
      });
    });
  };

  private stop = async (): Promise<void> => {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    // As `docker compose stop`: a graceful stop first, a kill if it hangs.
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  };
}
