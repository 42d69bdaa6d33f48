/** Exponential backoff with full jitter: the delay before attempt `attempt` (1-based) retries. */
export type Backoff = { initialDelayMs: number; maxDelayMs: number; factor: number };

export const defaultBackoff: Backoff = { initialDelayMs: 20, maxDelayMs: 5_000, factor: 2 };

/** `random` is injectable so tests can pin the jitter. */
export function backoffDelay(backoff: Backoff, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(backoff.maxDelayMs, backoff.initialDelayMs * backoff.factor ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** A sleep that an AbortSignal cuts short (resolves early, never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
