export { CloseCodes, WsClientDefaults, WsServerDefaults } from './defaults.js';
export { WsConnection } from './ws-connection.js';
export { type WsListener, type WsListenerOptions, wsListener } from './ws-listener.js';
export { type WsTlsOptions, type WsTransportOptions, wsTransport } from './ws-transport.js';
