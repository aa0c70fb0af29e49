import type { Clock, Random, TimerHandle } from '@resilient-rpc/core';

/** Options of {@link ReconnectLoop}; the same shape as the core's `ReconnectOptions`. */
export interface ReconnectLoopOptions {
  baseMs: number;
  capMs: number;
  multiplier: number;
  maxAttempts: number;
  stableAfterMs: number;
}

/**
 * Single-flight reconnection with exponential backoff and full jitter. Every attempt after a
 * drop waits `uniform(0, min(cap, base·multiplier^(n−1)))` first, so that many clients losing
 * the same server do not come back at the same instant. The first ever connect is immediate.
 */
export class ReconnectLoop<T> {
  private running: Promise<T> | undefined;
  private failures = 0;
  private everConnected = false;
  private stopped = false;
  private stableTimer: TimerHandle | undefined;
  private wakeUp: (() => void) | undefined;

  constructor(
    private readonly connect: () => Promise<T>,
    private readonly options: ReconnectLoopOptions,
    private readonly clock: Clock,
    private readonly random: Random,
    /** Called after each failed attempt (before the next wait). */
    private readonly onAttemptFailed?: (error: unknown, attempt: number) => void,
  ) {}

  /** Starts (or joins) a reconnect; resolves with the connection, rejects after maxAttempts or `stop()`. */
  reconnect(): Promise<T> {
    if (this.stopped) return Promise.reject(new Error('reconnection stopped'));
    this.running ??= this.run().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async run(): Promise<T> {
    for (;;) {
      const attempt = this.failures + 1;
      if (this.everConnected || attempt > 1) await this.wait(this.delay(attempt));
      if (this.stopped) throw new Error('reconnection stopped');
      try {
        return await this.connect();
      } catch (error) {
        this.failures++;
        this.onAttemptFailed?.(error, this.failures);
        if (this.failures >= this.options.maxAttempts) throw error;
      }
    }
  }

  private delay(attempt: number): number {
    const { baseMs, capMs, multiplier } = this.options;
    const ceiling = Math.min(capMs, baseMs * multiplier ** Math.max(0, attempt - 1));
    return this.random() * ceiling;
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.clock.setTimeout(() => {
        this.wakeUp = undefined;
        resolve();
      }, ms);
      this.wakeUp = () => {
        timer.cancel();
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  /** A connection opened; after `stableAfterMs` without `disconnected()` the backoff resets. */
  connected(): void {
    this.everConnected = true;
    this.stableTimer?.cancel();
    this.stableTimer = this.clock.setTimeout(() => {
      this.failures = 0;
    }, this.options.stableAfterMs);
  }

  /** The connection dropped. */
  disconnected(): void {
    this.stableTimer?.cancel();
    this.stableTimer = undefined;
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.failures;
  }

  /** Stops any running reconnect (it rejects) and refuses future ones. */
  stop(): void {
    this.stopped = true;
    this.stableTimer?.cancel();
    this.wakeUp?.();
  }
}
