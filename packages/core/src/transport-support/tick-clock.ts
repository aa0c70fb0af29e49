import { type Clock, systemClock, type TimerHandle, type TimerOptions } from '../util/clock.js';

/**
 * A clock whose `now()` is the time of its last {@link tick} on `source`: for a
 * {@link ConnectionTable} that needs the order of its idle lists on every request but their times
 * only now and then. The listener ticks at each admission and sweep (the sweep's `before`), so
 * that a request's end reads no clock. Timers run on `source`.
 */
export class TickClock implements Clock {
  private at: number;

  constructor(private readonly source: Clock = systemClock) {
    this.at = source.now();
  }

  now(): number {
    return this.at;
  }

  /** Reads the time of `source`: `now()` returns it until the next tick. */
  tick(): void {
    this.at = this.source.now();
  }

  setTimeout(callback: () => void, delayMs: number, options?: TimerOptions): TimerHandle {
    return this.source.setTimeout(callback, delayMs, options);
  }
}
