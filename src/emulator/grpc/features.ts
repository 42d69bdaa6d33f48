import type { IServerFeaturesServer } from '@eventstore/db-client/generated/serverfeatures_grpc_pb.js';
import featuresPb from '@eventstore/db-client/generated/serverfeatures_pb.js';

/** Server version reported to clients; the behaviour modelled is that of this release. */
export const SERVER_VERSION = '24.10.4';

/** A method the server advertises, by its gRPC path, with its feature strings. */
export type AdvertisedMethod = { path: string; features: readonly string[] };

/**
 * `GetSupportedMethods`: the client decides from this list whether to use BatchAppend and whether
 * persistent subscriptions to `$all` are allowed. Only implemented methods are listed, lower-cased
 * as the server lists them.
 */
export function createServerFeaturesService(methods: readonly AdvertisedMethod[]): IServerFeaturesServer {
  return {
    getSupportedMethods(_call, callback) {
      const response = new featuresPb.SupportedMethods();
      response.setEventStoreServerVersion(SERVER_VERSION);
      for (const method of methods) {
        const [, service = '', name = ''] = method.path.split('/');
        const supported = new featuresPb.SupportedMethod();
        supported.setServiceName(service.toLowerCase());
        supported.setMethodName(name.toLowerCase());
        supported.setFeaturesList([...method.features]);
        response.addMethods(supported);
      }
      callback(null, response);
    },
  };
}
