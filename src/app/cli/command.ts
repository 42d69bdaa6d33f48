/** One operator command of the command line (`src/app/cli/main.ts` lists them). */
export type CliCommand = {
  /** Runs the command; resolves with the process exit code. */
  run(args: readonly string[]): Promise<number>;
};
