/** Server defaults, resolved once by `createServer`. */
export const ServerDefaults = {
  /** Largest message accepted: 1 MiB. */
  maxMessageBytes: 1024 * 1024,
  /** Most requests in one batch. */
  maxBatchSize: 100,
  /** Most requests handled at once across all transports; more are answered -32002 Overloaded. */
  maxInFlight: 10_000,
  /** How long `drain()` waits for in-flight requests before aborting them: 30 s. */
  drainTimeoutMs: 30_000,
  /**
   * Longest caller deadline the server honours: 24 h. A deadline from the `rpc-deadline-ms`
   * header or the `meta` member beyond it is clamped to it (so a handler never runs unbounded
   * because a caller asked for years); a malformed one (negative, not a finite number) is ignored.
   */
  maxDeadlineMs: 24 * 60 * 60 * 1000,
} as const;
