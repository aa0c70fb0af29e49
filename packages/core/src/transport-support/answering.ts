import { type Clock, systemClock } from '../util/clock.js';
import { QuietWait } from './quiet-wait.js';

/**
 * A listener's requests whose answers are not written yet, for its `close()`: the answers of
 * handlers that finished on their own are let out, for a bounded time, before connections are cut.
 * The listener reports each request with {@link begin} and, once its answer went out (or its
 * connection closed), {@link end}. Its `close()` waits with {@link wait} unless the close is
 * forced (`ServerListener.close({ forced: true })`: the server aborted the handlers).
 */
export class Answering {
  private count = 0;
  private readonly allAnswered: QuietWait;

  constructor(clock: Clock = systemClock) {
    this.allAnswered = new QuietWait(clock);
  }

  /** Requests whose answer is not written yet. */
  get size(): number {
    return this.count;
  }

  begin(): void {
    this.count++;
  }

  end(): void {
    if (--this.count === 0) this.allAnswered.quiet();
  }

  /** Resolves once no answer is under way, or after `graceMs`. */
  async wait(graceMs: number): Promise<void> {
    if (this.count > 0) await this.allAnswered.wait(graceMs);
  }
}
