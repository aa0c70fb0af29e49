/** Bulkhead options. */
export interface BulkheadOptions {
  /** Calls allowed in flight at once. */
  maxConcurrent: number;
  /** Calls allowed to wait for a slot; beyond it they fail fast. Default 0 (no queue). */
  maxQueue: number;
}

/**
 * Limits concurrent calls. `tryAcquire` never waits; `acquire` queues up to `maxQueue` and
 * rejects (with the abort reason) if its signal aborts while queued.
 */
export class Bulkhead {
  constructor(options: { maxConcurrent: number; maxQueue?: number }) {
    throw new Error('TODO');
  }
  get inFlight(): number {
    return 0;
  }
  get queued(): number {
    return 0;
  }
  /** Takes a slot if one is free. */
  tryAcquire(): boolean {
    return true;
  }
  /** Takes a slot, waiting in the queue if allowed; resolves false at once when the queue is full. */
  acquire(signal?: AbortSignal): Promise<boolean> {
    return Promise.resolve(true);
  }
  /** Frees a slot (hands it to the next queued caller). */
  release(): void {}
}
