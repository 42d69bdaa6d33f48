import type { EventStore } from '../store.ts';

/** Persistent subscription groups (placeholder until the subsystem lands). */
export class PersistentSubscriptions {
  readonly store: EventStore;
  constructor(store: EventStore) {
    this.store = store;
  }
  async load(): Promise<void> {}
  stop(): void {}
}
