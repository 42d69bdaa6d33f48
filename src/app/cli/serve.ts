import type { CliCommand } from './command.ts';

export const serveCommand: CliCommand = {
  async run(args) {
    if (args.includes('--help')) {
      console.log(
        'usage: npm run --silent cli -- serve\n\nStarts the service; configuration comes from the environment (see README).',
      );
      return 0;
    }
    await import('../main.ts');
    return new Promise<number>(() => {});
  },
};
