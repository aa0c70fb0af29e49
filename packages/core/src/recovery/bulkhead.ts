/** Bulkhead options. */
export interface BulkheadOptions {
  /** Calls allowed in flight at once. */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot; beyond it they fail fast. Default 0 (no queue). */
  maxQueue: number;
}

interface Waiter {
  resolve: (acquired: boolean) => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Limits concurrent calls. `tryAcquire` never waits; `acquire` queues up to `maxQueue` and
 * rejects (with the abort reason) if its signal aborts while queued.
 *
 * The queue is FIFO; `release` hands the freed slot straight to the oldest waiter, so a slot is
 * never lost between a release and a waiter. Every slot acquired must be released exactly once.
 */
export class Bulkhead {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  private active = 0;
  private readonly waiters: Waiter[] = [];
  private waitersHead = 0;

  constructor(options: { maxConcurrent: number; maxQueue?: number }) {
    this.maxConcurrent = Math.max(0, Math.floor(options.maxConcurrent));
    this.maxQueue = Math.max(0, Math.floor(options.maxQueue ?? 0));
  }
  get inFlight(): number {
    return this.active;
  }
  get queued(): number {
    return this.waiters.length - this.waitersHead;
  }
  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    if (this.active >= this.maxConcurrent || this.queued > 0) return false;
    this.active++;
    return true;
  }
  /** Takes a slot, waiting in the queue if allowed; resolves false at once when the queue is full. */
  acquire(signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.tryAcquire()) return Promise.resolve(true);
    if (this.queued >= this.maxQueue) return Promise.resolve(false);
    return new Promise<boolean>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          this.remove(waiter);
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
    });
  }
  /** Frees a slot (hands it to the next queued caller). */
  release(): void {
    const next = this.shift();
    if (next) {
      // The slot passes to the waiter: `active` stays the same.
      if (next.signal && next.onAbort) next.signal.removeEventListener('abort', next.onAbort);
      next.resolve(true);
      return;
    }
    if (this.active > 0) this.active--;
  }

  private shift(): Waiter | undefined {
    if (this.waitersHead >= this.waiters.length) return undefined;
    const waiter = this.waiters[this.waitersHead];
    this.waiters[this.waitersHead] = undefined as unknown as Waiter;
    this.waitersHead++;
    if (this.waitersHead === this.waiters.length) {
      this.waiters.length = 0;
      this.waitersHead = 0;
    } else if (this.waitersHead > 64 && this.waitersHead * 2 > this.waiters.length) {
      this.waiters.splice(0, this.waitersHead);
      this.waitersHead = 0;
    }
    return waiter;
  }

  private remove(waiter: Waiter): void {
    const index = this.waiters.indexOf(waiter, this.waitersHead);
    if (index >= 0) this.waiters.splice(index, 1);
  }
}
