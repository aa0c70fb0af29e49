/**
 * Small statistics for measured availability: the Wilson score interval for a success ratio and
 * the normal quantile that turns a confidence level into its z.
 */
import { AvailabilityInputError, count, positive, probability } from './validate.js';

/** z for a two-sided 95 % interval: Φ⁻¹(0.975). */
export const Z_95 = 1.959963984540054;

/** A closed interval [lower, upper]. */
export type Interval = [lower: number, upper: number];

/**
 * The Wilson score interval for a binomial proportion: the range of success probabilities p
 * that the observation `successes / trials` does not reject at the given z.
 *
 *     p̂ = s / n,   centre = (p̂ + z²/2n) / (1 + z²/n)
 *     half-width = z / (1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²)
 *
 * Unlike the normal (Wald) interval it stays inside [0, 1], is never empty, and behaves at
 * p̂ = 0 or 1 (where availability measurements live). With no trials it is [0, 1]. The lower
 * bound is exactly 0 when s = 0 and the upper exactly 1 when s = n.
 *
 * @param successes successes, an integer in [0, trials]
 * @param trials trials, a non-negative integer
 * @param z the normal quantile, > 0 (default {@link Z_95}, a 95 % interval; see {@link zForConfidence})
 */
export function wilsonInterval(successes: number, trials: number, z: number = Z_95): Interval {
  const fn = 'wilsonInterval';
  const n = count(fn, 'trials', trials);
  const s = count(fn, 'successes', successes);
  positive(fn, 'z', z);
  if (s > n)
    throw new AvailabilityInputError(fn, 'successes', `an integer in [0, trials] (trials = ${n})`, s);
  if (n === 0) return [0, 1];
  const p = s / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  const lower = s === 0 ? 0 : Math.max(0, centre - half);
  const upper = s === n ? 1 : Math.min(1, centre + half);
  return [lower, upper];
}

/** Whether `value` lies in the closed interval. */
export function inInterval(value: number, [lower, upper]: Interval): boolean {
  return value >= lower && value <= upper;
}

/**
 * The standard error of a Bernoulli proportion estimated from `trials` trials: √(p(1 − p)/n).
 * Used by Monte Carlo checks ("within 4σ").
 */
export function binomialStandardError(p: number, trials: number): number {
  const fn = 'binomialStandardError';
  probability(fn, 'p', p);
  const n = count(fn, 'trials', trials);
  if (n === 0) throw new AvailabilityInputError(fn, 'trials', 'an integer ≥ 1', n);
  return Math.sqrt((p * (1 - p)) / n);
}

/**
 * Φ⁻¹(p), the standard normal quantile, by Acklam's rational approximation (relative error
 * below 1.2e-9 over (0, 1)): plenty for choosing an interval's z.
 */
export function normalQuantile(p: number): number {
  const fn = 'normalQuantile';
  if (typeof p !== 'number' || !Number.isFinite(p) || p <= 0 || p >= 1) {
    throw new AvailabilityInputError(fn, 'p', 'a number in the open interval (0, 1)', p);
  }
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const [a0, a1, a2, a3, a4, a5] = a as [number, number, number, number, number, number];
  const [b0, b1, b2, b3, b4] = b as [number, number, number, number, number];
  const [c0, c1, c2, c3, c4, c5] = c as [number, number, number, number, number, number];
  const [d0, d1, d2, d3] = d as [number, number, number, number];
  const low = 0.02425;
  let x: number;
  if (p < low) {
    const q = Math.sqrt(-2 * Math.log(p));
    x =
      (((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  } else if (p <= 1 - low) {
    const q = p - 0.5;
    const r = q * q;
    x =
      ((((((a0 * r + a1) * r + a2) * r + a3) * r + a4) * r + a5) * q) /
      (((((b0 * r + b1) * r + b2) * r + b3) * r + b4) * r + 1);
  } else {
    const q = Math.sqrt(-2 * Math.log1p(-p));
    x =
      -(((((c0 * q + c1) * q + c2) * q + c3) * q + c4) * q + c5) /
      ((((d0 * q + d1) * q + d2) * q + d3) * q + 1);
  }
  return x;
}

/**
 * z for a two-sided interval at `confidence` (e.g. 0.95 → 1.96, 0.99 → 2.576).
 * @param confidence in the open interval (0, 1)
 */
export function zForConfidence(confidence: number): number {
  if (typeof confidence !== 'number' || !Number.isFinite(confidence) || confidence <= 0 || confidence >= 1) {
    throw new AvailabilityInputError(
      'zForConfidence',
      'confidence',
      'a number in the open interval (0, 1)',
      confidence,
    );
  }
  return normalQuantile(0.5 + confidence / 2);
}
