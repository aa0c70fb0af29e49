/** A cancellable timer handle returned by {@link Clock.setTimeout}. */
export interface TimerHandle {
  /** Cancels the timer; calling it twice is harmless. */
  cancel(): void;
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
   * system clock chains platform timers past their 2^31 − 1 ms limit). Timers never keep a
   * Node.js process alive.
   */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
}

type PlatformTimer = { unref?: () => void };

/**
 * The longest delay the platform's `setTimeout` honours (2^31 − 1 ms, about 24.8 days); Node.js
 * turns a longer one into 1 ms with a TimeoutOverflowWarning.
 */
export const MAX_PLATFORM_TIMER_MS = 2_147_483_647;

function startPlatformTimer(callback: () => void, delayMs: number): PlatformTimer {
  const timer = setTimeout(callback, delayMs) as unknown as PlatformTimer;
  timer.unref?.();
  return timer;
}

/**
 * The real clock: `performance.now()` and the platform's `setTimeout`, unref'd where possible.
 * Delays beyond {@link MAX_PLATFORM_TIMER_MS} are chained, never clamped to 1 ms; a delay that is
 * not a finite number fires at once (callers validate their inputs).
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, delayMs) {
    const delay = Number.isFinite(delayMs) ? Math.max(0, delayMs) : 0;
    if (delay <= MAX_PLATFORM_TIMER_MS) {
      const timer = startPlatformTimer(callback, delay);
      return { cancel: () => clearTimeout(timer as unknown as number) };
    }
    const dueAt = performance.now() + delay;
    let timer: PlatformTimer;
    const step = () => {
      const left = dueAt - performance.now();
      if (left <= 0) callback();
      else timer = startPlatformTimer(step, Math.min(left, MAX_PLATFORM_TIMER_MS));
    };
    timer = startPlatformTimer(step, MAX_PLATFORM_TIMER_MS);
    return { cancel: () => clearTimeout(timer as unknown as number) };
  },
};
