import type { Random } from '../util/random.js';

/** Exponential backoff options. */
export interface BackoffOptions {
  /** Delay before the first retry, before jitter, in ms. Default 50. */
  baseMs: number;
  /** Upper bound of any delay, in ms. Default 1000. */
  capMs: number;
  /** Growth factor per retry. Default 2. */
  multiplier: number;
  /** `full` (AWS "full jitter": uniform in [0, d]), `equal` (d/2 + uniform d/2) or `none`. Default `full`. */
  jitter: 'full' | 'equal' | 'none';
}

export const BackoffDefaults: BackoffOptions = { baseMs: 50, capMs: 1000, multiplier: 2, jitter: 'full' };

/**
 * Delay before retry number `retry` (1 = first retry): min(cap, base·multiplier^(retry−1)),
 * then jittered. Always within [0, capMs].
 */
export function backoffDelay(retry: number, options: BackoffOptions, random: Random): number {
  throw new Error('TODO');
}
