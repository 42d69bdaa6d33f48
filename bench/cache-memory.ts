/**
 * Resident memory of the command handler's state cache with many streams cached.
 *
 *   npx tsx --expose-gc bench/cache-memory.ts [streams=100000]
 *
 * Opens `streams` accounts (one command each) through a handler over the in-memory event store,
 * once with the cache off (the baseline: the store's own memory) and once with it on, each in a
 * fresh child process, and prints heap and resident memory side by side with the cache's own
 * estimate of its size.
 */
import { spawnSync } from 'node:child_process';
import { createCommandHandler } from '../src/eventsourcing/command/handler.ts';
import { createInMemoryEventStore } from '../src/eventsourcing/testing/in-memory-event-store.ts';
import { accountDecider, accountEvents } from '../test/support/eventsourcing-sample.ts';

const streams = Number(process.argv[2] ?? 100_000);
const mode = process.argv[3];

type Figures = { heapMiB: number; rssMiB: number; cacheEntries: number; cacheMiB: number; seconds: number };

async function measure(cached: boolean): Promise<Figures> {
  const eventStore = createInMemoryEventStore();
  const handler = createCommandHandler({
    eventStore,
    decider: accountDecider,
    events: accountEvents,
    streamName: (id) => `acc-${id}`,
    cache: cached ? { maxEntries: streams, maxBytes: 2 ** 34 } : false,
  });
  const started = performance.now();
  for (let i = 0; i < streams; i++) {
    const id = `a${i}`;
    await handler.handle(
      id,
      { type: 'OpenAccount', accountId: id, owner: 'bench' },
      { idempotencyKey: `o${i}`, actor: 'b' },
    );
  }
  const seconds = (performance.now() - started) / 1000;
  (globalThis as { gc?: () => void }).gc?.();
  const memory = process.memoryUsage();
  const stats = handler.stats();
  return {
    heapMiB: memory.heapUsed / 2 ** 20,
    rssMiB: memory.rss / 2 ** 20,
    cacheEntries: stats.entries,
    cacheMiB: stats.bytes / 2 ** 20,
    seconds,
  };
}

if (mode === 'off' || mode === 'on') {
  process.stdout.write(JSON.stringify(await measure(mode === 'on')));
} else {
  const run = (which: string): Figures => {
    const child = spawnSync(
      process.execPath,
      ['--expose-gc', '--import', 'tsx', new URL(import.meta.url).pathname, String(streams), which],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    if (child.status !== 0) throw new Error(child.stderr);
    return JSON.parse(child.stdout) as Figures;
  };
  const off = run('off');
  const on = run('on');
  const f = (n: number) => n.toFixed(1);
  console.log(`\nState cache memory, ${streams.toLocaleString('en-US')} streams of one event each\n`);
  console.log('| run | heap MiB | resident MiB | cache entries | cache estimate MiB | s |');
  console.log('|---|---:|---:|---:|---:|---:|');
  console.log(
    `| cache off (baseline: the store itself) | ${f(off.heapMiB)} | ${f(off.rssMiB)} | 0 | 0 | ${f(off.seconds)} |`,
  );
  console.log(
    `| cache on | ${f(on.heapMiB)} | ${f(on.rssMiB)} | ${on.cacheEntries} | ${f(on.cacheMiB)} | ${f(on.seconds)} |`,
  );
  console.log(
    `| difference | ${f(on.heapMiB - off.heapMiB)} | ${f(on.rssMiB - off.rssMiB)} | | | |\n\nper cached stream: ${(((on.heapMiB - off.heapMiB) * 2 ** 20) / streams).toFixed(0)} bytes of heap`,
  );
}
