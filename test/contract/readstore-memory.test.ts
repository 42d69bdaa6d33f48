import { createInMemoryReadStore } from '../../src/eventsourcing/readstore/memory.ts';
import { readStoreContract } from './readstore-contract.ts';

readStoreContract('in-memory', async () => createInMemoryReadStore());
