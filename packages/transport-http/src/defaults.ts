/** Defaults of {@link httpTransport} (client side). */
export const HttpClientDefaults = {
  /** Path of the health endpoint, resolved against the endpoint URL's origin. */
  healthPath: '/health',
  /** Idle sockets kept per origin by the keep-alive agents. */
  maxFreeSockets: 256,
  /** Most sockets per origin (Node's default: unlimited). */
  maxSockets: Number.POSITIVE_INFINITY,
  /** Idle pooled sockets close after this long (below node:http's 5 s server keep-alive timeout), ms. */
  idleSocketTimeoutMs: 4_000,
  /** TCP keep-alive probe delay on pooled sockets, ms. */
  keepAliveMsecs: 1_000,
  /**
   * Largest response body read, bytes (after decompression), like the WebSocket transport's
   * `maxPayload`; a bigger one fails as a `protocol` error once this much arrived.
   */
  maxResponseBytes: 64 * 1024 * 1024,
} as const;

/** Defaults of {@link httpListener} and {@link createHttpHandler} (server side). */
export const HttpServerDefaults = {
  host: '127.0.0.1',
  /** Path that takes JSON-RPC `POST`s. */
  path: '/rpc',
  /** Path that answers `GET` health probes. */
  healthPath: '/health',
  /** Time allowed to receive the request headers (slow-loris bound), ms. */
  headersTimeoutMs: 10_000,
  /** Time allowed to receive the whole request (headers and body), ms. Handlers may take longer. */
  requestTimeoutMs: 30_000,
  /** A new connection that sends nothing for this long is closed (also the keep-alive idle time), ms. */
  idleTimeoutMs: 5_000,
  /** How long an idle keep-alive connection stays open, ms (the listener defaults it to `idleTimeoutMs`). */
  keepAliveTimeoutMs: 5_000,
  /** How often the server checks the header and request timeouts, ms (Node's default is 30 s). */
  connectionsCheckingIntervalMs: 1_000,
  /**
   * Most open connections; past it the connection idle longest is closed to make room, and when none
   * is idle a request on the new one gets 503 -32002 and its connection is closed.
   */
  maxConnections: 10_000,
  /** Most open connections from one remote address; 0 is no limit (proxies and NAT share addresses). */
  maxConnectionsPerAddress: 0,
  /**
   * Requests handled at once on one connection (HTTP/1.1 pipelining); more are answered 503 with
   * -32002 Overloaded, in order, without running them.
   */
  maxInFlightPerConnection: 16,
  /** Largest request header block, bytes (Node's default). */
  maxHeaderSize: 16 * 1024,
  /** `Retry-After` sent with 503 answers while draining or overloaded, seconds. */
  retryAfterSeconds: 1,
} as const;
