/**
 * Child process of the projector crash test: runs one projector until it is killed.
 * argv: <esdb connection string> <mongodb url> <database> <category> <collection>
 */
import { createEsdbEventStore } from '../../../src/eventsourcing/eventstore/esdb.ts';
import { createProjector } from '../../../src/eventsourcing/projection/projector.ts';
import { createMongoReadStore } from '../../../src/eventsourcing/readstore/mongo.ts';
import { accountEvents, accountsProjection } from '../../support/eventsourcing-sample.ts';

const [connectionString, url, database, category, collection] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const eventStore = createEsdbEventStore({ connectionString });
const readStore = createMongoReadStore({ url, database, aliasCacheMs: 0 });
const projector = createProjector({
  name: 'crash',
  eventStore,
  readStore,
  projections: [accountsProjection(collection, { name: `crash_${collection}` })],
  filter: { streamPrefixes: [`${category}-`] },
  events: accountEvents,
  batchSize: 7,
  batchDelayMs: 3,
  backoff: { initialDelayMs: 5, maxDelayMs: 50, factor: 2 },
});
await projector.start();
process.stdout.write('started\n');
process.stdin.resume();
process.stdin.on('end', () => {
  void projector
    .stop()
    .then(() => Promise.all([readStore.close(), eventStore.close()]))
    .then(() => process.exit(0));
});
