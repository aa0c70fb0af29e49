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
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new TypeError(`not an HTTP listen URL (http://host:port/path): ${url}`, { cause });
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'http' && scheme !== 'https') {
    throw new TypeError(`the HTTP transport listens on http:// and https:// URLs, not ${scheme}: ${url}`);
  }
  if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '') {
    throw new TypeError(`an HTTP listen URL has no credentials, query or fragment: ${url}`);
  }
  if (scheme === 'https' && options.tls === undefined) {
    throw new TypeError(
      `an https:// listen URL needs a certificate: httpTransport({ server: { tls: { key, cert } } }) (${url})`,
    );
  }
  if (scheme === 'http' && options.tls !== undefined) {
    throw new TypeError(`server.tls is set, so listen on an https:// URL, not ${url}`);
  }
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === '' ? (scheme === 'https' ? 443 : 80) : Number(parsed.port);
  return httpListener({ ...options, host, port, path: parsed.pathname });
}
