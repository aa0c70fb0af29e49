import type { Clock } from '../util/clock.js';
import type { Random } from '../util/random.js';
import type { BackoffOptions } from './backoff.js';

export interface ReconnectOptions extends BackoffOptions {
  /** Attempts before giving up; `Infinity` never gives up. Default Infinity. */
  maxAttempts: number;
  /** A connection that stays up this long resets the backoff, in ms. Default 5 000. */
  stableAfterMs: number;
}

export const ReconnectDefaults: ReconnectOptions = {
  baseMs: 100,
  capMs: 5_000,
  multiplier: 2,
  jitter: 'full',
  maxAttempts: Number.POSITIVE_INFINITY,
  stableAfterMs: 5_000,
};

/**
 * Single-flight reconnection for connection-based transports. `connect` is the adapter's
 * function that opens a connection (rejects on failure). While one reconnect is running, further
 * `reconnect()` calls share it. Attempts are spaced by jittered exponential backoff.
 */
export class Reconnector<T> {
  constructor(
    connect: () => Promise<T>,
    options?: Partial<ReconnectOptions>,
    clock?: Clock,
    random?: Random,
  ) {
    throw new Error('TODO');
  }
  /** Starts (or joins) a reconnect; resolves with the connection, rejects after maxAttempts or `stop()`. */
  reconnect(): Promise<T> {
    throw new Error('TODO');
  }
  /** Call when a connection opened; after `stableAfterMs` without `disconnected()` the backoff resets. */
  connected(): void {}
  /** Call when the connection dropped. */
  disconnected(): void {}
  /** Attempts made since the last reset. */
  get attempts(): number {
    return 0;
  }
  /** Stops any running reconnect (it rejects) and refuses future ones. */
  stop(): void {}
}
