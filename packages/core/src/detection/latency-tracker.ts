/** Options of a {@link LatencyTracker} beyond its decay time. */
export interface LatencyTrackerOptions {
  /**
   * Least weight of a new sample in the plain EWMA, so it follows a burst of samples close in time
   * (the time-based weight alone would ignore samples taken in the same millisecond). Default 0.05
   * (about the last 20 samples at high call rates).
   */
  minSampleWeight: number;
  /** Recent latencies kept for percentiles (a ring buffer). Default 256. */
  reservoirSize: number;
}

export const LatencyTrackerDefaults: LatencyTrackerOptions = { minSampleWeight: 0.05, reservoirSize: 256 };

/**
 * The latest {@link decayOf} computed: elapsed ms, decay ms, factor. A typed array, so that
 * storing a number allocates nothing (a module `let` holding a double would box it each time).
 */
const lastDecay = new Float64Array([0, Number.NaN, 1]);

/**
 * e^(−elapsed/decay). An answer is recorded into several trackers at once (the endpoint's, its
 * method's, every endpoint's), usually with the same elapsed time: the exponential is computed
 * once. Between the answers of a busy client (elapsed < decay / 1 000) it is the Taylor series to
 * x⁴, whose error (< x⁵/120 ≤ 10⁻¹⁷) is below the last bit of a double near 1.
 */
function decayOf(elapsedMs: number, decayMs: number): number {
  const last = lastDecay;
  if (elapsedMs === last[0] && decayMs === last[1]) return last[2]!;
  const x = elapsedMs / decayMs;
  const decay = x < 1e-3 ? 1 - x * (1 - x * (0.5 - x * (1 / 6 - x / 24))) : Math.exp(-x);
  last[0] = elapsedMs;
  last[1] = decayMs;
  last[2] = decay;
  return decay;
}

/**
 * Latency statistics for one endpoint: EWMA, Finagle's peak EWMA, and percentiles.
 *
 * - `ewmaMs`: time-weighted EWMA (weight of a sample = 1 − e^(−Δt/decay), at least
 *   `minSampleWeight`); the typical latency, used for stall suspicion.
 * - `peakEwmaMs(now)`: Finagle's / Linkerd's peak EWMA as it behaves under load (where every
 *   balancer read decays it): a slower sample raises it at once; otherwise it decays
 *   exponentially towards 0 with time constant `decayMs`, and a sample stops the decay at the
 *   sample's value. So a steady endpoint reads as its latest latency, a spike fades over a few
 *   `decayMs`, and an idle endpoint's cost falls back so that it gets probed again. Reading it
 *   does not change it.
 * - `percentile(p)`: nearest-rank percentile of the last `reservoirSize` samples (sorts a copy: for
 *   stats and the hedging delay, not for the per-call path).
 *
 * `record` is O(1) and allocation-free.
 */
export class LatencyTracker {
  private readonly decayMs: number;
  private readonly minWeight: number;
  private readonly ring: Float64Array;
  private ringNext = 0;
  private ringSize = 0;
  private total = 0;
  private ewma = 0;
  private peak = 0;
  private stamp = 0;

  /** @param decayMs time constant of the EWMAs, in ms (Finagle uses 10 s). Default 10 000. */
  constructor(decayMs = 10_000, options: Partial<LatencyTrackerOptions> = {}) {
    this.decayMs = decayMs > 0 ? decayMs : 10_000;
    const weight = options.minSampleWeight ?? LatencyTrackerDefaults.minSampleWeight;
    this.minWeight = Math.min(1, Math.max(0, weight));
    const size = Math.floor(options.reservoirSize ?? LatencyTrackerDefaults.reservoirSize);
    this.ring = new Float64Array(Math.max(1, size));
  }

  /** Records one successful call's latency observed at `nowMs`. */
  record(latencyMs: number, nowMs: number): void {
    if (!(latencyMs >= 0) || !Number.isFinite(latencyMs)) return;
    if (this.total === 0) {
      this.ewma = latencyMs;
      this.peak = latencyMs;
    } else {
      const decay = decayOf(Math.max(0, nowMs - this.stamp), this.decayMs);
      const weight = Math.max(1 - decay, this.minWeight);
      this.ewma += (latencyMs - this.ewma) * weight;
      const decayedPeak = this.peak * decay;
      this.peak = Math.max(latencyMs, decayedPeak);
    }
    this.stamp = Math.max(this.stamp, nowMs);
    this.total++;
    this.ring[this.ringNext] = latencyMs;
    if (++this.ringNext === this.ring.length) this.ringNext = 0;
    if (this.ringSize < this.ring.length) this.ringSize++;
  }

  /** Plain EWMA of latency in ms; 0 when nothing recorded. */
  get ewmaMs(): number {
    return this.ewma;
  }

  /** Peak EWMA at `nowMs`: rises to a slow sample at once, decays with time towards faster ones. */
  peakEwmaMs(nowMs: number): number {
    if (this.total === 0) return 0;
    const elapsed = Math.max(0, nowMs - this.stamp);
    // Never exactly 0 once measured: 0 means "nothing observed" to the peak-EWMA balancer.
    return Math.max(this.peak * decayOf(elapsed, this.decayMs), Number.MIN_VALUE);
  }

  /** Percentile (0..100) of recent latencies (a bounded reservoir or histogram, O(1) record). */
  percentile(p: number): number {
    const n = this.ringSize;
    if (n === 0) return 0;
    const sorted = this.ring.slice(0, n).sort();
    const clamped = Math.min(100, Math.max(0, Number.isNaN(p) ? 0 : p));
    const rank = Math.max(1, Math.ceil((clamped / 100) * n));
    return sorted[rank - 1] ?? 0;
  }

  /** Samples recorded since creation. */
  get count(): number {
    return this.total;
  }
}
