import type { Clock } from '../util/clock.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  /** Open when the failure rate over the window reaches this share (0..1). Default 0.5. */
  failureRateThreshold: number;
  /** The failure rate counts only once the window holds at least this many calls. Default 20. */
  minimumCalls: number;
  /** Calls in the sliding (count-based) window. Default 100. */
  windowSize: number;
  /** Open after this many consecutive failures whatever the rate. Default 10. */
  consecutiveFailures: number;
  /** How long the breaker stays open the first time, in ms. Default 5 000. */
  openMs: number;
  /** Cap of the open time, which doubles each time a half-open probe fails. Default 30 000. */
  maxOpenMs: number;
  /** Probes admitted at once in half-open; that many successes close it. Default 1. */
  halfOpenProbes: number;
}

export const CircuitBreakerDefaults: CircuitBreakerOptions = {
  failureRateThreshold: 0.5,
  minimumCalls: 20,
  windowSize: 100,
  consecutiveFailures: 10,
  openMs: 5_000,
  maxOpenMs: 30_000,
  halfOpenProbes: 1,
};

/**
 * Per-endpoint circuit breaker: closed → open (on rate or consecutive failures) → half-open after
 * the open time → closed after enough probe successes, or open again (longer) on a probe failure.
 */
export class CircuitBreaker {
  constructor(options: Partial<CircuitBreakerOptions> = {}, clock?: Clock) {
    throw new Error('TODO');
  }
  get state(): BreakerState {
    return 'closed';
  }
  /** Whether a call may go now, without taking a permit (used by balancers to skip open breakers). */
  isAvailable(): boolean {
    return true;
  }
  /** Takes a permit for one call; false when open, or half-open with all probes taken. */
  tryAcquire(): boolean {
    return true;
  }
  /** Reports the outcome of a call that got a permit. `success` false counts as a failure. */
  record(success: boolean): void {}
  /** Returns a permit without an outcome (call cancelled, or failed for a reason that says nothing of the endpoint). */
  release(): void {}
  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: (to: BreakerState, from: BreakerState) => void): () => void {
    return () => {};
  }
}
