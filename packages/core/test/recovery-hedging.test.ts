import { describe, expect, it } from 'vitest';
import { LatencyTracker } from '../src/detection/latency-tracker.js';
import { HedgingPolicy } from '../src/recovery/hedging.js';
import { RescuePolicy } from '../src/recovery/rescue.js';

describe('hedging policy', () => {
  it('uses a fixed delay when given one', () => {
    expect(
      new HedgingPolicy({ delayMs: 42, minDelayMs: 10, maxHedges: 1 }, new LatencyTracker()).delayMs(0),
    ).toBe(42);
  });

  it('uses the observed p95, floored at minDelayMs, recomputed at most every 100 ms', () => {
    const latency = new LatencyTracker();
    const policy = new HedgingPolicy({ delayMs: 'p95', minDelayMs: 10, maxHedges: 1 }, latency);
    expect(policy.delayMs(0)).toBe(10);
    for (let index = 0; index < 100; index++) latency.record(index < 95 ? 20 : 400, 1);
    expect(policy.delayMs(50)).toBe(10); // cached
    expect(policy.delayMs(200)).toBeGreaterThanOrEqual(20);
  });
});

describe('rescue policy', () => {
  it('rescues only idempotent calls, and only when enabled', () => {
    expect(new RescuePolicy(true).appliesTo(true)).toBe(true);
    expect(new RescuePolicy(true).appliesTo(false)).toBe(false);
    expect(new RescuePolicy(false).appliesTo(true)).toBe(false);
  });
});
