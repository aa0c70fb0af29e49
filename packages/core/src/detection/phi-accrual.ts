import { definedOnly } from '../recovery/options.js';

export interface PhiAccrualOptions {
  /** Suspect when phi reaches this. Default 8 (Akka). */
  threshold: number;
  /** Heartbeat intervals kept. Default 200. */
  maxSampleSize: number;
  /** Floor of the interval standard deviation, in ms (avoids over-sensitivity to regular beats). Default 100. */
  minStdDeviationMs: number;
  /** A pause tolerated beyond the mean before phi rises, in ms. Default 1 000 (Akka 3 s; ours heartbeats every 1 s). */
  acceptableHeartbeatPauseMs: number;
  /** The expected interval, used to seed the history before real samples. Default 1 000. */
  firstHeartbeatEstimateMs: number;
}

export const PhiAccrualDefaults: PhiAccrualOptions = {
  threshold: 8,
  maxSampleSize: 200,
  minStdDeviationMs: 100,
  acceptableHeartbeatPauseMs: 1_000,
  firstHeartbeatEstimateMs: 1_000,
};

/**
 * phi for a silence of `elapsedMs` given the intervals' mean and standard deviation, with Akka's
 * logistic approximation of the normal CDF: phi = −log10(1 − F(elapsed)).
 */
export function phiOf(elapsedMs: number, meanMs: number, stdDeviationMs: number): number {
  const y = (elapsedMs - meanMs) / stdDeviationMs;
  const e = Math.exp(-y * (1.5976 + 0.070566 * y * y));
  if (elapsedMs > meanMs) return -Math.log10(e / (1 + e));
  return -Math.log10(1 - 1 / (1 + e));
}

/** The highest phi of a silence shorter than the mean: −log10(1 − 1/2) = log10 2 (with a margin). */
const PHI_WITHIN_MEAN = Math.log10(2) + 1e-9;

/**
 * Hayashibara et al.'s phi-accrual failure detector (with Akka's normal-distribution
 * approximation). Time is passed in, so the caller can exclude local stalls.
 *
 * As in Akka: the history is seeded with two intervals around `firstHeartbeatEstimateMs`
 * (mean = estimate, std dev = estimate / 4); an interval is added to the history only while the
 * peer is considered available (a long outage does not poison the distribution); the mean used is
 * the history's mean + `acceptableHeartbeatPauseMs`, and the std dev is at least
 * `minStdDeviationMs`. Each heartbeat is O(1) (running sums over a ring buffer).
 */
export class PhiAccrualDetector {
  readonly options: PhiAccrualOptions;
  private readonly intervals: Float64Array;
  private next = 0;
  private size = 0;
  private sum = 0;
  private sumOfSquares = 0;
  /** NaN before the first heartbeat (a number field: writing it allocates nothing). */
  private last = Number.NaN;
  private addsSinceRecompute = 0;

  constructor(options: Partial<PhiAccrualOptions> = {}) {
    this.options = { ...PhiAccrualDefaults, ...definedOnly(options) };
    this.options.maxSampleSize = Math.max(2, Math.floor(this.options.maxSampleSize));
    this.intervals = new Float64Array(this.options.maxSampleSize);
    this.seed();
  }

  /** Records a heartbeat (any sign of life) at `nowMs`. */
  heartbeat(nowMs: number): void {
    const last = this.last;
    if (!Number.isNaN(last)) {
      const interval = nowMs - last;
      if (interval < 0) return; // an excused pause moved `last` past this beat: nothing to learn
      if (this.isAvailable(nowMs)) this.add(interval);
    }
    this.last = nowMs;
  }

  /** Suspicion level at `nowMs`: 0 before the first heartbeat; grows with silence. */
  phi(nowMs: number): number {
    if (Number.isNaN(this.last)) return 0;
    return phiOf(
      nowMs - this.last,
      this.meanMs + this.options.acceptableHeartbeatPauseMs,
      this.stdDeviationMs,
    );
  }

  /** phi(nowMs) < threshold: the peer is not suspected. */
  isAvailable(nowMs: number): boolean {
    const { threshold, acceptableHeartbeatPauseMs } = this.options;
    // A silence shorter than the mean (+ the acceptable pause) has phi ≤ log10 2: no need for the
    // maths when the threshold is above that (every heartbeat of a busy client takes this path).
    if (nowMs - this.last < this.meanMs + acceptableHeartbeatPauseMs && threshold > PHI_WITHIN_MEAN)
      return true;
    return this.phi(nowMs) < threshold;
  }

  /**
   * Shifts the last heartbeat forward by `pauseMs`: the client's own event loop was stalled for
   * that long, so the silence is ours, not the peer's.
   */
  excusePause(pauseMs: number): void {
    if (!Number.isNaN(this.last) && pauseMs > 0) this.last += pauseMs;
  }

  /** Time of the last heartbeat (shifted by excused pauses), or undefined before the first. */
  get lastHeartbeatMs(): number | undefined {
    return Number.isNaN(this.last) ? undefined : this.last;
  }

  /** Mean of the recorded intervals, in ms (without the acceptable pause). */
  get meanMs(): number {
    return this.sum / this.size;
  }

  /** Standard deviation of the recorded intervals, floored at `minStdDeviationMs`. */
  get stdDeviationMs(): number {
    const mean = this.meanMs;
    const variance = Math.max(0, this.sumOfSquares / this.size - mean * mean);
    return Math.max(Math.sqrt(variance), this.options.minStdDeviationMs);
  }

  /** Forgets everything (e.g. after a reconnect): back to the seeded history, no heartbeat yet. */
  reset(): void {
    this.next = 0;
    this.size = 0;
    this.sum = 0;
    this.sumOfSquares = 0;
    this.last = Number.NaN;
    this.seed();
  }

  private seed(): void {
    const estimate = this.options.firstHeartbeatEstimateMs;
    const deviation = estimate / 4;
    this.add(estimate - deviation);
    this.add(estimate + deviation);
  }

  private add(interval: number): void {
    const capacity = this.intervals.length;
    if (this.size === capacity) {
      const old = this.intervals[this.next] ?? 0;
      this.sum -= old;
      this.sumOfSquares -= old * old;
    } else {
      this.size++;
    }
    this.intervals[this.next] = interval;
    if (++this.next === capacity) this.next = 0;
    this.sum += interval;
    this.sumOfSquares += interval * interval;
    // Running sums drift with float error; recompute them once per full turn (amortised O(1)).
    if (++this.addsSinceRecompute >= capacity) {
      this.addsSinceRecompute = 0;
      let sum = 0;
      let squares = 0;
      for (let index = 0; index < this.size; index++) {
        const value = this.intervals[index] ?? 0;
        sum += value;
        squares += value * value;
      }
      this.sum = sum;
      this.sumOfSquares = squares;
    }
  }
}
