import { parseListenUrl } from '@resilient-rpc/core';
import { type HttpListener, type HttpListenerOptions, httpListener } from './http-listener.js';

/**
 * Server options of {@link httpTransport} that a listen URL does not carry: everything of
 * {@link HttpListenerOptions} except `port`, `host` and `path`, which come from the URL.
 */
export type HttpServerOptions = Omit<HttpListenerOptions, 'port' | 'host' | 'path'>;

/** The server side of the HTTP transport's options. */
export interface HttpTransportServerOptions {
  /**
   * Options of the listeners `transport.listen(url)` creates (limits, timeouts, `tls` for
   * `https://` URLs, `healthPath`…); the URL gives host, port and path. Default: the
   * {@link HttpServerDefaults}.
   */
  readonly server?: HttpServerOptions;
}

/**
 * Creates the HTTP listener for a listen URL: `http://host:port/path` or `https://host:port/path`
 * (the latter needs `server.tls`). Host `0.0.0.0` (or `[::]`) binds every interface; port `0`
 * picks a free one (read the real one from `listener.urls` after start); the URL's path is the
 * JSON-RPC path, so the listen URL and the client's endpoint URL are the same. A missing port is
 * the scheme's default (80, 443). Throws a `TypeError` for anything else.
 */
export function listenHttpUrl(url: string, options: HttpServerOptions = {}): HttpListener {
  const form = { transport: 'HTTP', schemes: ['http', 'https'], factory: 'httpTransport' } as const;
  const { host, port, path } = parseListenUrl(url, { ...form, tls: options.tls !== undefined });
  return httpListener({ ...options, host, port, path });
}
