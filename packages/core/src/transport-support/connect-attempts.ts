import type { Clock, TimerHandle } from '../util/clock.js';

/** What a {@link ConnectAttempts} runs (the adapter's side). */
export interface ConnectAttemptsOptions<C> {
  readonly clock: Clock;
  /** One connect attempt (the library's connect, without retries of its own). */
  connect(): Promise<C>;
  /** Whether a failed attempt is followed by another. */
  readonly retry: boolean;
  /** The pause before the next attempt, ms (called per failure: jitter included). */
  delayMs(): number;
  /** An attempt succeeded (never after `close()`). */
  opened(connection: C): void;
  /**
   * An attempt failed (also after `close()`: calls waiting for it fail with the reason).
   * `gaveUp`: no further attempt follows (`retry` off), the connection is closed for good.
   */
  failed(error: unknown, gaveUp: boolean): void;
  /** Closes a connection that opened after `close()`. */
  discard(connection: C): Promise<unknown>;
}

/**
 * The first connect of a client connection, attempted one at a time until one succeeds: each
 * failure is followed by the next attempt after `delayMs()` on the injected clock, so that
 * closing cancels the loop (a library's own wait-on-first-connect loop could not be cancelled).
 * Used by the NATS client's shared connection; any client with a library connect call fits.
 */
export class ConnectAttempts<C> {
  private closed = false;
  /** The attempt under way, with the discarding of a connection that opened too late. */
  private attempt: Promise<unknown> | undefined;
  /** The pause between two attempts, if one is scheduled. */
  private timer: TimerHandle | undefined;

  constructor(private readonly options: ConnectAttemptsOptions<C>) {}

  /** Starts an attempt (the first one, or the next after a pause). */
  start(): void {
    this.timer = undefined;
    if (this.closed) return;
    const options = this.options;
    this.attempt = options.connect().then(
      (connection) =>
        this.closed ? options.discard(connection).catch(() => {}) : options.opened(connection),
      (error: unknown) => {
        options.failed(error, !this.closed && !options.retry);
        if (!this.closed && options.retry)
          this.timer = options.clock.setTimeout(() => this.start(), options.delayMs());
      },
    );
  }

  /**
   * No further attempt: a scheduled one is cancelled now; the returned promise waits for one under
   * way (its connection, if it opens, is discarded).
   */
  close(): Promise<void> {
    this.closed = true;
    this.timer?.cancel();
    this.timer = undefined;
    return Promise.resolve(this.attempt).then(
      () => {},
      () => {},
    );
  }
}
