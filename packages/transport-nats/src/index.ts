export { type NatsTransportOptions, natsCapabilities, natsTransport } from './client.js';
export {
  type DiscoveryResponder,
  EndpointStats,
  SERVICE_API_PREFIX,
  type ServiceIdentityOptions,
  ServiceResponseTypes,
  serviceNameFor,
} from './discovery.js';
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
export { type NatsEndpoint, parseNatsUrl, validateSubject } from './url.js';
