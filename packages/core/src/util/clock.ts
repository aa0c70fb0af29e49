/** A cancellable timer handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Cancels the timer; calling it twice is harmless. */
  cancel(): void;
  /**
   * Optional: changes whether the timer keeps the process alive (see {@link TimerOptions}),
   * without re-arming it. Clocks without processes to keep alive may leave it out.
   */
  keepAlive?(value: boolean): void;
}

/** Options of {@link Clock.setTimeout}. */
export interface TimerOptions {
  /**
   * Keep a Node.js process alive until the timer fires or is cancelled, as a pending socket does.
   * Default false: timers are unref'd. The client's shared deadline timer sets it while calls are
   * pending, so that a script awaiting a call always sees its result or its error.
   */
  readonly keepAlive?: boolean;
}

/**
 * The source of time for every policy in the core. Inject a manual clock in tests so that
 * nothing sleeps; production code uses {@link systemClock}.
 */
export interface Clock {
  /** Milliseconds on a monotonic scale (only differences are meaningful). */
  now(): number;
  /**
   * Calls `callback` after `delayMs` milliseconds. Any finite delay works, however long (the
   * system clock chains platform timers past their 2^31 − 1 ms limit). Timers do not keep a
   * Node.js process alive unless `options.keepAlive` says so.
   */
  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): TimerHandle;
}

type PlatformTimer = { unref?: () => void; ref?: () => void };

/**
 * The longest delay the platform's `setTimeout` honours (2^31 − 1 ms, about 24.8 days); Node.js
 * turns a longer one into 1 ms with a TimeoutOverflowWarning.
 */
export const MAX_PLATFORM_TIMER_MS = 2_147_483_647;

function startPlatformTimer(callback: () => void, delayMs: number, keepAlive: boolean): PlatformTimer {
  const timer = setTimeout(callback, delayMs) as unknown as PlatformTimer;
  if (!keepAlive) timer.unref?.();
  return timer;
}

/**
 * The real clock: `performance.now()` and the platform's `setTimeout`, unref'd unless
 * `keepAlive` is asked for.
 * Delays beyond {@link MAX_PLATFORM_TIMER_MS} are chained, never clamped to 1 ms; a delay that is
 * not a finite number fires at once (callers validate their inputs).
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, delayMs, options) {
    const keepAlive = options?.keepAlive === true;
    const delay = Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
    if (delay <= MAX_PLATFORM_TIMER_MS) {
      const handle = new PlatformTimerHandle(startPlatformTimer(callback, delay, keepAlive));
      handle.alive = keepAlive;
      return handle;
    }
    const dueAt = performance.now() + delay;
    const handle = new PlatformTimerHandle(undefined);
    const step = () => {
      const left = dueAt - performance.now();
      if (left <= 0) callback();
      else handle.timer = startPlatformTimer(step, Math.min(left, MAX_PLATFORM_TIMER_MS), handle.alive);
    };
    handle.alive = keepAlive;
    handle.timer = startPlatformTimer(step, MAX_PLATFORM_TIMER_MS, keepAlive);
    return handle;
  },
};

/** A platform timer (or the current link of a chained one) behind a {@link TimerHandle}. */
class PlatformTimerHandle implements TimerHandle {
  alive = false;
  constructor(public timer: PlatformTimer | undefined) {}
  cancel(): void {
    clearTimeout(this.timer as unknown as number);
  }
  keepAlive(value: boolean): void {
    if (value === this.alive) return;
    this.alive = value;
    if (value) this.timer?.ref?.();
    else this.timer?.unref?.();
  }
}
