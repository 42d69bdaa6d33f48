import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';

export type RunningService = {
  baseUrl: string;
  /** Every JSON log line the service printed so far. */
  logs: Record<string, unknown>[];
  /** SIGTERM, and wait for the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: a crash, with no chance to clean up. */
  kill(): Promise<void>;
  child: ChildProcess;
};

import { testPersonalDataEnv } from './personal-data.ts';

const root = new URL('../../', import.meta.url);

/**
 * Starts the service as `make run` does (tsx on src/app/main.ts), on a free port, with `env`
 * added to a minimal environment. Resolves once it logs that it listens; rejects with its logs
 * if it exits first or takes longer than `timeoutMs`.
 */
export async function startService(
  env: Record<string, string>,
  timeoutMs = 60_000,
  /** Told of the process as soon as it exists, before it listens (to kill it whatever happens). */
  onSpawn?: (child: ChildProcess) => void,
): Promise<RunningService> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/app/main.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      PORT: '0',
      LOG_LEVEL: 'info',
      // As a deployment would: real servers need a KEK (an empty value unsets it).
      ...testPersonalDataEnv,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onSpawn?.(child);
  const logs: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const lines = createInterface({ input: child.stdout! });

  const listening = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`service did not start in ${timeoutMs} ms:\n${stderr.join('')}`)),
      timeoutMs,
    );
    lines.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === 'service listening' && typeof entry.url === 'string') {
          clearTimeout(timer);
          resolve(entry.url);
        }
      } catch {
        stderr.push(`${line}\n`);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(
          `service exited with ${code} before listening:\n${stderr.join('')}\n${JSON.stringify(logs)}`,
        ),
      );
    });
  });

  const baseUrl = await listening;
  return {
    baseUrl,
    logs,
    child,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
    async kill() {
      if (child.exitCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}
