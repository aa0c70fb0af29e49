import type { Clock } from '../util/clock.js';

export interface OutlierDetectionOptions {
  /** Eject after this many consecutive failures. Default 5. */
  consecutiveFailures: number;
  /** Eject when the failure rate over the window reaches this (0..1). Default 0.5; 1 disables. */
  failureRateThreshold: number;
  /** The rate counts once the window holds this many calls. Default 20. */
  minimumCalls: number;
  /** Calls in the sliding window per endpoint. Default 50. */
  windowSize: number;
  /** First ejection time, multiplied by the number of times ejected, in ms. Default 30 000. */
  baseEjectionMs: number;
  /** Cap on the ejection time, in ms. Default 300 000. */
  maxEjectionMs: number;
  /** Never eject more than this share of the endpoint set (at least one endpoint always stays). Default 0.5. */
  maxEjectionPercent: number;
}

export const OutlierDetectionDefaults: OutlierDetectionOptions = {
  consecutiveFailures: 5,
  failureRateThreshold: 0.5,
  minimumCalls: 20,
  windowSize: 50,
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 0.5,
};

/**
 * Passive outlier detection over a set of endpoints (Envoy / gRPC A50). It only decides and
 * remembers ejections; the client asks `isEjected` and is told of changes through `onChange`.
 */
export class OutlierDetector {
  constructor(options: Partial<OutlierDetectionOptions> = {}, clock?: Clock) {
    throw new Error('TODO');
  }
  /** Adds an endpoint to the set (idempotent). */
  add(endpoint: string): void {}
  /** Removes an endpoint and its history. */
  remove(endpoint: string): void {}
  /** Records an outcome that says something about the endpoint's health. */
  record(endpoint: string, success: boolean): void {}
  /** Whether the endpoint is ejected now (ejections end by themselves when their time is up). */
  isEjected(endpoint: string): boolean {
    return false;
  }
  /** How many times the endpoint has been ejected (decays back after a healthy period). */
  ejectionCount(endpoint: string): number {
    return 0;
  }
  /** Subscribes to ejection/return events; returns the unsubscribe function. */
  onChange(listener: (endpoint: string, ejected: boolean, reason: string) => void): () => void {
    return () => {};
  }
}
