import type { LeaseTimers } from '../../src/eventsourcing/processor/leased.ts';

/**
 * Time that moves only when a test says so: `advance` wakes the sleepers whose time came.
 * `settled` lets the code under test run until it waits for time (or for nothing at all).
 */
export function createFakeTimers(start = 1_000_000): LeaseTimers & {
  advance(ms: number): Promise<void>;
  settled(): Promise<void>;
} {
  let now = start;
  const sleepers = new Set<{ at: number; wake(): void }>();
  async function settled() {
    // The code under test only awaits promises that resolve at once (memory stores, fakes):
    // a few turns of the event loop let every chain run to its next sleep.
    for (let turn = 0; turn < 50; turn++) await new Promise((resolve) => setImmediate(resolve));
  }
  return {
    now: () => now,
    sleep(ms, signal) {
      return new Promise((resolve) => {
        if (signal.aborted) return resolve();
        const sleeper = {
          at: now + ms,
          wake() {
            sleepers.delete(sleeper);
            signal.removeEventListener('abort', sleeper.wake);
            resolve();
          },
        };
        sleepers.add(sleeper);
        signal.addEventListener('abort', sleeper.wake, { once: true });
      });
    },
    async advance(ms) {
      const end = now + ms;
      // Step through each due sleeper in time order, letting the woken code run before the next.
      for (;;) {
        await settled();
        const due = [...sleepers].filter((s) => s.at <= end).sort((a, b) => a.at - b.at)[0];
        if (due === undefined) break;
        now = Math.max(now, due.at);
        due.wake();
      }
      now = end;
      await settled();
    },
    settled,
  };
}
