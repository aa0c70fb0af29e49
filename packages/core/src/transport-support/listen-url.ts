/** How a transport's listen URLs look, for {@link parseListenUrl}. */
export interface ListenUrlForm {
  /** The transport's name in messages: `HTTP`, `WebSocket`. */
  readonly transport: string;
  /** Its plain scheme and its TLS scheme, e.g. `['http', 'https']`. */
  readonly schemes: readonly [plain: string, secure: string];
  /** The factory whose `server.tls` holds the certificate, named in messages: `httpTransport`. */
  readonly factory: string;
  /** Whether the listener has TLS options (`server.tls`): only the TLS scheme may be used then. */
  readonly tls: boolean;
}

/** What a listen URL says: where to bind, the path, and whether it is the TLS scheme. */
export interface ListenAddress {
  readonly secure: boolean;
  /** The interface to bind, without IPv6 brackets (`0.0.0.0` or `::` bind every interface). */
  readonly host: string;
  /** The port (0: a free one); the scheme's default (80, 443) when the URL has none. */
  readonly port: number;
  readonly path: string;
}

const withArticle = (word: string) => `${/^[aeiouh]/i.test(word) ? 'an' : 'a'} ${word}`;

/**
 * Reads the listen URL of a transport that serves over node:http(s) (`http://host:port/path`,
 * `wss://…`): the plain or the TLS scheme (the latter only with TLS options, the former only
 * without), no credentials, query or fragment. The URL's path is the path the listener serves,
 * so the listen URL and the client's endpoint URL are the same. Throws a `TypeError` that says
 * what is wrong otherwise.
 */
export function parseListenUrl(url: string, form: ListenUrlForm): ListenAddress {
  const { transport, factory } = form;
  const [plain, secureScheme] = form.schemes;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new TypeError(`not ${withArticle(transport)} listen URL (${plain}://host:port/path): ${url}`, {
      cause,
    });
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme !== plain && scheme !== secureScheme) {
    throw new TypeError(
      `the ${transport} transport listens on ${plain}:// and ${secureScheme}:// URLs, not ${scheme}: ${url}`,
    );
  }
  if (parsed.username !== '' || parsed.password !== '' || parsed.search !== '' || parsed.hash !== '') {
    throw new TypeError(`${withArticle(transport)} listen URL has no credentials, query or fragment: ${url}`);
  }
  const secure = scheme === secureScheme;
  if (secure && !form.tls) {
    throw new TypeError(
      `${withArticle(`${secureScheme}://`)} listen URL needs a certificate: ${factory}({ server: { tls: { key, cert } } }) (${url})`,
    );
  }
  if (!secure && form.tls) {
    throw new TypeError(
      `server.tls is set, so listen on ${withArticle(`${secureScheme}://`)} URL, not ${url}`,
    );
  }
  const host = parsed.hostname.startsWith('[') ? parsed.hostname.slice(1, -1) : parsed.hostname;
  const port = parsed.port === '' ? (secure ? 443 : 80) : Number(parsed.port);
  return { secure, host, port, path: parsed.pathname };
}

/**
 * The URL a client reaches a bound listener at, for its `urls`: a wildcard host shows as the
 * loopback of its family (`0.0.0.0` as 127.0.0.1, `::` as [::1]), an IPv6 address in brackets.
 */
export function boundUrl(scheme: string, host: string, port: number, path: string): string {
  const shown = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `${scheme}://${shown.includes(':') ? `[${shown}]` : shown}:${port}${path}`;
}
