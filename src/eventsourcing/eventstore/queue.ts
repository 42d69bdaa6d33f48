/**
 * An unbounded-by-contract but flow-controlled async queue: producers push, one consumer
 * iterates. Crossing `highWaterMark` calls `pause`, draining to `lowWaterMark` calls `resume`,
 * so a fast server cannot fill memory while the consumer is slow.
 */
export type FlowControl = { pause(): void; resume(): void };

export class AsyncQueue<T> implements AsyncIterable<T> {
  readonly #items: T[] = [];
  #head = 0;
  #waiter: { resolve(result: IteratorResult<T>): void; reject(error: unknown): void } | null = null;
  #ended = false;
  #error: unknown = undefined;
  #failed = false;
  #paused = false;
  readonly #flow: FlowControl | undefined;
  readonly #high: number;
  readonly #low: number;
  #onEmpty: (() => void)[] = [];

  constructor(flow?: FlowControl, highWaterMark = 1024) {
    this.#flow = flow;
    this.#high = highWaterMark;
    this.#low = Math.floor(highWaterMark / 4);
  }

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    if (this.#ended || this.#failed) return;
    if (this.#waiter) {
      const waiter = this.#waiter;
      this.#waiter = null;
      waiter.resolve({ value: item, done: false });
      return;
    }
    this.#items.push(item);
    if (!this.#paused && this.length >= this.#high && this.#flow) {
      this.#paused = true;
      this.#flow.pause();
    }
  }

  end(): void {
    this.#ended = true;
    this.#settleWaiter();
  }

  fail(error: unknown): void {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = error;
    this.#settleWaiter();
  }

  /** Resolves once the consumer has taken every item pushed so far. */
  drained(): Promise<void> {
    if (this.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#onEmpty.push(resolve));
  }

  #settleWaiter(): void {
    if (!this.#waiter || this.length > 0) return;
    const waiter = this.#waiter;
    this.#waiter = null;
    if (this.#failed) waiter.reject(this.#error);
    else waiter.resolve({ value: undefined, done: true });
  }

  #take(): T {
    const item = this.#items[this.#head] as T;
    this.#items[this.#head] = undefined as T;
    this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    if (this.#paused && this.length <= this.#low && this.#flow) {
      this.#paused = false;
      this.#flow.resume();
    }
    if (this.length === 0 && this.#onEmpty.length > 0) {
      const callbacks = this.#onEmpty;
      this.#onEmpty = [];
      for (const callback of callbacks) callback();
    }
    return item;
  }

  next(): Promise<IteratorResult<T>> {
    if (this.length > 0) return Promise.resolve({ value: this.#take(), done: false });
    if (this.#failed) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => {
      this.#waiter = { resolve, reject };
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return { next: () => this.next(), return: async () => ({ value: undefined, done: true }) };
  }
}
