import { createMemoryLeaseStore } from '../../src/eventsourcing/leadership/memory.ts';
import { leaseStoreContract } from './lease-store-contract.ts';

leaseStoreContract('in memory', async () => createMemoryLeaseStore());
