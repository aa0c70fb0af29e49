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
 * Hayashibara et al.'s phi-accrual failure detector (with Akka's normal-distribution
 * approximation). Time is passed in, so the caller can exclude local stalls.
 */
export class PhiAccrualDetector {
  constructor(options: Partial<PhiAccrualOptions> = {}) {
    throw new Error('TODO');
  }
  /** Records a heartbeat (any sign of life) at `nowMs`. */
  heartbeat(nowMs: number): void {}
  /** Suspicion level at `nowMs`: 0 before the first heartbeat; grows with silence. */
  phi(nowMs: number): number {
    return 0;
  }
  /** phi(nowMs) ≥ threshold. */
  isAvailable(nowMs: number): boolean {
    return true;
  }
  /**
   * Shifts the last heartbeat forward by `pauseMs`: the client's own event loop was stalled for
   * that long, so the silence is ours, not the peer's.
   */
  excusePause(pauseMs: number): void {}
}
