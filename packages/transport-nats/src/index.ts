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
  type NatsServerOptions,
  type NatsTransport,
  type NatsTransportServerOptions,
} from './listen-url.js';
export {
  NatsListenerDefaults,
  type NatsListenerOptions,
  type NatsServerListener,
  natsListener,
} from './listener.js';
export { NatsClientDefaults } from './shared-connection.js';
export { type NatsEndpoint, parseNatsUrl, validateSubject, withSubject } from './url.js';
