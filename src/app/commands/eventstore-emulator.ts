import type { CliCommand } from '../cli.ts';

const usage = `usage: npm run --silent cli -- eventstore-emulator --port <n> [--host 127.0.0.1] [--data-dir <dir> | --memory] [--fsync always|never]

Runs the embedded EventStoreDB-compatible gRPC server (single insecure node).
  --port <n>          port to listen on (0 = a free port)
  --host <host>       interface to bind (default 127.0.0.1)
  --data-dir <dir>    keep the log in <dir>/log.bin; a restart recovers every acknowledged write
  --memory            keep everything in memory (the default); nothing touches disk
  --fsync <policy>    always (default): sync each write before acknowledging it; never: leave it to the OS

Prints "listening on esdb://<host>:<port>?tls=false" once it accepts connections; stops on SIGINT/SIGTERM.`;

type Parsed = { host: string; port: number; dataDir?: string; fsync?: 'always' | 'never' };

function parse(args: readonly string[]): Parsed | string {
  let host = '127.0.0.1';
  let port: number | undefined;
  let dataDir: string | undefined;
  let memory = false;
  let fsync: 'always' | 'never' | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const value = args[i + 1];
    switch (arg) {
      case '--host':
        if (value === undefined) return '--host needs a value';
        host = value;
        i++;
        break;
      case '--port':
        if (value === undefined || !/^\d+$/.test(value) || Number(value) > 65535)
          return '--port needs a number 0-65535';
        port = Number(value);
        i++;
        break;
      case '--data-dir':
        if (value === undefined) return '--data-dir needs a directory';
        dataDir = value;
        i++;
        break;
      case '--memory':
        memory = true;
        break;
      case '--fsync':
        if (value !== 'always' && value !== 'never') return '--fsync is always or never';
        fsync = value;
        i++;
        break;
      default:
        return `unknown option ${arg}`;
    }
  }
  if (port === undefined) return '--port is required';
  if (memory && dataDir !== undefined) return '--data-dir and --memory exclude each other';
  const parsed: Parsed = { host, port };
  if (dataDir !== undefined) parsed.dataDir = dataDir;
  if (fsync !== undefined) parsed.fsync = fsync;
  return parsed;
}

export const eventstoreEmulatorCommand: CliCommand = {
  summary: 'run the embedded EventStoreDB-compatible gRPC server',
  async run(args) {
    if (args.includes('--help') || args.includes('-h')) {
      console.log(usage);
      return 0;
    }
    const parsed = parse(args);
    if (typeof parsed === 'string') {
      console.error(`${parsed}\n\n${usage}`);
      return 2;
    }
    const { startEmulator } = await import('../../emulator/index.ts');
    const emulator = await startEmulator(parsed);
    console.log(`listening on ${emulator.connectionString}`);
    return new Promise<number>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        emulator.close().then(
          () => resolve(0),
          (error: unknown) => {
            console.error(error instanceof Error ? error.message : error);
            resolve(1);
          },
        );
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  },
};
