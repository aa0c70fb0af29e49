/** Latency statistics for one endpoint: EWMA, Finagle's peak EWMA, and percentiles. */
export class LatencyTracker {
  /** @param decayMs time constant of the EWMAs, in ms (Finagle uses 10 s). Default 10 000. */
  constructor(decayMs?: number) {
    throw new Error('TODO');
  }
  /** Records one successful call's latency observed at `nowMs`. */
  record(latencyMs: number, nowMs: number): void {}
  /** Plain EWMA of latency in ms; 0 when nothing recorded. */
  get ewmaMs(): number {
    return 0;
  }
  /** Peak EWMA at `nowMs`: rises to a slow sample at once, decays with time towards faster ones. */
  peakEwmaMs(nowMs: number): number {
    return 0;
  }
  /** Percentile (0..100) of recent latencies (a bounded reservoir or histogram, O(1) record). */
  percentile(p: number): number {
    return 0;
  }
  get count(): number {
    return 0;
  }
}
