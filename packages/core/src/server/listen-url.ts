import { type ClientTransport, type ServerListener, schemeOf } from '../transport.js';

/** Registered transports by lower-case scheme, checked once at `createServer`. */
export function transportsByScheme(
  given: readonly ClientTransport[] | undefined,
): Map<string, ClientTransport> {
  const byScheme = new Map<string, ClientTransport>();
  if (given === undefined) return byScheme;
  if (!Array.isArray(given))
    throw new TypeError('transports must be an array of transports (e.g. transports: [httpTransport()])');
  for (const transport of given) {
    if (typeof transport !== 'object' || transport === null || !Array.isArray(transport.schemes)) {
      throw new TypeError(
        `transports must hold transports such as httpTransport() (got ${describe(transport)})`,
      );
    }
    // As on the client, a later transport for the same scheme replaces an earlier one.
    for (const scheme of transport.schemes) byScheme.set(scheme.toLowerCase(), transport);
  }
  return byScheme;
}

const LISTEN_URL = /^[a-z][a-z0-9+.-]*:\/\//i;

/** The listener the transport registered for `url`'s scheme creates; a TypeError when none can. */
export function listenerFor(transports: ReadonlyMap<string, ClientTransport>, url: string): ServerListener {
  const listening = [...transports].filter(([, transport]) => typeof transport.listen === 'function');
  const available =
    listening.length === 0
      ? transports.size === 0
        ? 'no transports are registered: pass them as createServer({ transports: [httpTransport(), wsTransport()] })'
        : `none of the registered transports (${[...new Set([...transports.values()].map((t) => t.name))].join(', ')}) can listen`
      : `the registered transports listen on ${listening.map(([scheme]) => `${scheme}://`).join(', ')}`;
  // A listen URL names its scheme before "://"; `0.0.0.0:3000` or `localhost:80` would otherwise
  // read as schemes "0.0.0.0" and "localhost".
  const scheme = typeof url === 'string' && LISTEN_URL.test(url) ? schemeOf(url) : '';
  if (scheme === '')
    throw new TypeError(`listen URL "${url}" has no scheme (e.g. http://0.0.0.0:3000/rpc); ${available}`);
  const transport = transports.get(scheme);
  if (transport === undefined) throw new TypeError(`no transport listens on "${url}": ${available}`);
  if (typeof transport.listen !== 'function') {
    throw new TypeError(
      `the ${transport.name} transport cannot create a listener for "${url}" (it has no listen(url)): ${available}`,
    );
  }
  return transport.listen(url);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object without schemes' : typeof value;
}
