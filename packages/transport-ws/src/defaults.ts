/**
 * Client defaults of {@link wsTransport}, resolved once. Each is also the documentation of its
 * option in {@link WsTransportOptions} (derived from this object, so written once).
 */
export const WsClientDefaults = {
  /** Ping cadence and liveness check interval: a ws ping when nothing arrived for this long, ms. Default 1 s (docs/policies.md, "Defaults"). */
  heartbeatIntervalMs: 1_000,
  /** A ping left unanswered (with nothing else received) this long marks the peer dead and terminates the socket, ms. Default 2.5 s. */
  heartbeatTimeoutMs: 2_500,
  /** Most calls waiting for the socket to open per endpoint; more fail fast with `not-sent`. Default 1 000. */
  maxQueued: 1_000,
  /** Bound on `socket.bufferedAmount`, bytes; beyond it calls fail fast with an OverloadedError. Default 8 MiB. */
  maxBufferedBytes: 8 * 1024 * 1024,
  /** Time allowed for the opening handshake, ms. Default 5 s. */
  handshakeTimeoutMs: 5_000,
  /** Largest message accepted from the server, bytes. Default 64 MiB. */
  maxPayload: 64 * 1024 * 1024,
  /** First reconnect delay before jitter, ms. Default 100. */
  reconnectBaseMs: 100,
  /** Longest reconnect delay, ms. Default 5 s. */
  reconnectCapMs: 5_000,
  /** Failed connect attempts in a row before the endpoint is given up. Default `Infinity` (never). */
  reconnectMaxAttempts: Number.POSITIVE_INFINITY,
  /** A connection open this long resets the reconnect backoff, ms. Default 5 s. */
  stableAfterMs: 5_000,
} as const;

/**
 * Server defaults of {@link wsListener}, resolved once. Each is also the documentation of its
 * option in {@link WsListenerOptions} (derived from this object, so written once).
 */
export const WsServerDefaults = {
  /** Interface to bind. Default `127.0.0.1`. */
  host: '127.0.0.1',
  /** The URL path that accepts upgrades; others are refused with 404 (or left to other handlers with `server`). Default `/rpc`. */
  path: '/rpc',
  /** Requests handled at once per connection (batch entries count one each); more get -32002. Default 1 000. */
  maxInFlightPerConnection: 1_000,
  /**
   * Open connections (upgrades waiting for `verifyUpgrade` included). When full, an upgrade
   * evicts the connection idle the longest (idle at least `evictIdleAfterMs`, nothing in flight);
   * with none to evict it gets HTTP 503. Default 10 000.
   */
  maxConnections: 10_000,
  /**
   * Open connections from one remote address; more upgrades from it get HTTP 503. Behind a
   * proxy or NAT every client shares its address: leave it unlimited there. Default `Infinity`.
   */
  maxConnectionsPerAddress: Number.POSITIVE_INFINITY,
  /** A connection with nothing in flight and no request or reply for this long is closed with 1001, ms. Pongs do not count. Default 5 min. */
  idleTimeoutMs: 300_000,
  /** When the listener is full, a connection idle this long may be evicted for a new one, ms. Default 1 s. */
  evictIdleAfterMs: 1_000,
  /** Unsent reply bytes per connection past which the connection is not read until half of them are sent. Default 1 MiB. */
  maxBufferedBytes: 1024 * 1024,
  /** A connection not read for this long because its client does not read the replies is terminated, ms. Default 30 s. */
  stalledReadTimeoutMs: 30_000,
  /**
   * Time to receive the upgrade request's headers, ms (a slow-loris bound); a slower client gets
   * HTTP 408 and is closed. Only on the listener's own server (configure a `server` you pass
   * yourself). Default 10 s.
   */
  headersTimeoutMs: 10_000,
  /** Server ping interval, ms; a client silent for a whole interval after a ping is terminated. Default 15 s. */
  heartbeatIntervalMs: 15_000,
  /** How long a graceful `close()` waits for clients to acknowledge the 1001 close frame before terminating them, ms (a forced one does not wait). Default 2 s. */
  closeTimeoutMs: 2_000,
  /** Longest wait for `verifyUpgrade` to settle, ms; then the upgrade is refused with HTTP 503. Default 10 s. */
  verifyUpgradeTimeoutMs: 10_000,
} as const;

/** WebSocket close codes used by this transport (RFC 6455 §7.4.1). */
export const CloseCodes = {
  /** Normal closure: the client closed the connection. */
  Normal: 1000,
  /** Going away: the server is shutting down. */
  GoingAway: 1001,
  /** Message too big: a frame exceeded `maxPayload`. */
  MessageTooBig: 1009,
} as const;
