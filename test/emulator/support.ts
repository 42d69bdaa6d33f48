import { randomUUID } from 'node:crypto';
import { type EventStoreDBClient, jsonEvent, type ResolvedEvent } from '@eventstore/db-client';

/** The two write paths every conformance suite runs on. */
export const WRITE_PATHS = ['batch', 'append'] as const;
export type WritePath = (typeof WRITE_PATHS)[number];

export const pathName = (path: WritePath) => (path === 'batch' ? 'BatchAppend' : 'Append');

/** A fresh stream name, so tests can share one emulator. */
export const streamName = (prefix = 'test') => `${prefix}-${randomUUID()}`;

export const testEvents = (count = 4, type = 'test') =>
  Array.from({ length: count }, (_, i) => jsonEvent({ type, data: { index: i } }));

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export async function readTypes(client: EventStoreDBClient, stream: string): Promise<string[]> {
  return (await collect(client.readStream(stream))).map((resolved) => resolved.event!.type);
}

export { eventually } from '../support/eventually.ts';

/** Takes `count` items from a subscription-like async iterable, failing after `ms`. */
export async function take<T>(iterable: AsyncIterable<T>, count: number, ms = 5000): Promise<T[]> {
  const items: T[] = [];
  if (count === 0) return items;
  const iterator = iterable[Symbol.asyncIterator]();
  const deadline = new Promise<never>((_, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`timed out after ${items.length} of ${count} items`)),
      ms,
    );
    timer.unref();
  });
  while (items.length < count) {
    const next = await Promise.race([iterator.next(), deadline]);
    if (next.done) break;
    items.push(next.value);
  }
  return items;
}

export const eventTypes = (events: ResolvedEvent[]) => events.map((resolved) => resolved.event?.type);

/** What catch-up and persistent subscriptions of the client have in common. */
type SubscriptionLike = {
  on(event: string, listener: (...args: never[]) => void): unknown;
  unsubscribe(): Promise<void>;
};

/** Records what a catch-up subscription signals, in order: confirmation, events, caughtUp, checkpoints, errors. */
export function record(subscription: SubscriptionLike) {
  const log: string[] = [];
  const events: (ResolvedEvent & { retryCount?: number })[] = [];
  const checkpoints: { commit: bigint; prepare: bigint }[] = [];
  let error: Error | undefined;
  const waiters = new Set<() => void>();
  const wake = () => {
    for (const waiter of waiters) waiter();
  };
  const on = subscription.on.bind(subscription) as (
    event: string,
    listener: (value: never) => void,
  ) => unknown;
  on('confirmation', () => {
    log.push('confirmation');
    wake();
  });
  on('caughtUp', () => {
    log.push('caughtUp');
    wake();
  });
  on('data', (event: ResolvedEvent) => {
    events.push(event);
    log.push(`event:${event.event?.type ?? event.link?.type}`);
    wake();
  });
  on('error', (failure: Error) => {
    error = failure;
    log.push(`error:${failure.constructor.name}`);
    wake();
  });
  return {
    log,
    events,
    checkpoints,
    get error() {
      return error;
    },
    /** Call from a filter's `checkpointReached`. */
    checkpoint(position: { commit: bigint; prepare: bigint }) {
      checkpoints.push(position);
      log.push('checkpoint');
      wake();
    },
    /** Waits until `done()` holds, failing after `ms` with the log so far. */
    async until(what: string, done: () => boolean, ms = 5000): Promise<void> {
      if (done()) return;
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${what}; saw ${log.slice(-20).join(', ')}`));
        }, ms);
        const check = () => {
          if (!done()) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        waiters.add(check);
      });
    },
    stop: () => subscription.unsubscribe(),
  };
}
