import { describe, expect, it } from 'vitest';
import { PhiAccrualDefaults, PhiAccrualDetector, phiOf } from '../src/detection/phi-accrual.js';

/** A detector that has seen `beats` heartbeats every `intervalMs`, the last one at the returned time. */
function regular(
  beats: number,
  intervalMs = 1_000,
  options: ConstructorParameters<typeof PhiAccrualDetector>[0] = {},
) {
  const detector = new PhiAccrualDetector(options);
  let now = 0;
  for (let beat = 0; beat < beats; beat++) {
    now = beat * intervalMs;
    detector.heartbeat(now);
  }
  return { detector, last: now };
}

describe('PhiAccrualDetector', () => {
  it('defaults to Akka threshold 8, 200 samples, 100 ms min std dev, 1 s acceptable pause', () => {
    expect(PhiAccrualDefaults).toEqual({
      threshold: 8,
      maxSampleSize: 200,
      minStdDeviationMs: 100,
      acceptableHeartbeatPauseMs: 1_000,
      firstHeartbeatEstimateMs: 1_000,
    });
  });

  it("approximates −log10(1 − Φ(y)) with Akka's logistic formula", () => {
    expect(phiOf(1_000, 1_000, 100)).toBeCloseTo(0.301, 3); // y = 0: 1 − Φ = 0.5
    expect(phiOf(1_200, 1_000, 100)).toBeCloseTo(1.643, 2); // y = 2: 1 − Φ = 0.02275
    expect(phiOf(1_300, 1_000, 100)).toBeCloseTo(2.87, 1); // y = 3: 1 − Φ = 0.00135
    expect(phiOf(0, 1_000, 100)).toBeCloseTo(0, 5);
  });

  it('is 0 before the first heartbeat', () => {
    const detector = new PhiAccrualDetector();
    expect(detector.phi(1_000_000)).toBe(0);
    expect(detector.isAvailable(1_000_000)).toBe(true);
  });

  it('rises with silence and crosses the threshold after about mean + pause + 5 std devs', () => {
    const { detector, last } = regular(300);
    const phis = [1_000, 2_000, 2_400, 2_500, 2_600, 4_000].map((silence) => detector.phi(last + silence));
    for (let index = 1; index < phis.length; index++)
      expect(phis[index]).toBeGreaterThan(phis[index - 1] ?? 0);
    expect(detector.isAvailable(last + 2_400)).toBe(true);
    expect(detector.isAvailable(last + 2_600)).toBe(false);
  });

  it('seeds its history from the first heartbeat estimate', () => {
    const detector = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 0 });
    expect(detector.meanMs).toBe(1_000);
    expect(detector.stdDeviationMs).toBe(250);
  });

  it('learns the actual interval', () => {
    const { detector } = regular(500, 200);
    expect(detector.meanMs).toBeCloseTo(200, 6);
    expect(detector.stdDeviationMs).toBe(100); // the floor
  });

  it('is less sensitive to a jittery peer (larger std dev)', () => {
    const steady = regular(300).detector;
    const jittery = new PhiAccrualDetector();
    let now = 0;
    for (let beat = 0; beat < 300; beat++) jittery.heartbeat((now += beat % 2 === 0 ? 500 : 1_500));
    expect(jittery.stdDeviationMs).toBeCloseTo(500, 0);
    expect(jittery.phi(now + 2_600)).toBeLessThan(steady.phi(299_000 + 2_600));
  });

  it('excusePause shifts the last heartbeat: a local stall is not held against the peer', () => {
    const { detector, last } = regular(300);
    const stalled = last + 10_000;
    expect(detector.isAvailable(stalled)).toBe(false);
    detector.excusePause(9_000);
    expect(detector.phi(stalled)).toBeCloseTo(phiOf(1_000, 2_000, 100), 6);
    expect(detector.isAvailable(stalled)).toBe(true);
  });

  it('does not learn the interval of an outage (only intervals while available)', () => {
    const { detector, last } = regular(300);
    detector.heartbeat(last + 60_000);
    expect(detector.meanMs).toBeCloseTo(1_000, 6);
    detector.heartbeat(last + 61_000);
    expect(detector.isAvailable(last + 62_000)).toBe(true);
  });

  it('keeps only maxSampleSize intervals', () => {
    const detector = new PhiAccrualDetector({ maxSampleSize: 10 });
    let now = 0;
    for (let beat = 0; beat < 50; beat++) detector.heartbeat((now += 1_000));
    for (let beat = 0; beat < 10; beat++) detector.heartbeat((now += 500));
    expect(detector.meanMs).toBeCloseTo(500, 6);
  });

  it('reset() forgets the peer', () => {
    const { detector, last } = regular(10);
    detector.reset();
    expect(detector.phi(last + 100_000)).toBe(0);
    expect(detector.lastHeartbeatMs).toBeUndefined();
  });
});
