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
  /** Calls `callback` after `delayMs` milliseconds. Timers never keep a Node.js process alive. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
}

type UnrefableTimer = { unref?: () => void };

/** The real clock: `performance.now()` and the platform's `setTimeout`, unref'd where possible. */
export const systemClock: Clock = {
  now: () => performance.now(),
  setTimeout(callback, delayMs) {
    const timer = setTimeout(callback, Math.max(0, delayMs)) as unknown as UnrefableTimer;
    timer.unref?.();
    return { cancel: () => clearTimeout(timer as unknown as number) };
  },
};
