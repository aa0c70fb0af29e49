/**
 * Defaults of {@link httpTransport} (client side). Each is documented here once: the options of
 * the same names take these docs (`OptionsOf`).
 */
export const HttpClientDefaults = {
  /** Path of the health endpoint for `ping()`, resolved against the endpoint URL's origin. Default `/health`. */
  healthPath: '/health',
  /** Idle keep-alive sockets kept per origin. Default 256. */
  maxFreeSockets: 256,
  /** Most sockets per origin. Default unlimited (Node's default). */
  maxSockets: Number.POSITIVE_INFINITY,
  /**
   * Idle keep-alive sockets are closed after this long, ms (below node:http's 5 s server
   * keep-alive timeout); shortened further by a server's `Keep-Alive: timeout=…` hint, so the
   * client, not the server, closes an idle socket (a request sent on a socket the server is
   * closing is lost). Default 4 000.
   */
  idleSocketTimeoutMs: 4_000,
  /** TCP keep-alive probe delay on pooled sockets, ms. */
  keepAliveMsecs: 1_000,
  /**
   * Largest response body, bytes (after decompression), like the WebSocket transport's
   * `maxPayload`. A bigger response fails as a `protocol` error (not retried) as soon as this much
   * arrived; the rest is never read. Default 64 MiB.
   */
  maxResponseBytes: 64 * 1024 * 1024,
} as const;

/**
 * Defaults of {@link httpListener} and {@link createHttpHandler} (server side). Each is documented
 * here once: the options of the same names take these docs (`OptionsOf`).
 */
export const HttpServerDefaults = {
  /** Interface to bind. Default `127.0.0.1`. */
  host: '127.0.0.1',
  /** Path that takes JSON-RPC `POST`s. Default `/rpc`. Use `/` when mounting under a prefix in express. */
  path: '/rpc',
  /** Path that answers `GET` health probes. */
  healthPath: '/health',
  /** Time to receive the request headers, ms (slow-loris bound). Default 10 000. */
  headersTimeoutMs: 10_000,
  /**
   * Time to receive the whole request (headers and body), ms; 0 turns it off. Handlers may take
   * longer. Default 30 000.
   */
  requestTimeoutMs: 30_000,
  /**
   * A new connection that sends nothing for this long is closed, ms; 0 turns it off (one that
   * sends nothing is still closed after `headersTimeoutMs`: node counts a request's header time
   * from the connection's start). Also the default of `keepAliveTimeoutMs`. (On https, also the TLS
   * handshake timeout unless `tls.handshakeTimeout` is set.) Default 5 000.
   */
  idleTimeoutMs: 5_000,
  /**
   * A keep-alive connection idle between requests for this long is closed, ms; 0: never (node:http's
   * meaning). Default `idleTimeoutMs` (5 000 when that is 0).
   */
  keepAliveTimeoutMs: 5_000,
  /** How often the server checks the header and request timeouts, ms (Node's default is 30 s). */
  connectionsCheckingIntervalMs: 1_000,
  /**
   * Most open connections. Past it, a new connection makes room by closing the connection idle
   * longest (no request in progress); only when none is idle is its request answered 503 with
   * JSON-RPC -32002 (never run) and the connection closed. Past twice this, connections are
   * dropped at once. Default 10 000.
   */
  maxConnections: 10_000,
  /**
   * Most open connections from one remote address; the request of a connection past it is
   * answered 503 with JSON-RPC -32002 (never run) and the connection closed. 0: no limit (the
   * default, since behind a proxy or NAT every caller shares one address).
   */
  maxConnectionsPerAddress: 0,
  /**
   * Requests handled at once on one connection (pipelined HTTP/1.1 requests); more are answered
   * 503 with JSON-RPC -32002 Overloaded, in order, and never run. Default 16.
   */
  maxInFlightPerConnection: 16,
  /** Largest request header block, bytes. Default 16 KiB (Node's default). */
  maxHeaderSize: 16 * 1024,
  /** Requests served per keep-alive connection before it is closed; 0 is unlimited. Default 0. */
  maxRequestsPerSocket: 0,
  /** `Retry-After` sent with 503 answers (draining or overloaded), seconds. Default 1. */
  retryAfterSeconds: 1,
} as const;
