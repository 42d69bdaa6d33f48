import { checkLeaseIdentity, type Lease, type LeaseStore, type LeaseWrite } from './lease.ts';

/** Leases in this process only: for tests and single-process runs (nothing to share with). */
export function createMemoryLeaseStore(): LeaseStore {
  const leases = new Map<string, Lease>();

  function compareAndSet(name: string, expected: Lease | null, next: Omit<Lease, 'version'>): LeaseWrite {
    const current = leases.get(name) ?? null;
    if ((current?.version ?? 0) !== (expected?.version ?? 0)) {
      return { outcome: 'conflict', current: current && { ...current } };
    }
    const lease = { ...next, version: (current?.version ?? 0) + 1 };
    leases.set(name, lease);
    return { outcome: 'written', lease: { ...lease } };
  }

  return {
    async read(name) {
      const lease = leases.get(name);
      return lease ? { ...lease } : null;
    },
    async acquire(name, holder, expected, expiresAt) {
      checkLeaseIdentity(name, holder);
      return compareAndSet(name, expected, { name, holder, token: (expected?.token ?? 0) + 1, expiresAt });
    },
    async renew(lease, expiresAt) {
      return compareAndSet(lease.name, lease, { ...lease, expiresAt });
    },
    async release(lease) {
      return compareAndSet(lease.name, lease, { ...lease, holder: '', expiresAt: 0 });
    },
    async close() {},
  };
}
