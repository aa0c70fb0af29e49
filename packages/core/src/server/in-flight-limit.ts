import { positiveNumber } from '../transport-support/options.js';

/**
 * A bound on the requests in flight of one connection or listener, on top of the server's own
 * `maxInFlight`: pass it as `dispatcher.dispatch(message, context, { limit })`. The dispatcher
 * admits each request (a batch entry counts one) only while there is room, answers the others
 * -32002 Overloaded (not processed), and releases the slot when the request is answered.
 */
export class InFlightLimit {
  private count = 0;
  private idleWaiters: Array<() => void> = [];

  /** @param maxInFlight Most requests admitted at once; a positive number (`Infinity` for no bound). */
  constructor(readonly maxInFlight: number) {
    positiveNumber('maxInFlight', maxInFlight);
  }

  /** Requests admitted and not yet answered. */
  get inFlight(): number {
    return this.count;
  }

  /** Admits one request if there is room (the dispatcher calls it). */
  tryAcquire(): boolean {
    if (this.count >= this.maxInFlight) return false;
    this.count++;
    return true;
  }

  /** Releases one admitted request (the dispatcher calls it once per admitted request). */
  release(): void {
    if (this.count > 0) this.count--;
    if (this.count === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const waiter of waiters) waiter();
    }
  }

  /** Resolves once no request admitted under this limit is in flight (a connection's drain). */
  idle(): Promise<void> {
    if (this.count === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
