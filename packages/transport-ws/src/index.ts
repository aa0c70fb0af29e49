export { CloseCodes, WsClientDefaults, WsServerDefaults } from './defaults.js';
export { WsConnection } from './ws-connection.js';
export {
  listenWsUrl,
  type WsListener,
  type WsListenerOptions,
  type WsServerOptions,
  type WsTransportServerOptions,
  wsListener,
} from './ws-listener.js';
export { type WsTlsOptions, type WsTransport, type WsTransportOptions, wsTransport } from './ws-transport.js';
