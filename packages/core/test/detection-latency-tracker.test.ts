import { describe, expect, it } from 'vitest';
import { LatencyTracker } from '../src/detection/latency-tracker.js';

describe('LatencyTracker', () => {
  it('reports zeros before any sample', () => {
    const tracker = new LatencyTracker();
    expect([tracker.ewmaMs, tracker.peakEwmaMs(0), tracker.percentile(99), tracker.count]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it('starts the EWMAs at the first sample', () => {
    const tracker = new LatencyTracker();
    tracker.record(40, 1_000);
    expect(tracker.ewmaMs).toBe(40);
    expect(tracker.peakEwmaMs(1_000)).toBe(40);
  });

  it('moves the EWMA towards new samples, by time and by count', () => {
    const tracker = new LatencyTracker(10_000);
    tracker.record(10, 0);
    tracker.record(110, 10_000); // weight 1 − e^−1
    expect(tracker.ewmaMs).toBeCloseTo(10 + 100 * (1 - Math.exp(-1)), 6);
    const burst = new LatencyTracker(10_000);
    burst.record(10, 0);
    for (let index = 0; index < 100; index++) burst.record(100, 0); // same millisecond
    expect(burst.ewmaMs).toBeGreaterThan(99);
  });

  it('peak EWMA jumps up to a slow sample at once', () => {
    const tracker = new LatencyTracker();
    for (let t = 0; t < 1_000; t += 10) tracker.record(10, t);
    tracker.record(500, 1_000);
    expect(tracker.peakEwmaMs(1_000)).toBe(500);
    expect(tracker.ewmaMs).toBeLessThan(50);
  });

  it('peak EWMA decays with time after a spike, down to the current latency', () => {
    const tracker = new LatencyTracker(10_000);
    tracker.record(500, 0);
    let t = 0;
    for (; t < 10_000; t += 10) tracker.record(10, t);
    expect(tracker.peakEwmaMs(t)).toBeCloseTo(500 * Math.exp(-1), -1);
    for (; t < 60_000; t += 10) tracker.record(10, t);
    expect(tracker.peakEwmaMs(t)).toBeCloseTo(10, 0);
  });

  it('peak EWMA of an idle endpoint fades so that it gets tried again', () => {
    const tracker = new LatencyTracker(10_000);
    tracker.record(300, 0);
    expect(tracker.peakEwmaMs(10_000)).toBeCloseTo(300 * Math.exp(-1), 6);
    expect(tracker.peakEwmaMs(100_000)).toBeLessThan(1);
  });

  it('computes nearest-rank percentiles over the recent samples', () => {
    const tracker = new LatencyTracker();
    for (let ms = 1; ms <= 100; ms++) tracker.record(ms, ms);
    expect(tracker.percentile(50)).toBe(50);
    expect(tracker.percentile(95)).toBe(95);
    expect(tracker.percentile(100)).toBe(100);
    expect(tracker.percentile(0)).toBe(1);
  });

  it('keeps only the last reservoirSize samples for percentiles', () => {
    const tracker = new LatencyTracker(10_000, { reservoirSize: 256 });
    for (let index = 0; index < 1_000; index++) tracker.record(1_000, index);
    for (let index = 0; index < 256; index++) tracker.record(5, 1_000 + index);
    expect(tracker.percentile(100)).toBe(5);
    expect(tracker.count).toBe(1_256);
  });

  it('ignores invalid samples', () => {
    const tracker = new LatencyTracker();
    tracker.record(Number.NaN, 0);
    tracker.record(-1, 0);
    tracker.record(Number.POSITIVE_INFINITY, 0);
    expect(tracker.count).toBe(0);
  });
});
