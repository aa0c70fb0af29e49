/** Client defaults of {@link wsTransport}, resolved once. */
export const WsClientDefaults = {
  /** How often the client checks liveness and sends a ws ping when nothing arrived: 1 s (docs/policies.md, "Defaults"). */
  heartbeatIntervalMs: 1_000,
  /** A ping unanswered (and nothing else received) for this long marks the peer dead: 2.5 s. */
  heartbeatTimeoutMs: 2_500,
  /** Most calls waiting for the socket to open; more fail fast with `not-sent`. */
  maxQueued: 1_000,
  /** Bytes the socket may have buffered unsent; past it calls fail fast with an overloaded error: 8 MiB. */
  maxBufferedBytes: 8 * 1024 * 1024,
  /** Time allowed for the opening handshake: 5 s. */
  handshakeTimeoutMs: 5_000,
  /** Largest message accepted from the server: 64 MiB. */
  maxPayload: 64 * 1024 * 1024,
  /** First reconnect delay before jitter: 100 ms. */
  reconnectBaseMs: 100,
  /** Longest reconnect delay: 5 s. */
  reconnectCapMs: 5_000,
  /** Connect attempts in a row before the endpoint is given up (`Infinity`: never). */
  reconnectMaxAttempts: Number.POSITIVE_INFINITY,
  /** A connection that stays open this long resets the backoff: 5 s. */
  stableAfterMs: 5_000,
} as const;

/** Server defaults of {@link wsListener}, resolved once. */
export const WsServerDefaults = {
  host: '127.0.0.1',
  path: '/rpc',
  /** Requests (batch entries count one each) handled at once per connection; more get -32002. */
  maxInFlightPerConnection: 1_000,
  /** Open connections per listener; when full, an idle one is evicted or the upgrade is refused with HTTP 503. */
  maxConnections: 10_000,
  /** Open connections per remote address (unlimited: proxies and NAT share one address). */
  maxConnectionsPerAddress: Number.POSITIVE_INFINITY,
  /** A connection without a request or reply for this long (pongs do not count) and nothing in flight is closed: 5 min. */
  idleTimeoutMs: 300_000,
  /** When the listener is full, a connection idle this long may be evicted for a new one: 1 s. */
  evictIdleAfterMs: 1_000,
  /** Unsent reply bytes per connection past which it is not read (until half are sent): 1 MiB. */
  maxBufferedBytes: 1024 * 1024,
  /** A connection not read this long because its client reads none of its replies is terminated: 30 s. */
  stalledReadTimeoutMs: 30_000,
  /** Time to receive the upgrade request's headers on the listener's own server (slow-loris bound) → 408: 10 s. */
  headersTimeoutMs: 10_000,
  /** Server ping interval; a client that has not answered the previous ping by the next tick is terminated. */
  heartbeatIntervalMs: 15_000,
  /** How long `close()` waits for clients to answer the 1001 close frame before terminating: 2 s. */
  closeTimeoutMs: 2_000,
  /** Longest wait for an async `verifyUpgrade`; then HTTP 503: 10 s. */
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
