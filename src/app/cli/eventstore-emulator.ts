import type { CliCommand } from './command.ts';

const usage = `usage: npm run --silent cli -- eventstore-emulator --port <n> [--host 127.0.0.1] [--data-dir <dir> | --memory] [--fsync always|never]
       npm run --silent cli -- eventstore-emulator repair --data-dir <dir> [--dry-run] [--no-backup]

Runs the embedded EventStoreDB-compatible gRPC server (single insecure node).
  --port <n>          port to listen on (0 = a free port)
  --host <host>       interface to bind (default 127.0.0.1)
  --data-dir <dir>    keep the log in <dir>/log.bin; a restart recovers every acknowledged write
  --memory            keep everything in memory (the default); nothing touches disk
  --fsync <policy>    always (default): sync each write before acknowledging it; never: leave it to the OS

Prints "listening on esdb://<host>:<port>?tls=false" once it accepts connections; stops on SIGINT/SIGTERM.
What opening the log found (events recovered, a torn last write cut) goes to stderr.

repair cuts <dir>/log.bin at its first damaged frame, dropping every frame from there on, and
prints what it kept and dropped. Only for a log the emulator refuses to open (a damaged frame
with intact frames after it); stop every process using the directory first.
  --dry-run           print what would be cut; change nothing
  --no-backup         do not keep the dropped bytes (kept by default in <dir>/log.bin.cut-<offset>)`;

/** Recovery facts as plain lines on stderr, leaving stdout to the listening line. */
const stderrLogger = {
  info: (fields: Record<string, unknown>, message: string) =>
    console.error(`${message} ${JSON.stringify(fields)}`),
  warn: (fields: Record<string, unknown>, message: string) =>
    console.error(`warning: ${message} ${JSON.stringify(fields)}`),
};

async function repair(args: readonly string[]): Promise<number> {
  let dataDir: string | undefined;
  let dryRun = false;
  let backup = true;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--data-dir' && args[i + 1] !== undefined) {
      dataDir = args[++i];
    } else if (arg === '--dry-run') {
      dryRun = true;
    } else if (arg === '--no-backup') {
      backup = false;
    } else {
      console.error(
        `${arg === '--data-dir' ? '--data-dir needs a directory' : `unknown option ${arg}`}\n\n${usage}`,
      );
      return 2;
    }
  }
  if (dataDir === undefined) {
    console.error(`repair needs --data-dir\n\n${usage}`);
    return 2;
  }
  const { formatRepairReport, repairLog } = await import('../../emulator/log/repair.ts');
  console.log(formatRepairReport(repairLog(dataDir, { dryRun, backup })));
  return 0;
}

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
  async run(args) {
    if (args.includes('--help') || args.includes('-h')) {
      console.log(usage);
      return 0;
    }
    if (args[0] === 'repair') return repair(args.slice(1));
    const parsed = parse(args);
    if (typeof parsed === 'string') {
      console.error(`${parsed}\n\n${usage}`);
      return 2;
    }
    const { startEmulator } = await import('../../emulator/index.ts');
    const emulator = await startEmulator({ ...parsed, logger: stderrLogger });
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
