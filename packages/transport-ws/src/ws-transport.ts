import type { ClientConnection, ConnectOptions } from '@resilient-rpc/core';
import type { ClientOptions } from 'ws';
import { WsClientDefaults } from './defaults.js';
import { listenWsUrl, type WsTransport, type WsTransportServerOptions } from './listen-url.js';
import { WsConnection } from './ws-connection.js';

/** TLS options passed through to `ws` (and so to Node's `tls.connect`) for `wss://` endpoints. */
export type WsTlsOptions = Pick<
  ClientOptions,
  'ca' | 'cert' | 'key' | 'pfx' | 'passphrase' | 'rejectUnauthorized' | 'checkServerIdentity'
>;

/** Options of {@link wsTransport}. Every field has a default in {@link WsClientDefaults}. */
export interface WsTransportOptions extends WsTransportServerOptions {
  /** Ping cadence and liveness check interval, ms. */
  heartbeatIntervalMs?: number;
  /** A ping left unanswered this long (with nothing else received) terminates the socket, ms. */
  heartbeatTimeoutMs?: number;
  /** Most calls waiting for the socket to open per endpoint. */
  maxQueued?: number;
  /** Bound on `socket.bufferedAmount`; beyond it calls fail fast with an OverloadedError. */
  maxBufferedBytes?: number;
  handshakeTimeoutMs?: number;
  /** Largest message accepted from the server, bytes. */
  maxPayload?: number;
  reconnectBaseMs?: number;
  reconnectCapMs?: number;
  /** Failed connect attempts in a row before the endpoint is given up. */
  reconnectMaxAttempts?: number;
  /** A connection open this long resets the reconnect backoff, ms. */
  stableAfterMs?: number;
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
export interface ResolvedWsClientOptions {
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly maxQueued: number;
  readonly maxBufferedBytes: number;
  readonly handshakeTimeoutMs: number;
  readonly maxPayload: number;
  readonly reconnectBaseMs: number;
  readonly reconnectCapMs: number;
  readonly reconnectMaxAttempts: number;
  readonly stableAfterMs: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly tls: WsTlsOptions | undefined;
  readonly meta: boolean;
}

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
    connect(url: string, connectOptions: ConnectOptions): ClientConnection {
      const connection = new WsConnection(url, resolved, connectOptions);
      connections.add(connection);
      connection.onEvent((event) => {
        if (event.type === 'status' && event.status === 'closed') connections.delete(connection);
      });
      return connection;
    },
    async close() {
      await Promise.all([...connections].map((connection) => connection.close()));
      connections.clear();
    },
  };
}

function resolveOptions(options: WsTransportOptions): ResolvedWsClientOptions {
  const pick = (name: keyof typeof WsClientDefaults): number => {
    const value = options[name];
    if (value === undefined) return WsClientDefaults[name];
    if (typeof value !== 'number' || Number.isNaN(value) || value <= 0) {
      throw new RangeError(`wsTransport: ${name} must be a positive number (got ${String(value)})`);
    }
    return value;
  };
  return {
    heartbeatIntervalMs: pick('heartbeatIntervalMs'),
    heartbeatTimeoutMs: pick('heartbeatTimeoutMs'),
    maxQueued: pick('maxQueued'),
    maxBufferedBytes: pick('maxBufferedBytes'),
    handshakeTimeoutMs: pick('handshakeTimeoutMs'),
    maxPayload: pick('maxPayload'),
    reconnectBaseMs: pick('reconnectBaseMs'),
    reconnectCapMs: pick('reconnectCapMs'),
    reconnectMaxAttempts: pick('reconnectMaxAttempts'),
    stableAfterMs: pick('stableAfterMs'),
    headers: options.headers ?? {},
    tls: options.tls,
    meta: pickMeta(options.meta),
  };
}

function pickMeta(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean')
    throw new TypeError(`wsTransport: meta must be a boolean (got ${String(value)})`);
  return value;
}
