import { adminClient, CliError, guarded, progressLine, progressWriter } from './admin-client.ts';
import type { CliCommand } from './command.ts';
import { didYouMean } from './suggest.ts';

const help = `usage: npm run --silent cli -- processors list [--url <service>]
       npm run --silent cli -- processors status <name> [--url <service>]
       npm run --silent cli -- processors retry <name> [--url <service>]
       npm run --silent cli -- processors skip <name> --event <event-id> --reason "<why>" [--url <service>]
       npm run --silent cli -- processors rebuild <name> [--url <service>]

Processors follow the event log: a projector per read model, and the notification publisher
(a reactor) when the Kafka bridge is on. Each has its own subscription, checkpoint and failures:
an event one cannot handle stops (projector) or is parked by (reactor) that one only.

list     every processor with its state, role (leader, follower of <replica>, none), position,
         lag and failures; exit 1 when one failed
status   one processor in full: failures with their events and reasons, rebuild progress
retry    tries the failed events again: a projector resumes, a reactor replays what it parked
skip     passes over one failed event for good, recording who and why; --event names it (as
         status shows it), so only an event you have seen is skipped. A reactor acknowledges a
         skipped parked event without its side effect when parked events are next replayed
rebuild  replays a projector's read model into a shadow collection while the live one serves,
         then swaps; shows a progress bar until done. Reactors cannot be rebuilt (it would
         repeat their side effects): the service says why
Needs an admin key in KYC_API_KEY when the service has API_KEYS.`;

type Failure = { eventId: string; streamId: string; type: string; reason: string; action: string };
type Report = {
  name: string;
  kind: string;
  state: string;
  phase: string;
  position: { commit: string; prepare: string } | null;
  handledEvents: number;
  failures: Failure[];
  rebuilds: {
    fraction: number;
    eventsDone: number;
    eventsPerSecond: number;
    estimatedRemainingSeconds: number | null;
    done: boolean;
  }[];
  rebuilding: boolean;
  rebuildError: string | null;
  lag: { events?: number; eventsAtLeast?: boolean; seconds?: number } | null;
  lease?: {
    mode: string;
    role: string;
    holder: string | null;
    token: number | null;
    expires_at: string | null;
  };
};

/** Who runs it: `leader`, `follower of <holder>`, or `none` (PROJECTOR=on|off: no lease). */
function roleText(lease: Report['lease']): string {
  if (lease === undefined) return 'none';
  if (lease.role === 'follower') return `follower of ${lease.holder ?? '(none yet)'}`;
  return lease.role;
}

function positionText(position: Report['position']): string {
  return position === null ? '-' : `${position.commit}/${position.prepare}`;
}

function lagText(lag: Report['lag']): string {
  if (lag === null || lag.events === undefined) return 'lag unknown';
  return `lag ${lag.events}${lag.eventsAtLeast ? '+' : ''} events / ${Math.round(lag.seconds ?? 0)} s`;
}

function option(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

export const processorsCommand: CliCommand = {
  run: (args) =>
    guarded(async () => {
      const [action, name] = args;
      const actions = ['list', 'status', 'retry', 'skip', 'rebuild'];
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
      const list = async () =>
        ((await client.get('/api/v1/admin/processors')) as { processors: Report[] }).processors;

      if (action === 'list') {
        const processors = await list();
        if (processors.length === 0) console.log('no processors run in this replica');
        const width = Math.max(4, ...processors.map((p) => p.name.length));
        for (const p of processors) {
          const failures = p.failures.length === 0 ? '' : `  ${p.failures.length} FAILED event(s)`;
          console.log(
            `${p.name.padEnd(width)}  ${p.kind.padEnd(9)} ${p.state.padEnd(7)} ${p.phase.padEnd(12)} ${roleText(p.lease).padEnd(10)} at ${positionText(p.position)}  ${lagText(p.lag)}${p.rebuilding ? '  (rebuilding)' : ''}${failures}`,
          );
        }
        return processors.some((p) => p.state === 'failed') ? 1 : 0;
      }

      if (name === undefined || name.startsWith('--')) {
        console.error(`error: ${action} needs a processor name (see "processors list")`);
        return 2;
      }
      const path = `/api/v1/admin/processors/${encodeURIComponent(name)}`;
      /** The processor as the service knows it; an unknown name is a usage error naming the known ones. */
      const report = async (): Promise<Report | undefined> => {
        try {
          return (await client.get(path)) as Report;
        } catch (error) {
          if (!(error instanceof CliError) || error.code !== 'processor.not_found') throw error;
          const names = (await list()).map((p) => p.name);
          console.error(
            `error: unknown processor "${name}"${didYouMean(name, names)}; processors: ${names.join(', ') || 'none'}`,
          );
          return undefined;
        }
      };

      const current = await report();
      if (current === undefined) return 2;
      if (action === 'status') {
        console.log(
          `${current.name} (${current.kind}): ${current.state}, ${current.phase}, at ${positionText(current.position)}, ${lagText(current.lag)}, ${current.handledEvents} events handled`,
        );
        const lease = current.lease;
        if (lease !== undefined) {
          console.log(
            `  lease: mode ${lease.mode}, role ${lease.role}, holder ${lease.holder ?? '-'}, token ${lease.token ?? '-'}, expires ${lease.expires_at ?? '-'}`,
          );
        }
        for (const failure of current.failures) {
          console.log(
            `  ${failure.action} at event ${failure.eventId} (${failure.type} in ${failure.streamId}): ${failure.reason}`,
          );
        }
        for (const rebuild of current.rebuilds) {
          console.log(
            `  rebuilding: ${progressLine(rebuild.fraction, rebuild.eventsDone, rebuild.eventsPerSecond, rebuild.estimatedRemainingSeconds)}`,
          );
        }
        return current.state === 'failed' ? 1 : 0;
      }
      if (action === 'retry') {
        const answer = (await client.post(`${path}/retry`)) as { events: string[] };
        console.log(
          answer.events.length === 0
            ? `${name}: nothing failed; nothing to retry`
            : `${name}: retrying ${answer.events.join(', ')}`,
        );
        return 0;
      }
      if (action === 'skip') {
        const eventId = option(args, '--event');
        const reason = option(args, '--reason');
        if (eventId === undefined || reason === undefined) {
          console.error('error: skip needs --event <event-id> (as status shows it) and --reason "<why>"');
          return 2;
        }
        await client.post(`${path}/skip`, { event_id: eventId, reason });
        console.log(
          current.kind === 'reactor'
            ? `${name}: skipped event ${eventId}; it is acknowledged without effect when parked events are replayed (processors retry ${name})`
            : `${name}: skipped event ${eventId}`,
        );
        return 0;
      }

      await client.post(`${path}/rebuild`);
      const bar = progressWriter();
      let last = { eventsDone: 0, eventsPerSecond: 0 };
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        const now = (await client.get(path)) as Report;
        const progress = now.rebuilds[0];
        if (progress) {
          last = progress;
          bar.draw(
            progressLine(
              progress.fraction,
              progress.eventsDone,
              progress.eventsPerSecond,
              progress.estimatedRemainingSeconds,
            ),
          );
        }
        if (!now.rebuilding) {
          if (now.rebuildError === null) break;
          bar.finish(
            progressLine(now.rebuilds[0]?.fraction ?? 0, last.eventsDone, last.eventsPerSecond, null),
          );
          console.error(`error: the rebuild of ${name} failed: ${now.rebuildError}`);
          return 1;
        }
      }
      bar.finish(progressLine(1, last.eventsDone, last.eventsPerSecond, null));
      console.log(`${name}: rebuilt and swapped`);
      return 0;
    }),
};
