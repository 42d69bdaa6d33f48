import { adminClient, guarded } from './admin-client.ts';
import type { CliCommand } from './command.ts';
import { didYouMean } from './suggest.ts';

const STATUSES = ['deferred', 'due', 'executing', 'completed'];

const help = `usage: npm run --silent cli -- erasures list [--status <${STATUSES.join('|')}>] [--limit <n>] [--url <service>]
       npm run --silent cli -- erasures run [--url <service>]
       npm run --silent cli -- erasures reshred [--url <service>]

Erasure requests, of a whole case or of one subject of it (listed as <case>/subjects/<subject>),
are accepted at once and run when the retention of their case has ended and no legal hold
remains (a subject recorded in error does not wait for retention). "list" shows where each
stands now (what blocks a deferred one, when it is due); "run" runs the due job now instead of
waiting for its interval: every erasure that is due, or was cut short, is completed; deferred
and held ones are left as they are, whoever asks.
"reshred" replays the erasure ledger (the completed erasures in the event store) into the key
store: every key they destroyed is destroyed again. Run it after restoring the key store from a
backup (the service also does it at every start).
Needs an admin key in KYC_API_KEY when the service has API_KEYS.`;

type Listed = {
  case_id: string;
  subject_id?: string | null;
  status: string;
  requested_at: string;
  due_at?: string | null;
  blocking?: string[];
  completed_at?: string;
};

function option(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

/**
 * One line per request: status, case (or `<case>/subjects/<subject>`, as `run` names it), and
 * what it waits for or when it completed.
 */
function line(erasure: Listed): string {
  const detail =
    erasure.status === 'completed'
      ? `completed ${erasure.completed_at}`
      : erasure.status === 'deferred'
        ? `due ${erasure.due_at ?? 'unknown'}, blocked by ${erasure.blocking?.join(', ')}`
        : erasure.status === 'due'
          ? `due since ${erasure.due_at}`
          : 'started, not completed';
  const what = erasure.subject_id ? `${erasure.case_id}/subjects/${erasure.subject_id}` : erasure.case_id;
  return `${erasure.status.padEnd(9)}  ${what}  requested ${erasure.requested_at}  ${detail}`;
}

export const erasuresCommand: CliCommand = {
  run: (args) =>
    guarded(async () => {
      const [action] = args;
      if (args.includes('--help') || args.includes('-h')) {
        console.log(help);
        return 0;
      }
      const actions = ['list', 'run', 'reshred'];
      if (action === undefined || !actions.includes(action)) {
        if (action !== undefined) console.error(`unknown action "${action}"${didYouMean(action, actions)}\n`);
        console.error(help);
        return 2;
      }
      const client = adminClient(args, process.env);
      if (action === 'reshred') {
        const report = (await client.post('/api/v1/admin/erasures/ledger/replay')) as {
          erasures: number;
          keys: number;
          destroyed_again: string[];
          tombstones_added: string[];
        };
        console.log(
          `${report.erasures} completed erasure(s), ${report.keys} key(s): ${report.destroyed_again.length} destroyed again, ${report.tombstones_added.length} tombstone(s) added`,
        );
        for (const keyId of report.destroyed_again) console.log(`destroyed again  ${keyId}`);
        for (const keyId of report.tombstones_added) console.log(`tombstone added  ${keyId}`);
        return 0;
      }
      if (action === 'run') {
        const { completed } = (await client.post('/api/v1/admin/erasures/run')) as { completed: string[] };
        console.log(
          completed.length === 0 ? 'no erasure was due' : `${completed.length} erasure(s) completed`,
        );
        for (const caseId of completed) console.log(`completed  ${caseId}`);
        return 0;
      }
      const status = option(args, '--status');
      if (status !== undefined && !STATUSES.includes(status)) {
        console.error(
          `unknown status "${status}"${didYouMean(status, STATUSES)}; one of ${STATUSES.join(', ')}`,
        );
        return 2;
      }
      const query = new URLSearchParams({
        limit: option(args, '--limit') ?? '100',
        ...(status === undefined ? {} : { status }),
      });
      const { erasures } = (await client.get(`/api/v1/admin/erasures?${query}`)) as { erasures: Listed[] };
      if (erasures.length === 0) console.log('no erasure requests');
      for (const erasure of erasures) console.log(line(erasure));
      return 0;
    }),
};
