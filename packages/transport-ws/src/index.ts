export { CloseCodes, WsClientDefaults, WsServerDefaults } from './defaults.js';
export {
  listenWsUrl,
  type WsServerOptions,
  type WsTransport,
  type WsTransportServerOptions,
} from './listen-url.js';
export { WsConnection } from './ws-connection.js';
export { type WsListener, type WsListenerOptions, wsListener } from './ws-listener.js';
export { type WsTlsOptions, type WsTransportOptions, wsTransport } from './ws-transport.js';
