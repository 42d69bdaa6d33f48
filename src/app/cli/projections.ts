import { adminClient, guarded, progressLine, progressWriter } from './admin-client.ts';
import type { CliCommand } from './command.ts';
import { didYouMean } from './suggest.ts';

const help = `usage: npm run --silent cli -- projections status [--url <service>]
       npm run --silent cli -- projections rebuild <name>|--all [--url <service>]
       npm run --silent cli -- projections retry [<name>] [--url <service>]
       npm run --silent cli -- projections skip <name> --event <event-id> --reason "<why>" [--url <service>]

status   state, lag and failure of the read-model projector
rebuild  replays a read model into a shadow collection while the live one serves, then swaps;
         shows a progress bar until done
retry    tries the event that stopped the projector again (after a fix); with a name, only when
         that projection is the one stopped
skip     records that the event that stopped projection <name> is skipped, with the reason, and
         resumes; --event names that event (as status shows it), so only an event you have seen
         is skipped
A replica started with PROJECTOR=off does not project: point --url at the one that does.
Needs an admin key in KYC_API_KEY when the service has API_KEYS.`;

type Status = {
  state: string;
  /** null on a replica that does not project (PROJECTOR=off). */
  healthy: boolean | null;
  failure: { eventId: string; reason: string; projection: string } | null;
  projections: { name: string; checkpoint: unknown; rebuilding: boolean }[];
  rebuilds: {
    projection: string;
    eventsDone: number;
    eventsPerSecond: number;
    fraction: number;
    estimatedRemainingSeconds: number | null;
    done: boolean;
  }[];
  lag: { events?: number; seconds?: number };
  /** The same verdict as /health/ready gives on the read models. */
  readiness?: { status: string; detail?: string };
};

export const projectionsCommand: CliCommand = {
  run: (args) =>
    guarded(async () => {
      const [action, target] = args;
      const actions = ['status', 'rebuild', 'retry', 'skip'];
      if (args.includes('--help') || args.includes('-h')) {
        console.log(help);
        return 0;
      }
      if (!actions.includes(action ?? '')) {
        if (action !== undefined) console.error(`unknown action "${action}"${didYouMean(action, actions)}\n`);
        console.error(help);
        return 2;
      }
      const client = adminClient(args, process.env);
      const status = async () => (await client.get('/api/v1/admin/projections')) as Status;

      // The operator meant the replica that projects: a usage error (2) naming where to go.
      const notHere = (current: Status): boolean => {
        if (current.state !== 'off') return false;
        console.error(
          `this replica does not run the projector (PROJECTOR=off; read models ${current.lag.events ?? '?'} events / ${current.lag.seconds ?? '?'} s behind): point --url at the replica that projects`,
        );
        return true;
      };
      /** A projection name as typed: known, or refused with the closest known name suggested. */
      const unknownProjection = (current: Status, name: string): boolean => {
        const names = current.projections.map((p) => p.name);
        if (names.includes(name)) return false;
        console.error(
          `error: unknown projection "${name}"${didYouMean(name, names)}; projections: ${names.join(', ')}`,
        );
        return true;
      };

      if (action === 'status') {
        const current = await status();
        if (notHere(current)) return 2;
        console.log(
          `projector: ${current.state} (${current.healthy ? 'healthy' : 'STOPPED'}), lag ${current.lag.events ?? '?'} events / ${current.lag.seconds ?? '?'} s`,
        );
        if (current.failure) {
          console.log(
            `stopped at event ${current.failure.eventId} in ${current.failure.projection}: ${current.failure.reason}`,
          );
        }
        const ready = current.readiness?.status !== 'down';
        console.log(
          `read models: ${ready ? 'ready' : 'NOT READY'}${current.readiness?.detail ? ` (${current.readiness.detail})` : ''}`,
        );
        for (const projection of current.projections) {
          console.log(`  ${projection.name}${projection.rebuilding ? ' (rebuilding)' : ''}`);
        }
        return current.healthy && ready ? 0 : 1;
      }
      if (action === 'retry' || action === 'skip') {
        const current = await status();
        if (notHere(current)) return 2;
        const named = target === undefined || target.startsWith('--') ? undefined : target;
        const looksLikeEventId = named !== undefined && /^[0-9a-f-]{36}$/i.test(named);
        if (named !== undefined && !looksLikeEventId && unknownProjection(current, named)) return 2;
        const failure = current.failure;
        if (failure === null) {
          console.log('the projector is not stopped: nothing to retry or skip');
          return action === 'retry' ? 0 : 1;
        }
        if (named !== undefined && named !== failure.projection && named !== failure.eventId) {
          console.error(
            `error: ${named} is not what stopped: projection ${failure.projection} stopped at event ${failure.eventId}`,
          );
          return 1;
        }
        if (action === 'retry') {
          await client.post('/api/v1/admin/projections/retry');
          console.log(`retrying event ${failure.eventId} in ${failure.projection}`);
          return 0;
        }
        const option = (flag: string) => {
          const at = args.indexOf(flag);
          return at >= 0 ? args[at + 1] : undefined;
        };
        const reason = option('--reason');
        // The event id as the operator saw it: if the projector has since stopped at another
        // event, the service refuses the skip instead of skipping an event nobody looked at.
        const eventId = named === failure.eventId ? named : option('--event');
        if (named === undefined || eventId === undefined || reason === undefined) {
          console.error(
            'error: skip needs <name>, --event <event-id> (as status shows it) and --reason "<why>"',
          );
          return 2;
        }
        await client.post('/api/v1/admin/projections/skip', { event_id: eventId, reason });
        console.log(`skipped event ${eventId} in ${failure.projection}`);
        return 0;
      }

      if (target === undefined || (target.startsWith('--') && target !== '--all')) {
        console.error('error: rebuild needs a projection name or --all');
        return 2;
      }
      const before = await status();
      if (notHere(before)) return 2;
      if (target !== '--all' && unknownProjection(before, target)) return 2;
      const names = target === '--all' ? before.projections.map((p) => p.name) : [target];
      for (const name of names) {
        await client.post(`/api/v1/admin/projections/${encodeURIComponent(name)}/rebuild`);
        process.stdout.write(`${name}\n`);
        const bar = progressWriter();
        let last = { eventsDone: 0, eventsPerSecond: 0 };
        for (;;) {
          await new Promise((resolve) => setTimeout(resolve, 250));
          const current = await status();
          const progress = current.rebuilds.find((r) => r.projection === name);
          const rebuilding = current.projections.find((p) => p.name === name)?.rebuilding ?? false;
          if (progress) last = progress;
          if (!rebuilding && (progress === undefined || progress.done)) break;
          if (progress) {
            bar.draw(
              progressLine(
                progress.fraction,
                progress.eventsDone,
                progress.eventsPerSecond,
                progress.estimatedRemainingSeconds,
              ),
            );
          }
        }
        // Swapped: the bar ends full, whatever the last poll happened to see.
        bar.finish(progressLine(1, last.eventsDone, last.eventsPerSecond, null));
        process.stdout.write(`${name}: rebuilt and swapped\n`);
      }
      return 0;
    }),
};
