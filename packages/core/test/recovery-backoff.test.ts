import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BackoffDefaults,
  type BackoffOptions,
  backoffCeiling,
  backoffDelay,
} from '../src/recovery/backoff.js';
import { seededRandom } from '../src/util/random.js';

const none: BackoffOptions = { baseMs: 100, capMs: 1_000, multiplier: 2, jitter: 'none' };
const options = fc.record({
  baseMs: fc.double({ min: 0, max: 10_000, noNaN: true }),
  capMs: fc.double({ min: 0, max: 100_000, noNaN: true }),
  multiplier: fc.double({ min: 1, max: 10, noNaN: true }),
  jitter: fc.constantFrom<BackoffOptions['jitter']>('full', 'equal', 'none'),
});

describe('backoffDelay', () => {
  it('doubles from the base for each retry without jitter', () => {
    expect([1, 2, 3, 4].map((retry) => backoffDelay(retry, none, Math.random))).toEqual([100, 200, 400, 800]);
  });

  it('never exceeds the cap, even for huge retry numbers', () => {
    expect(backoffDelay(5, none, Math.random)).toBe(1_000);
    expect(backoffDelay(10_000, none, Math.random)).toBe(1_000);
    expect(backoffDelay(Number.POSITIVE_INFINITY, none, Math.random)).toBe(1_000);
  });

  it('full jitter draws uniformly between 0 and the exponential value', () => {
    const full = { ...none, jitter: 'full' as const };
    expect(backoffDelay(3, full, () => 0)).toBe(0);
    expect(backoffDelay(3, full, () => 0.5)).toBe(200);
  });

  it('equal jitter keeps at least half of the exponential value', () => {
    const equal = { ...none, jitter: 'equal' as const };
    expect(backoffDelay(3, equal, () => 0)).toBe(200);
    expect(backoffDelay(3, equal, () => 0.5)).toBe(300);
  });

  it('uses the defaults (50 ms base, 1 s cap, ×2, full jitter) for missing options', () => {
    expect(BackoffDefaults).toEqual({ baseMs: 50, capMs: 1000, multiplier: 2, jitter: 'full' });
    expect(backoffDelay(1, { jitter: 'none' }, Math.random)).toBe(50);
    expect(backoffDelay(2, {}, () => 0.5)).toBe(50);
  });

  it('treats retry 0 or negative like the first retry', () => {
    expect(backoffDelay(0, none, Math.random)).toBe(100);
    expect(backoffDelay(-3, none, Math.random)).toBe(100);
  });

  it('stays in bounds when the random source misbehaves', () => {
    for (const bad of [1, 2, -1, Number.NaN]) {
      const delay = backoffDelay(3, { ...none, jitter: 'full' }, () => bad);
      expect(delay).toBeGreaterThanOrEqual(0);
      expect(delay).toBeLessThanOrEqual(400);
    }
  });

  it('property: every delay is within [0, cap]', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: -5, max: 2_000 }), fc.integer(), (opts, retry, seed) => {
        const delay = backoffDelay(retry, opts, seededRandom(seed));
        return delay >= 0 && delay <= opts.capMs && Number.isFinite(delay);
      }),
    );
  });

  it('property: the un-jittered delay never decreases with the retry number', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: 1, max: 1_500 }), (opts, retry) => {
        const noJitter = { ...opts, jitter: 'none' as const };
        const a = backoffDelay(retry, noJitter, Math.random);
        const b = backoffDelay(retry + 1, noJitter, Math.random);
        return a <= b && a === backoffCeiling(retry, opts);
      }),
    );
  });

  it('property: a jittered delay never exceeds the un-jittered one', () => {
    fc.assert(
      fc.property(options, fc.integer({ min: 1, max: 100 }), fc.integer(), (opts, retry, seed) => {
        return backoffDelay(retry, opts, seededRandom(seed)) <= backoffCeiling(retry, opts);
      }),
    );
  });
});
