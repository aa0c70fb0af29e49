import { type Clock, systemClock } from '../util/clock.js';

/**
 * What a listener's `close()` waits on: the answers of requests still under way, for a bounded
 * time. The listener counts its requests itself and calls {@link quiet} when the last one ends;
 * every {@link wait} under way resolves then, or once its time is up, whichever comes first.
 */
export class QuietWait {
  private readonly waiters = new Set<() => void>();

  constructor(private readonly clock: Clock = systemClock) {}

  /**
   * Resolves at the next {@link quiet}, or after `timeoutMs`. The timer keeps the process alive
   * meanwhile, so that answers still being written go out before it may end.
   */
  wait(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        timer.cancel();
        resolve();
      };
      const timer = this.clock.setTimeout(done, timeoutMs, { keepAlive: true });
      this.waiters.add(done);
    });
  }

  /** The last request under way ended: wakes every {@link wait}. */
  quiet(): void {
    if (this.waiters.size === 0) return; // the usual case, once per request: no copy
    for (const done of [...this.waiters]) done();
  }
}
