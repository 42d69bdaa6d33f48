import { randomUUID } from 'node:crypto';
import { createCommandHandler } from '../../src/eventsourcing/command/handler.ts';
import type { AllPosition } from '../../src/eventsourcing/core/events.ts';
import { comparePositions } from '../../src/eventsourcing/core/positions.ts';
import type { EventStore, NewEvent } from '../../src/eventsourcing/eventstore/port.ts';
import { accountDecider, accountEvents } from '../../test/support/eventsourcing-sample.ts';

// The account workload the framework benchmarks share: commands through the handler, and a
// log seeded with account streams for the projector to catch up on.

export const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
}

export async function commandThroughput(eventStore: EventStore, writers: number, total: number) {
  const category = `cmd${randomUUID().slice(0, 6)}`;
  const handler = createCommandHandler({
    eventStore,
    decider: accountDecider,
    streamName: (id) => `${category}-${id}`,
    events: accountEvents,
  });
  const perWriter = Math.ceil(total / writers);
  const latencies: number[] = [];
  // Each writer works through its own accounts: an open, then nine deposits, then the next
  // account, so streams stay short (10 events) and the read part of a command stays constant.
  const started = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < perWriter; i++) {
        const id = `w${w}a${Math.floor(i / 10)}`;
        const command =
          i % 10 === 0
            ? ({ type: 'OpenAccount', accountId: id, owner: 'bench' } as const)
            : ({ type: 'Deposit', accountId: id, amount: 1 } as const);
        const t0 = performance.now();
        const result = await handler.handle(id, command, { idempotencyKey: `cmd-${w}-${i}`, actor: 'bench' });
        latencies.push(performance.now() - t0);
        if (result.outcome !== 'appended') throw new Error(`unexpected ${result.outcome}`);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    perSecond: latencies.length / seconds,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    count: latencies.length,
  };
}

/** Seeds `total` account events (10 per stream: opened + 9 deposits), 10 per append. */
export async function seedAccounts(
  eventStore: EventStore,
  category: string,
  total: number,
): Promise<AllPosition> {
  const streams = Math.ceil(total / 10);
  let last: AllPosition = { commit: 0n, prepare: 0n };
  const metadata = (type: string) => ({
    correlationId: 'seed',
    causationId: 'seed',
    idempotencyKey: 'seed',
    actor: 'bench',
    schemaVersion: accountEvents.versionOf(type),
  });
  const parallel = 8;
  for (let start = 0; start < streams; start += parallel) {
    const results = await Promise.all(
      Array.from({ length: Math.min(parallel, streams - start) }, (_, k) => {
        const id = `s${start + k}`;
        const events: NewEvent[] = [
          {
            id: randomUUID(),
            type: 'AccountOpened',
            data: { accountId: id, owner: 'bench' },
            metadata: metadata('AccountOpened'),
          },
          ...Array.from({ length: 9 }, (_, d) => ({
            id: randomUUID(),
            type: 'MoneyDeposited',
            data: { accountId: id, amount: d + 1, currency: 'EUR' },
            metadata: metadata('MoneyDeposited'),
          })),
        ];
        return eventStore.appendToStream(`${category}-${id}`, events, 'no_stream');
      }),
    );
    for (const result of results) {
      if (result.outcome === 'appended' && comparePositions(result.position, last) > 0)
        last = result.position;
    }
  }
  return last;
}
