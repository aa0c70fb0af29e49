import { type Clock, systemClock } from '../util/clock.js';
import { definedOnly } from './options.js';

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

type Listener = (to: BreakerState, from: BreakerState) => void;

/**
 * Per-endpoint circuit breaker: closed → open (on rate or consecutive failures) → half-open after
 * the open time → closed after enough probe successes, or open again (longer) on a probe failure.
 *
 * The open → half-open transition is lazy: it happens when `state`, `isAvailable` or `tryAcquire`
 * is consulted after the open time has passed, so the breaker needs no timer. Every permit taken
 * with `tryAcquire` must be given back exactly once, with `record` or `release`. Outcomes that
 * arrive while open (calls admitted before it opened) are ignored; in half-open, an outcome counts
 * as a probe's only while a probe permit is out.
 */
export class CircuitBreaker {
  private readonly options: CircuitBreakerOptions;
  private readonly clock: Clock;
  private current: BreakerState = 'closed';
  /** Ring of outcomes, 1 = failure. */
  private readonly window: Uint8Array;
  private windowNext = 0;
  private windowCount = 0;
  private windowFailures = 0;
  private consecutive = 0;
  private openUntil = 0;
  private openDurationMs: number;
  private probesOut = 0;
  private probeSuccesses = 0;
  private listeners: Listener[] = [];
  private lastReason = '';

  constructor(options: Partial<CircuitBreakerOptions> = {}, clock: Clock = systemClock) {
    const merged = { ...CircuitBreakerDefaults, ...definedOnly(options) };
    merged.windowSize = Math.max(1, Math.floor(merged.windowSize));
    merged.minimumCalls = Math.max(1, Math.min(merged.windowSize, Math.floor(merged.minimumCalls)));
    merged.consecutiveFailures = Math.max(1, Math.floor(merged.consecutiveFailures));
    merged.halfOpenProbes = Math.max(1, Math.floor(merged.halfOpenProbes));
    merged.openMs = Math.max(0, merged.openMs);
    merged.maxOpenMs = Math.max(merged.openMs, merged.maxOpenMs);
    this.options = merged;
    this.clock = clock;
    this.window = new Uint8Array(merged.windowSize);
    this.openDurationMs = merged.openMs;
  }

  get state(): BreakerState {
    this.checkOpenTimeout();
    return this.current;
  }

  /** Why the breaker last changed state (e.g. `'10 consecutive failures'`, `'probe failed'`). */
  get reason(): string {
    return this.lastReason;
  }

  /** Failure share of the calls in the window (0 when empty). */
  get failureRate(): number {
    return this.windowCount === 0 ? 0 : this.windowFailures / this.windowCount;
  }

  /** Milliseconds until an open breaker lets a probe through (0 unless open). */
  get remainingOpenMs(): number {
    this.checkOpenTimeout();
    return this.current === 'open' ? Math.max(0, this.openUntil - this.clock.now()) : 0;
  }

  /** Whether a call may go now, without taking a permit (used by balancers to skip open breakers). */
  isAvailable(): boolean {
    this.checkOpenTimeout();
    if (this.current === 'closed') return true;
    if (this.current === 'open') return false;
    return this.probesOut < this.options.halfOpenProbes;
  }

  /** Takes a permit for one call; false when open, or half-open with all probes taken. */
  tryAcquire(): boolean {
    this.checkOpenTimeout();
    if (this.current === 'closed') return true;
    if (this.current === 'open') return false;
    if (this.probesOut >= this.options.halfOpenProbes) return false;
    this.probesOut++;
    return true;
  }

  /** Reports the outcome of a call that got a permit. `success` false counts as a failure. */
  record(success: boolean): void {
    this.checkOpenTimeout();
    if (this.current === 'closed') {
      this.recordClosed(success);
      return;
    }
    if (this.current === 'open' || this.probesOut === 0) return; // a call admitted before opening
    this.probesOut--;
    if (!success) {
      this.openDurationMs = Math.min(this.options.maxOpenMs, this.openDurationMs * 2);
      this.open('probe failed');
      return;
    }
    this.probeSuccesses++;
    if (this.probeSuccesses >= this.options.halfOpenProbes) {
      this.openDurationMs = this.options.openMs;
      this.transition('closed', `${this.probeSuccesses} probe(s) succeeded`);
    }
  }

  /** Returns a permit without an outcome (call cancelled, or failed for a reason that says nothing of the endpoint). */
  release(): void {
    this.checkOpenTimeout();
    if (this.current === 'half-open' && this.probesOut > 0) this.probesOut--;
  }

  /** Subscribes to state changes; returns the unsubscribe function. */
  onStateChange(listener: (to: BreakerState, from: BreakerState) => void): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  private recordClosed(success: boolean): void {
    const size = this.window.length;
    if (this.windowCount === size) {
      this.windowFailures -= this.window[this.windowNext] ?? 0;
    } else {
      this.windowCount++;
    }
    this.window[this.windowNext] = success ? 0 : 1;
    if (++this.windowNext === size) this.windowNext = 0;
    if (success) {
      this.consecutive = 0;
    } else {
      this.windowFailures++;
      this.consecutive++;
    }
    const { consecutiveFailures, minimumCalls, failureRateThreshold } = this.options;
    if (this.consecutive >= consecutiveFailures) {
      this.open(`${this.consecutive} consecutive failures`);
    } else if (
      this.windowFailures > 0 &&
      this.windowCount >= minimumCalls &&
      this.windowFailures / this.windowCount >= failureRateThreshold
    ) {
      const percent = Math.round((this.windowFailures / this.windowCount) * 100);
      this.open(`failure rate ${percent} % over ${this.windowCount} calls`);
    }
  }

  private open(reason: string): void {
    this.openUntil = this.clock.now() + this.openDurationMs;
    this.probesOut = 0;
    this.probeSuccesses = 0;
    this.transition('open', reason);
  }

  private checkOpenTimeout(): void {
    if (this.current === 'open' && this.clock.now() >= this.openUntil) {
      this.probesOut = 0;
      this.probeSuccesses = 0;
      this.transition('half-open', `open for ${this.openDurationMs} ms`);
    }
  }

  private transition(to: BreakerState, reason: string): void {
    const from = this.current;
    this.lastReason = reason;
    if (to === 'closed') this.resetWindow();
    if (from === to) return;
    this.current = to;
    for (const listener of this.listeners) {
      try {
        listener(to, from);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  private resetWindow(): void {
    this.window.fill(0);
    this.windowNext = 0;
    this.windowCount = 0;
    this.windowFailures = 0;
    this.consecutive = 0;
  }
}
