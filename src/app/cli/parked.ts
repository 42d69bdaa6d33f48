import { type AdminClient, adminClient, CliError, guarded } from './admin-client.ts';
import type { CliCommand } from './command.ts';

const help = `usage: npm run --silent cli -- parked list [--limit <n>] [--url <service>]
       npm run --silent cli -- parked replay [--stop-at <n>] [--url <service>]

Notifications the publisher gave up on are parked by the event store. "list" shows them with the
reason, oldest first; "replay" sends them (all, or the first n) back to the publisher.
A service without the Kafka bridge (no KAFKA_BROKERS) publishes no notifications, so it parks none:
both actions say so and exit 0.
Needs an admin key in KYC_API_KEY when the service has API_KEYS.`;

/** The service runs without Kafka: nothing is published there, so nothing can be parked. */
function bridgeOff(error: unknown): boolean {
  if (!(error instanceof CliError) || error.code !== 'kafka.bridge_off') return false;
  console.log(
    'the Kafka bridge is off in this service (KAFKA_BROKERS is not set): it publishes no notifications, so none are parked',
  );
  return true;
}

function option(args: readonly string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args[index + 1] : undefined;
}

export const parkedCommand: CliCommand = {
  run: (args) =>
    guarded(async () => {
      const [action] = args;
      if (args.includes('--help') || (action !== 'list' && action !== 'replay')) {
        console.log(help);
        return args.includes('--help') ? 0 : 2;
      }
      const client = adminClient(args, process.env);
      try {
        return await parkedAction(client, action, args);
      } catch (error) {
        if (bridgeOff(error)) return 0;
        throw error;
      }
    }),
};

async function parkedAction(
  client: AdminClient,
  action: 'list' | 'replay',
  args: readonly string[],
): Promise<number> {
  if (action === 'list') {
    const limit = option(args, '--limit') ?? '100';
    const parked = (await client.get(`/api/v1/admin/notifications/parked?limit=${limit}`)) as {
      event_id: string;
      stream: string;
      reason: string;
      parked_at: string | null;
    }[];
    if (parked.length === 0) console.log('no parked notifications');
    for (const entry of parked) {
      console.log(`${entry.parked_at ?? '-'}  ${entry.event_id}  ${entry.stream}  ${entry.reason}`);
    }
    return 0;
  }
  const stopAt = option(args, '--stop-at');
  await client.post(
    `/api/v1/admin/notifications/parked/replay${stopAt === undefined ? '' : `?stop_at=${stopAt}`}`,
  );
  console.log(`replaying ${stopAt === undefined ? 'every parked notification' : `the first ${stopAt}`}`);
  return 0;
}
