import { randomUUID } from 'node:crypto';
import {
  CliError,
  callService,
  guarded,
  progressLine,
  progressWriter,
  serviceTarget,
} from './admin-client.ts';
import type { CliCommand } from './command.ts';
import { demoIntakes } from './demo-generator.ts';

const help = `usage: npm run --silent cli -- demo --cases <n> [--url <service>] [--kyb-ratio <0..1>]
                                   [--concurrency <n>] [--seed <n>]

Opens n realistic KYC and KYB cases through the service's HTTP intake (POST /api/v1/cases), with
a progress bar and a closing summary. The data is generated from the seed (default 1): the same
seed gives the same people and companies. Each run sends new idempotency keys, so it opens new
cases every time.

  --cases        how many intakes to send (1 to 100000)
  --url          the service (default KYC_SERVICE_URL, else http://127.0.0.1:8080)
  --kyb-ratio    share of KYB intakes (default 0.5)
  --concurrency  requests in flight at once (default 8)
  --seed         whole number the data is generated from (default 1)
Needs an operator key in KYC_API_KEY when the service has API_KEYS.
Exit code: 0 when every intake was accepted, 1 otherwise, 2 on a usage error.`;

type Settings = { cases: number; kybRatio: number; concurrency: number; seed: number };

const flags = ['--cases', '--url', '--kyb-ratio', '--concurrency', '--seed'];

class UsageError extends Error {}

function option(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  if (index < 0) return undefined;
  const value = args[index + 1];
  if (value === undefined || value.startsWith('--')) throw new UsageError(`${name} needs a value`);
  return value;
}

function settings(args: readonly string[]): Settings {
  for (const [i, arg] of args.entries()) {
    const isValue = i > 0 && flags.includes(args[i - 1]!);
    if (!isValue && !flags.includes(arg)) throw new UsageError(`unknown argument "${arg}"`);
  }
  const whole = (name: string, fallback: number | undefined, min: number, max: number): number => {
    const raw = option(args, name);
    if (raw === undefined) {
      if (fallback === undefined) throw new UsageError(`${name} is required`);
      return fallback;
    }
    if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
      throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return Number(raw);
  };
  option(args, '--url'); // read by serviceTarget; checked here so a missing value is a usage error
  const cases = whole('--cases', undefined, 1, 100_000);
  const concurrency = whole('--concurrency', 8, 1, 256);
  const seed = whole('--seed', 1, 0, 2 ** 32 - 1);
  const rawRatio = option(args, '--kyb-ratio') ?? '0.5';
  const kybRatio = Number(rawRatio);
  if (rawRatio.trim() === '' || !Number.isFinite(kybRatio) || kybRatio < 0 || kybRatio > 1) {
    throw new UsageError(`--kyb-ratio must be a number from 0 to 1, got "${rawRatio}"`);
  }
  return { cases, kybRatio, concurrency, seed };
}

type Refusal = { status: number; titles: string[]; count: number };

/** The problem's title (and code) from a refused intake's body, or the start of a non-JSON body. */
function titleOf(text: string): string {
  try {
    const problem = JSON.parse(text) as { title?: unknown; code?: unknown };
    if (typeof problem.title === 'string') {
      return typeof problem.code === 'string' ? `${problem.title} [${problem.code}]` : problem.title;
    }
  } catch {
    // not JSON: show the text itself
  }
  return text.slice(0, 80) || '(empty body)';
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

export const demoCommand: CliCommand = {
  run: (args) =>
    guarded(async () => {
      if (args.includes('--help') || args.includes('-h')) {
        console.log(help);
        return 0;
      }
      let chosen: Settings;
      try {
        chosen = settings(args);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        console.error(`error: ${error.message}\n\n${help}`);
        return 2;
      }
      const target = serviceTarget(args, process.env);
      const intakes = demoIntakes(chosen.cases, { seed: chosen.seed, kybRatio: chosen.kybRatio });
      const kybCount = intakes.filter((intake) => intake.traitement_type === 'KYB').length;
      // Keys are fresh per run (a rerun opens new cases) and name the run and the intake, so a
      // refused one can be found in the service's log and regenerated from seed and index.
      const run = randomUUID().slice(0, 8);
      console.log(
        `sending ${chosen.cases} intakes (${chosen.cases - kybCount} KYC, ${kybCount} KYB; seed ${chosen.seed}) to ${target.base}, run ${run}`,
      );

      const started = Date.now();
      const accepted: { index: number; caseId: string }[] = [];
      const refusals = new Map<number, Refusal>();
      let done = 0;
      let next = 0;
      let unreachable: CliError | undefined;
      let lastDrawn = 0;
      const bar = progressWriter();
      const draw = (force = false) => {
        const now = Date.now();
        if (!force && now - lastDrawn < 100) return;
        lastDrawn = now;
        const elapsed = Math.max(1, now - started) / 1000;
        const rate = done / elapsed;
        const left = rate > 0 ? (chosen.cases - done) / rate : null;
        const line = progressLine(done / chosen.cases, done, rate, left, 'cases');
        if (force) bar.finish(line);
        else bar.draw(line);
      };

      async function worker(): Promise<void> {
        while (next < intakes.length && unreachable === undefined) {
          const index = next++;
          let response: Awaited<ReturnType<typeof callService>>;
          try {
            response = await callService(target, 'POST', '/api/v1/cases', {
              body: intakes[index],
              headers: { 'idempotency-key': `demo-${run}-${chosen.seed}-${index}` },
            });
          } catch (error) {
            if (!(error instanceof CliError)) throw error;
            unreachable ??= error;
            return;
          }
          if (response.status === 202) {
            const caseId = (JSON.parse(response.text) as { case_id?: string }).case_id ?? '?';
            accepted.push({ index, caseId });
          } else {
            const refusal = refusals.get(response.status) ?? {
              status: response.status,
              titles: [],
              count: 0,
            };
            refusal.count += 1;
            const title = titleOf(response.text);
            if (refusal.titles.length < 3 && !refusal.titles.includes(title)) refusal.titles.push(title);
            refusals.set(response.status, refusal);
          }
          done += 1;
          draw();
        }
      }

      await Promise.all(Array.from({ length: Math.min(chosen.concurrency, chosen.cases) }, worker));
      draw(true);

      const elapsedMs = Date.now() - started;
      const refused = done - accepted.length;
      const rate = done / Math.max(0.001, elapsedMs / 1000);
      console.log(
        `sent ${done}, accepted ${accepted.length} (202), refused ${refused} in ${seconds(elapsedMs)} (${rate.toFixed(1)} cases/s)`,
      );
      for (const refusal of [...refusals.values()].sort((a, b) => a.status - b.status)) {
        console.log(`  refused with ${refusal.status} × ${refusal.count}: ${refusal.titles.join('; ')}`);
      }
      if (accepted.length > 0) {
        const first = accepted
          .sort((a, b) => a.index - b.index)
          .slice(0, 5)
          .map((entry) => entry.caseId);
        console.log(`first cases: ${first.join(', ')}${accepted.length > first.length ? ', …' : ''}`);
      }
      if (unreachable !== undefined) {
        throw new CliError(`${unreachable.message} (stopped after ${done} of ${chosen.cases})`);
      }
      return accepted.length === chosen.cases ? 0 : 1;
    }),
};
