import type { CliCommand } from './command.ts';
import { didYouMean } from './suggest.ts';

/**
 * Operator command line: `npm run --silent cli -- <command> [options]`.
 * Each command lives in its own module and is loaded only when called, so a quick command does
 * not pay for the imports of a heavy one; its one-line summary is kept here for the same reason.
 */
type Entry = { summary: string; load: () => Promise<CliCommand> };

const commands: Record<string, Entry> = {
  serve: {
    summary: 'start the service (same as make run)',
    load: async () => (await import('./serve.ts')).serveCommand,
  },
  processors: {
    summary: 'projectors and reactors by name: list, status, retry, skip or rebuild',
    load: async () => (await import('./processors.ts')).processorsCommand,
  },
  projections: {
    summary: 'the read models as one: status, rebuild (one or --all), retry or skip (see processors)',
    load: async () => (await import('./projections.ts')).projectionsCommand,
  },
  parked: {
    summary: 'notifications the publisher gave up on: list or replay them',
    load: async () => (await import('./parked.ts')).parkedCommand,
  },
  dlq: {
    summary: 'list the intake messages on the dead-letter topic, with reason and violations',
    load: async () => (await import('./dlq.ts')).dlqCommand,
  },
  erasures: {
    summary: 'erasure requests: list them by status, or run the due ones now',
    load: async () => (await import('./erasures.ts')).erasuresCommand,
  },
  demo: {
    summary: 'open n realistic KYC and KYB cases through the HTTP intake',
    load: async () => (await import('./demo.ts')).demoCommand,
  },
  'eventstore-emulator': {
    summary: 'run the embedded EventStoreDB-compatible gRPC server on its own',
    load: async () => (await import('./eventstore-emulator.ts')).eventstoreEmulatorCommand,
  },
};

/** Top-level help: one line per command. */
export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  return [
    'usage: npm run --silent cli -- <command> [options]',
    '',
    'commands:',
    ...Object.entries(commands).map(([name, { summary }]) => `  ${name.padEnd(width)}  ${summary}`),
    '',
    'Run a command with --help for its options. Operator commands talk to the service at --url or',
    'KYC_SERVICE_URL (default http://127.0.0.1:8080), with an admin key in KYC_API_KEY.',
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const entry = commands[name];
  if (entry === undefined) {
    console.error(`unknown command "${name}"${didYouMean(name, Object.keys(commands))}\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  },
);
