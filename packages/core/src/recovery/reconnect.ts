import { CancelledError, NotSentError } from '../errors/kinds.js';
import { type Clock, systemClock, type TimerHandle } from '../util/clock.js';
import { defaultRandom, type Random } from '../util/random.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import { definedOnly } from './options.js';

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
 *
 * Details:
 * - the first attempt after a reset (or ever) is immediate; attempt k (counted since the last
 *   reset) waits `backoffDelay(k − 1)` first, so a flapping connection backs off further and further;
 * - `maxAttempts` bounds the attempts of one `reconnect()` run; a later `reconnect()` starts a new run;
 * - a successful attempt calls `connected()` itself; `disconnected()` before `stableAfterMs`
 *   keeps the attempt count, so the next run continues the backoff where it was;
 * - `connect` receives a signal that aborts on `stop()`; a connection that still arrives after
 *   `stop()` is passed to `options.discard` (if given) so the adapter can close it.
 */
export class Reconnector<T> {
  private readonly options: ReconnectOptions;
  private readonly discard: ((connection: T) => void) | undefined;
  private running: Promise<T> | undefined;
  private attemptsSinceReset = 0;
  private stopped = false;
  private readonly controller = new AbortController();
  private stableTimer: TimerHandle | undefined;
  private sleepTimer: TimerHandle | undefined;
  /** Wakes whatever the run waits on (backoff sleep or connect) when `stop()` is called. */
  private wakeSleeper: (() => void) | undefined;

  constructor(
    private readonly connect: (signal: AbortSignal) => Promise<T>,
    options: Partial<ReconnectOptions> & { discard?: (connection: T) => void } = {},
    private readonly clock: Clock = systemClock,
    private readonly random: Random = defaultRandom,
  ) {
    const { discard, ...rest } = options;
    this.options = { ...ReconnectDefaults, ...definedOnly<ReconnectOptions>(rest) };
    this.discard = discard;
  }

  /** Starts (or joins) a reconnect; resolves with the connection, rejects after maxAttempts or `stop()`. */
  reconnect(): Promise<T> {
    if (this.stopped) return Promise.reject(this.stoppedError());
    if (this.running) return this.running;
    this.cancelStableTimer();
    const run = this.run().finally(() => {
      if (this.running === run) this.running = undefined;
    });
    this.running = run;
    return run;
  }

  /** Call when a connection opened; after `stableAfterMs` without `disconnected()` the backoff resets. */
  connected(): void {
    if (this.stopped) return;
    this.cancelStableTimer();
    this.stableTimer = this.clock.setTimeout(() => {
      this.stableTimer = undefined;
      this.attemptsSinceReset = 0;
    }, this.options.stableAfterMs);
  }

  /** Call when the connection dropped. */
  disconnected(): void {
    this.cancelStableTimer();
  }

  /** Attempts made since the last reset. */
  get attempts(): number {
    return this.attemptsSinceReset;
  }

  /** Whether a reconnect is running now. */
  get reconnecting(): boolean {
    return this.running !== undefined;
  }

  /** Stops any running reconnect (it rejects) and refuses future ones. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelStableTimer();
    this.sleepTimer?.cancel();
    this.sleepTimer = undefined;
    this.controller.abort(this.stoppedError());
    this.wakeSleeper?.();
  }

  private async run(): Promise<T> {
    let lastError: unknown;
    const max = this.options.maxAttempts;
    for (let attempt = 1; attempt <= max; attempt++) {
      if (this.attemptsSinceReset > 0) {
        await this.sleep(backoffDelay(this.attemptsSinceReset, this.options, this.random));
      }
      if (this.stopped) throw this.stoppedError();
      this.attemptsSinceReset++;
      try {
        const connection = await this.untilStopped(this.connect(this.controller.signal));
        this.connected();
        return connection;
      } catch (error) {
        if (this.stopped) throw this.stoppedError();
        lastError = error;
      }
    }
    throw new NotSentError(`reconnect gave up after ${max} attempt(s)`, { cause: lastError });
  }

  /** Settles like `pending`, or rejects at once on `stop()` (a connection that still arrives is discarded). */
  private untilStopped(pending: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      this.wakeSleeper = () => {
        if (settled) return;
        settled = true;
        reject(this.stoppedError());
      };
      pending.then(
        (connection) => {
          if (settled || this.stopped) {
            settled = true;
            this.discard?.(connection);
            reject(this.stoppedError());
            return;
          }
          settled = true;
          this.wakeSleeper = undefined;
          resolve(connection);
        },
        (error: unknown) => {
          if (settled) return;
          settled = true;
          this.wakeSleeper = undefined;
          reject(error);
        },
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.sleepTimer?.cancel();
        this.sleepTimer = undefined;
        this.wakeSleeper = undefined;
        resolve();
      };
      this.wakeSleeper = done;
      this.sleepTimer = this.clock.setTimeout(done, ms);
    });
  }

  private cancelStableTimer(): void {
    this.stableTimer?.cancel();
    this.stableTimer = undefined;
  }

  private stoppedError(): CancelledError {
    return new CancelledError('reconnect stopped');
  }
}
