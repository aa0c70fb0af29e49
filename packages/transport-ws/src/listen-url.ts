import type { ClientTransport } from '@resilient-rpc/core';
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
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new TypeError(`not a WebSocket listen URL (ws://host:port/path): ${url}`, { cause });
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'ws' && scheme !== 'wss') {
    throw new TypeError(`the WebSocket transport listens on ws:// and wss:// URLs, not ${scheme}: ${url}`);
  }
  if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '') {
    throw new TypeError(`a WebSocket listen URL has no credentials, query or fragment: ${url}`);
  }
  if (scheme === 'wss' && options.tls === undefined) {
    throw new TypeError(
      `a wss:// listen URL needs a certificate: wsTransport({ server: { tls: { key, cert } } }) (${url})`,
    );
  }
  if (scheme === 'ws' && options.tls !== undefined) {
    throw new TypeError(`server.tls is set, so listen on a wss:// URL, not ${url}`);
  }
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === '' ? (scheme === 'wss' ? 443 : 80) : Number(parsed.port);
  return wsListener({ ...options, host, port, path: parsed.pathname });
}
