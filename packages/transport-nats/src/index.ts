export {
  NatsTransportDefaults,
  type NatsTransportOptions,
  natsCapabilities,
  natsTransport,
} from './client.js';
export {
  type DiscoveryResponder,
  SERVICE_API_PREFIX,
  ServiceEndpointCounters,
  type ServiceIdentityOptions,
  ServiceMetadataKeys,
  ServiceResponseTypes,
  serviceNameFor,
} from './discovery.js';
export { NatsDiscoveryDefaults, type NatsDiscoveryOptions } from './instance-discovery.js';
export {
  listenNatsUrl,
  NatsListenerDefaults,
  type NatsListenerOptions,
  type NatsServerListener,
  type NatsServerOptions,
  type NatsTransport,
  type NatsTransportServerOptions,
  natsListener,
} from './listener.js';
export { NatsClientDefaults } from './shared-connection.js';
export { type NatsEndpoint, parseNatsUrl, validateSubject, withSubject } from './url.js';
