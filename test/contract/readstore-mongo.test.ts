import { mongoReadStore } from '../support/readstore-mongo.ts';
import { readStoreContract } from './readstore-contract.ts';

readStoreContract('MongoDB (FerretDB)', (t) => mongoReadStore(t));
