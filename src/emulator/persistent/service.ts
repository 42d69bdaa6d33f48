import type { IPersistentSubscriptionsServer } from '@eventstore/db-client/generated/persistent_grpc_pb.js';
import type { PersistentSubscriptions } from './subscriptions.ts';

/** The `PersistentSubscriptions` service; methods not yet implemented answer UNIMPLEMENTED. */
export function createPersistentSubscriptionsService(
  _: PersistentSubscriptions,
): Partial<IPersistentSubscriptionsServer> {
  return {};
}
