import type { Clock } from '../util/clock.js';

/** Finagle-style retry budget options. */
export interface RetryBudgetOptions {
  /** Retries allowed as a share of calls over the window. Default 0.2. */
  ratio: number;
  /** Retries always allowed per second regardless of traffic. Default 10. */
  minRetriesPerSecond: number;
  /** The sliding window deposits count over, in ms. Default 10 000. */
  windowMs: number;
}

export const RetryBudgetDefaults: RetryBudgetOptions = { ratio: 0.2, minRetriesPerSecond: 10, windowMs: 10_000 };

/**
 * A token bucket: every call deposits `ratio` tokens, every retry (or hedge) withdraws one; plus a
 * floor of `minRetriesPerSecond` over the window. Invariant: over any window, retries ≤
 * ratio·calls + minRetriesPerSecond·windowMs/1000 (+1 rounding).
 */
export class RetryBudget {
  constructor(options: Partial<RetryBudgetOptions> = {}, clock?: Clock) {
    throw new Error('TODO');
  }
  /** Records a call (the first attempt). */
  deposit(): void {}
  /** Takes a token for a retry or hedge; false when the budget is exhausted. */
  tryWithdraw(): boolean {
    return false;
  }
  /** Tokens available now (for stats). */
  balance(): number {
    return 0;
  }
}
