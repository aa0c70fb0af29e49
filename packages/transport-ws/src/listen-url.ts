import { type ClientTransport, parseListenUrl } from '@resilient-rpc/core';
import { type WsListener, type WsListenerOptions, wsListener } from './ws-listener.js';

/**
 * Server options of {@link wsTransport} that a listen URL does not carry: everything of
 * {@link WsListenerOptions} except `port`, `host` and `path` (from the URL) and `server` (a
 * listener made from a URL has a port of its own; use `wsListener({ server })` to share one).
 */
export type WsServerOptions = Omit<WsListenerOptions, 'port' | 'host' | 'path' | 'server'>;

/** The server side of the WebSocket transport's options. */
export interface WsTransportServerOptions {
  /**
   * Options of the listeners `transport.listen(url)` creates (limits, heartbeat, `tls` for
   * `wss://` URLs, `verifyUpgrade`…); the URL gives host, port and path. Default: the
   * {@link WsServerDefaults}.
   */
  server?: WsServerOptions;
}

/** The WebSocket transport: a client transport that also creates listeners for listen URLs. */
export interface WsTransport extends ClientTransport {
  /** The server side: a listener for `ws://host:port/path` (or `wss://`, with `server.tls`). */
  listen(url: string): WsListener;
}

/**
 * Creates the WebSocket listener for a listen URL: `ws://host:port/path` or `wss://host:port/path`
 * (the latter needs `server.tls`). Host `0.0.0.0` (or `[::]`) binds every interface; port `0`
 * picks a free one (read the real one from `listener.urls` after start); the URL's path is the
 * upgrade path, so the listen URL and the client's endpoint URL are the same. A missing port is
 * the scheme's default (80, 443). Throws a `TypeError` for anything else.
 */
export function listenWsUrl(url: string, options: WsServerOptions = {}): WsListener {
  const form = { transport: 'WebSocket', schemes: ['ws', 'wss'], factory: 'wsTransport' } as const;
  const { host, port, path } = parseListenUrl(url, { ...form, tls: options.tls !== undefined });
  return wsListener({ ...options, host, port, path });
}
