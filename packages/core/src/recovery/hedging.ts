import type { LatencyTracker } from '../detection/latency-tracker.js';

/** Hedging options (idempotent calls only). */
export interface HedgingOptions {
  /** Delay before the hedge in ms, or `'p95'` (the endpoint set's observed p95 latency). Default `'p95'`. */
  delayMs: number | 'p95';
  /** Floor of a percentile-based delay, in ms. Default 10. */
  minDelayMs: number;
  /** Extra copies at most. Default 1. */
  maxHedges: number;
}

/** How long a computed p95 delay is reused, in ms (a percentile costs a sort of the reservoir). */
const DELAY_CACHE_MS = 100;

/**
 * The hedging policy: an idempotent call still unanswered after the hedge delay (fixed, or the
 * observed p95 latency of every endpoint) gets another copy on another endpoint, up to
 * `maxHedges` copies, within the retry budget; the first answer wins and the others are cancelled.
 */
export class HedgingPolicy {
  private cachedAt = Number.NEGATIVE_INFINITY;
  private cachedDelayMs = 0;

  constructor(
    readonly options: HedgingOptions,
    private readonly latency: LatencyTracker,
  ) {}

  /** The extra copies a call may get. */
  get maxHedges(): number {
    return this.options.maxHedges;
  }

  /** The delay before the next hedge, in ms, at client time `now`. */
  delayMs(now: number): number {
    const { delayMs, minDelayMs } = this.options;
    if (typeof delayMs === 'number') return delayMs;
    if (now - this.cachedAt > DELAY_CACHE_MS) {
      this.cachedAt = now;
      this.cachedDelayMs = this.latency.count > 0 ? this.latency.percentile(95) : minDelayMs;
    }
    return Math.max(minDelayMs, this.cachedDelayMs);
  }
}
