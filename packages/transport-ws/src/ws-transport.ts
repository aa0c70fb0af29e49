import type { ClientTransport } from '@resilient-rpc/core';
import { checkPositive, type OptionsOf, withDefaults } from '@resilient-rpc/core/transport';
import type { ClientOptions } from 'ws';
import { WsClientDefaults } from './defaults.js';
import { WsConnection } from './ws-connection.js';
import { listenWsUrl, type WsListener, type WsTransportServerOptions } from './ws-listener.js';

/** TLS options passed through to `ws` (and so to Node's `tls.connect`) for `wss://` endpoints. */
export type WsTlsOptions = Pick<
  ClientOptions,
  'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'checkServerIdentity'
>;

/** The WebSocket transport: a client transport that also creates listeners for listen URLs. */
export interface WsTransport extends ClientTransport {
  /** The server side: a listener for `ws://host:port/path` (or `wss://`, with `server.tls`). */
  listen(url: string): WsListener;
}

/**
 * Options of {@link wsTransport}. The limits and times are documented with their defaults in
 * {@link WsClientDefaults}.
 */
export interface WsTransportOptions extends WsTransportServerOptions, OptionsOf<typeof WsClientDefaults> {
  /** Handshake headers sent to every endpoint (the core's per-endpoint headers are added on top). */
  headers?: Readonly<Record<string, string>>;
  /** TLS options for `wss://`. */
  tls?: WsTlsOptions;
  /**
   * Send the `meta` member (remaining deadline, idempotency, attempt, trace id) on every request.
   * `false` sends plain JSON-RPC 2.0 for servers that reject unknown members; the server then
   * cannot bound a handler by the caller's deadline. Default `true`.
   */
  meta?: boolean;
}

/** {@link WsTransportOptions} with every default applied. */
export type ResolvedWsClientOptions = ReturnType<typeof resolveOptions>;

/**
 * The WebSocket client transport for `ws://` and `wss://` endpoints: one socket per endpoint,
 * opened on the first call, shared by all calls, kept alive by ping/pong and reconnected with
 * jittered backoff.
 */
export function wsTransport(options: WsTransportOptions = {}): WsTransport {
  const resolved = resolveOptions(options);
  const connections = new Set<WsConnection>();
  return {
    name: 'ws',
    schemes: ['ws', 'wss'],
    listen: (url) => listenWsUrl(url, options.server),
    connect(url, connectOptions) {
      // Forgotten only once closed by its owner: a connection that gave up reconnecting also
      // reports `closed`, but a later call opens it again, and `close()` must still reach it.
      const connection = new WsConnection(url, resolved, connectOptions, () =>
        connections.delete(connection),
      );
      connections.add(connection);
      return connection;
    },
    async close() {
      await Promise.all([...connections].map((connection) => connection.close()));
      connections.clear();
    },
  };
}

function resolveOptions(options: WsTransportOptions) {
  const resolved = withDefaults({ ...WsClientDefaults, headers: {}, meta: true }, options);
  checkPositive('wsTransport', resolved, Object.keys(WsClientDefaults));
  // The timers (every …Ms but heartbeatTimeoutMs, a bound): the clock would fire an `Infinity` at once.
  const timers = Object.keys(WsClientDefaults).filter(
    (name) => name.endsWith('Ms') && name !== 'heartbeatTimeoutMs',
  );
  checkPositive('wsTransport', resolved, timers, { finite: true });
  if (typeof resolved.meta !== 'boolean')
    throw new TypeError(`wsTransport: meta must be a boolean (got ${String(resolved.meta)})`);
  return { ...resolved, tls: options.tls };
}
