/**
 * The tokens that tell a client's requests apart on one reply address of its connection (a
 * broker's reply subject `<inbox>.<token>`, a correlation id): the token of an answered request
 * is reused, last-in first-out, so that the broker sees the same few reply subjects again and
 * again (its subject-match cache hits) instead of a new one per request. A token comes back
 * ({@link release}) only once its request had its reply, never after a timeout, an abort or a
 * lost connection (a late reply to it could otherwise answer the next request). Listener tokens
 * take every message sent to them (answers of many responders). Used by the NATS client; any
 * client that multiplexes requests over one reply address fits.
 */
export class ReplyTokens<M> {
  private readonly free: string[] = [];
  private readonly listeners = new Map<string, (message: M) => void>();
  private sequence = 0;

  /** `maxFree`: at most this many answered tokens are kept for reuse. */
  constructor(private readonly maxFree = 512) {}

  /** An answered request's token to use again, if there is one. */
  reuse(): string | undefined {
    return this.free.pop();
  }

  /** A token never used before (base 36). */
  fresh(): string {
    return (++this.sequence).toString(36);
  }

  /** The request of `token` had its reply: the token may serve another. */
  release(token: string): void {
    if (this.free.length < this.maxFree) this.free.push(token);
  }

  /** A token that takes every message sent to it, until `stop()`. */
  listen(listener: (message: M) => void): { readonly token: string; stop(): void } {
    // `_` never occurs in a base-36 request token: a listener's token cannot be a request's.
    const token = `_${this.fresh()}`;
    this.listeners.set(token, listener);
    const stop = () => {
      if (this.listeners.get(token) === listener) this.listeners.delete(token);
    };
    return { token, stop };
  }

  /** A message for a token no request waits on: to its listener, if it has one (else dropped). */
  deliver(token: string, message: M): void {
    this.listeners.get(token)?.(message);
  }

  /** Stops every listener. */
  clear(): void {
    this.listeners.clear();
  }
}
