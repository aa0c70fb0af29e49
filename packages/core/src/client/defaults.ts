import type { BulkheadLimits, HedgingOptions, RetryOptions, StallDetectionOptions } from './types.js';

/** Client defaults (the reasons for each are in docs/policies.md), resolved once per client. */
export const ClientDefaults = {
  /** Whole-call deadline: 10 s (Envoy's route timeout is 15 s). */
  deadlineMs: 10_000,
  retry: { maxAttempts: 3, baseMs: 50, capMs: 1_000, multiplier: 2, jitter: 'full' } satisfies RetryOptions,
  stallDetection: {
    latencyMultiplier: 4,
    minimumMs: 250,
    checkIntervalMs: 100,
    probeTimeoutMs: 300,
    overtakenMultiplier: 4,
    overtakenMinimumMs: 250,
  } satisfies StallDetectionOptions,
  hedging: { delayMs: 'p95', minDelayMs: 10, maxHedges: 1 } satisfies HedgingOptions,
  bulkhead: {
    maxInFlightPerEndpoint: Number.POSITIVE_INFINITY,
    maxInFlight: Number.POSITIVE_INFINITY,
    maxQueue: 0,
  } satisfies BulkheadLimits,
} as const;
