/**
 * Operator command line: `npm run --silent cli -- <command> [options]`.
 * Each command lives in its own module and is loaded only when called, so a quick command does
 * not pay for the imports of a heavy one.
 */
export type CliCommand = {
  summary: string;
  /** Runs the command; resolves with the process exit code. */
  run(args: readonly string[]): Promise<number>;
};

const commands: Record<string, () => Promise<CliCommand>> = {
  serve: async () => (await import('./commands/serve.ts')).serveCommand,
  projections: async () => (await import('./commands/projections.ts')).projectionsCommand,
  parked: async () => (await import('./commands/parked.ts')).parkedCommand,
  dlq: async () => (await import('./commands/dlq.ts')).dlqCommand,
  demo: async () => (await import('./commands/demo.ts')).demoCommand,
  'eventstore-emulator': async () =>
    (await import('./commands/eventstore-emulator.ts')).eventstoreEmulatorCommand,
};

function usage(): string {
  return [
    'usage: npm run --silent cli -- <command> [options]',
    '',
    'commands:',
    ...Object.keys(commands).map((name) => `  ${name}`),
    '',
    'Run a command with --help for its options.',
  ].join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const load = commands[name];
  if (load === undefined) {
    console.error(`unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const command = await load();
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
