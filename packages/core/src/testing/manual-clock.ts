import type { Clock, TimerHandle } from '../util/clock.js';

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
  cancelled: boolean;
}

/**
 * A clock that moves only when told to. `advance(ms)` runs due timers in time order (timers a
 * callback schedules within the window run too), so tests are deterministic and never sleep.
 */
export class ManualClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(startMs = 0) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: Timer = {
      at: this.current + Math.max(0, delayMs),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Timers scheduled and not yet run or cancelled. */
  get pendingTimers(): number {
    return this.timers.filter((timer) => !timer.cancelled).length;
  }

  /** Moves time forward by `ms`, running every timer that falls due, in order. */
  advance(ms: number): void {
    const target = this.current + ms;
    for (;;) {
      const next = this.nextDue(target);
      if (next === undefined) break;
      this.current = Math.max(this.current, next.at);
      this.timers = this.timers.filter((timer) => timer !== next);
      next.callback();
    }
    this.current = target;
    this.timers = this.timers.filter((timer) => !timer.cancelled);
  }

  /**
   * Advances like {@link advance}, but lets promise callbacks run between timers, in steps of
   * `stepMs`: use it when the code under test awaits between timers.
   */
  async advanceAsync(ms: number, stepMs = 1): Promise<void> {
    const target = this.current + ms;
    await flushMicrotasks();
    while (this.current < target) {
      this.advance(Math.min(stepMs, target - this.current));
      await flushMicrotasks();
    }
  }

  /** Jumps forward without running timers in between (a stalled event loop), then runs what is due. */
  jump(ms: number): void {
    this.current += ms;
    this.advance(0);
  }

  private nextDue(target: number): Timer | undefined {
    let best: Timer | undefined;
    for (const timer of this.timers) {
      if (timer.cancelled || timer.at > target) continue;
      if (best === undefined || timer.at < best.at || (timer.at === best.at && timer.seq < best.seq))
        best = timer;
    }
    return best;
  }
}

/** Lets pending promise callbacks run (several macrotask-free turns). */
export async function flushMicrotasks(turns = 20): Promise<void> {
  for (let index = 0; index < turns; index++) await Promise.resolve();
}
