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
 * The delay before retry number `retry` without jitter: min(cap, base·multiplier^(retry−1)).
 * Non-decreasing in `retry` (for multiplier ≥ 1), always within [0, capMs]. Missing options take
 * {@link BackoffDefaults}; invalid numbers (negative, NaN) count as 0.
 */
export function backoffCeiling(retry: number, options: Partial<BackoffOptions>): number {
  const cap = nonNegative(options.capMs ?? BackoffDefaults.capMs);
  const base = Math.min(cap, nonNegative(options.baseMs ?? BackoffDefaults.baseMs));
  const multiplier = Math.max(1, nonNegative(options.multiplier ?? BackoffDefaults.multiplier));
  const exponent = Number.isFinite(retry) ? Math.max(0, Math.floor(retry) - 1) : retry > 0 ? Infinity : 0;
  if (base === 0) return 0;
  // base·multiplier^exponent may overflow to Infinity: min() brings it back to the cap.
  const raw = base * multiplier ** exponent;
  return Number.isNaN(raw) ? cap : Math.min(cap, raw);
}

/**
 * Delay before retry number `retry` (1 = first retry): min(cap, base·multiplier^(retry−1)),
 * then jittered. Always within [0, capMs].
 */
export function backoffDelay(retry: number, options: Partial<BackoffOptions>, random: Random): number {
  const ceiling = backoffCeiling(retry, options);
  const jitter = options.jitter ?? BackoffDefaults.jitter;
  if (jitter === 'none' || ceiling === 0) return ceiling;
  const r = unit(random());
  // min(): float rounding (e.g. of subnormal numbers) must not push a delay past its ceiling.
  if (jitter === 'equal') return Math.min(ceiling, ceiling / 2 + r * (ceiling / 2));
  return Math.min(ceiling, r * ceiling);
}

/** The value if positive, else 0 (NaN included, which Math.max would keep). */
function nonNegative(value: number): number {
  return Number.isNaN(value) ? 0 : Math.max(value, 0);
}

/** A random draw clamped into [0, 1) so a misbehaving source cannot break the bounds. */
function unit(value: number): number {
  if (!(value > 0)) return 0;
  return value < 1 ? value : 1 - Number.EPSILON;
}
