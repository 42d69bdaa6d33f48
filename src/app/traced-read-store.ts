import type { ReadStore } from '../eventsourcing/readstore/port.ts';
import { inSpan, SpanKind } from '../observability/tracing.ts';

/**
 * The same read store, with a client span around each query and write, so a trace shows the
 * read-model round trips (`db.system` names the adapter).
 */
export function tracedReadStore(store: ReadStore, system: 'mongodb' | 'memory'): ReadStore {
  const span = <T>(operation: string, collection: string, work: () => Promise<T>) =>
    inSpan(
      `${system}.${operation} ${collection}`,
      {
        kind: SpanKind.CLIENT,
        attributes: { 'db.system': system, 'db.operation': operation, 'db.collection.name': collection },
      },
      work,
    );
  return {
    ...store,
    get: (collection, id) => span('get', collection, () => store.get(collection, id)),
    find: (collection, query) => span('find', collection, () => store.find(collection, query)),
    count: (collection, filter) => span('count', collection, () => store.count(collection, filter)),
    load: (target, ids) => span('load', target, () => store.load(target, ids)),
    write: (target, writes, fence) => span('write', target, () => store.write(target, writes, fence)),
  };
}
