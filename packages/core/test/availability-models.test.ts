import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AvailabilityInputError,
  binomialStandardError,
  commonModeAvailability,
  commonModeUnavailability,
  failoverAvailability,
  failoverUnavailability,
  haAvailability,
  haUnavailability,
  inInterval,
  kOfNAvailability,
  kOfNUnavailability,
  ninesFromUnavailability,
  normalQuantile,
  oneMinusPowComplement,
  parallelAvailability,
  parallelUnavailability,
  powComplement,
  retryAvailability,
  retryUnavailability,
  serialAvailability,
  serialUnavailability,
  spoAvailability,
  spoUnavailability,
  steadyStateAvailability,
  steadyStateUnavailability,
  unavailabilityNines,
  wilsonInterval,
  Z_95,
  zForConfidence,
} from '../src/availability/index.js';

/** Relative closeness, for values whose scale varies wildly (unavailabilities like 1e-48). */
function expectRelClose(actual: number, expected: number, rel = 1e-12): void {
  if (expected === 0) {
    expect(actual).toBe(0);
    return;
  }
  expect(Math.abs(actual - expected) / Math.abs(expected)).toBeLessThanOrEqual(rel);
}

function expectInputError(fn: () => unknown, parameter: string, domainPart?: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(AvailabilityInputError);
  expect(caught).toBeInstanceOf(RangeError);
  const error = caught as AvailabilityInputError;
  expect(error.name).toBe('AvailabilityInputError');
  expect(error.parameter).toBe(parameter);
  expect(error.message).toContain(parameter);
  expect(error.message).toContain(error.domain);
  if (domainPart !== undefined) expect(error.domain).toContain(domainPart);
}

describe('spoAvailability (seed, exactly as written)', () => {
  it('matches hand-computed values', () => {
    // 1 − 0.9 + 0.9·0.9³ = 0.1 + 0.6561
    expect(spoAvailability({ alpha: 0.1, beta: 0.9, n: 3 })).toBeCloseTo(0.7561, 15);
    expect(spoAvailability({ alpha: 0.5, beta: 0.5, n: 1 })).toBeCloseTo(0.75, 15);
    expect(spoUnavailability({ alpha: 0.1, beta: 0.9, n: 3 })).toBeCloseTo(0.2439, 15);
  });

  it('is exact at its corners', () => {
    expect(spoAvailability({ alpha: 0.3, beta: 0, n: 5 })).toBe(1); // β = 0
    expect(spoAvailability({ alpha: 0.3, beta: 1, n: 2 })).toBeCloseTo(0.49, 15); // β = 1: (1 − α)^n
    expect(spoAvailability({ alpha: 0, beta: 0.7, n: 5 })).toBe(1); // α = 0
    expect(spoAvailability({ alpha: 1, beta: 0.7, n: 5 })).toBeCloseTo(0.3, 15); // α = 1: 1 − β
    expect(spoAvailability({ alpha: 1, beta: 1, n: 1 })).toBe(0);
    expect(spoAvailability({ alpha: 0.3, beta: 0.7, n: 0 })).toBe(1); // n = 0
    expect(spoUnavailability({ alpha: 0.3, beta: 0.7, n: 0 })).toBe(0);
    expect(spoAvailability({ alpha: 0.3, beta: 0.4, n: 1 })).toBe(1 - 0.4 * 0.3); // n = 1 exact
    // n → ∞: A → 1 − β
    expect(spoAvailability({ alpha: 0.3, beta: 0.4, n: 10_000 })).toBeCloseTo(0.6, 15);
  });

  it('decreases in n — the seed formula rewards fewer attempts', () => {
    let previous = 1;
    for (let n = 0; n <= 10; n++) {
      const a = spoAvailability({ alpha: 0.05, beta: 0.9, n });
      expect(a).toBeLessThanOrEqual(previous);
      previous = a;
    }
  });

  it('is stable for tiny α (α = 1e-12, n = 3)', () => {
    const alpha = 1e-12;
    const exact = 3 * alpha - 3 * alpha ** 2 + alpha ** 3;
    expectRelClose(spoUnavailability({ alpha, beta: 1, n: 3 }), exact, 1e-12);
    expectRelClose(spoUnavailability({ alpha, beta: 0.5, n: 3 }), 0.5 * exact, 1e-12);
    // The naive formula loses ~4 significant digits here; ours does not.
    const naive = 1 - (1 - alpha) ** 3;
    expect(Math.abs(naive - exact) / exact).toBeGreaterThan(1e-6);
    expect(spoAvailability({ alpha, beta: 1, n: 3 })).toBe(1 - exact);
  });
});

describe('haAvailability (seed, exactly as written)', () => {
  it('matches hand-computed values', () => {
    expect(haAvailability({ a1: 0.9, m: 3 })).toBeCloseTo(0.999, 15);
    expect(haAvailability({ a1: 0.5, m: 2 })).toBe(0.75);
    expectRelClose(haUnavailability({ a1: 0.99, m: 4 }), 1e-8, 1e-10);
  });

  it('is exact at the edges', () => {
    expect(haAvailability({ a1: 0.123, m: 1 })).toBe(0.123); // m = 1
    expect(haUnavailability({ a1: 0.123, m: 1 })).toBe(1 - 0.123);
    expect(haAvailability({ a1: 0, m: 4 })).toBe(0);
    expect(Object.is(haAvailability({ a1: 0, m: 4 }), 0)).toBe(true); // not −0
    expect(haAvailability({ a1: 1, m: 4 })).toBe(1);
    expect(haUnavailability({ a1: 1, m: 4 })).toBe(0);
  });

  it('is stable for tiny and near-one A1', () => {
    // a1 tiny: 1 − (1 − a1)^m ≈ m·a1, which the naive form gets wrong
    expectRelClose(haAvailability({ a1: 1e-12, m: 3 }), 3e-12 - 3e-24 + 1e-36, 1e-12);
    // a1 near 1: unavailability far below double's resolution near 1
    expectRelClose(haUnavailability({ a1: 1 - 1e-6, m: 3 }), (1 - (1 - 1e-6)) ** 3, 1e-12);
    expect(haAvailability({ a1: 1 - 1e-6, m: 3 })).toBe(1);
  });
});

describe('steadyStateAvailability', () => {
  it('is MTBF / (MTBF + MTTR)', () => {
    expect(steadyStateAvailability({ mtbfMs: 9000, mttrMs: 1000 })).toBe(0.9);
    expect(steadyStateUnavailability({ mtbfMs: 9000, mttrMs: 1000 })).toBe(0.1);
  });

  it('counts detection time as repair time', () => {
    expect(steadyStateAvailability({ mtbfMs: 9000, detectMs: 400, repairMs: 600 })).toBe(0.9);
    expect(steadyStateAvailability({ mtbfMs: 3_600_000, detectMs: 0, repairMs: 0 })).toBe(1);
    expect(steadyStateAvailability({ mtbfMs: 0, mttrMs: 5 })).toBe(0);
  });
});

describe('retryAvailability', () => {
  it('matches hand-computed values', () => {
    // 1 − 0.1·(0.1 + 0.9·0.01)
    expect(retryAvailability({ alpha: 0.1, beta: 0.9, n: 2 })).toBeCloseTo(0.9891, 15);
    expect(retryAvailability({ alpha: 0.2, beta: 1, n: 3 })).toBeCloseTo(1 - 0.2 ** 4, 15);
  });

  it('is exact at the edges', () => {
    expect(retryAvailability({ alpha: 0, beta: 0.5, n: 3 })).toBe(1);
    expect(retryAvailability({ alpha: 1, beta: 0.5, n: 3 })).toBe(0);
    expect(retryAvailability({ alpha: 1, beta: 1, n: 0 })).toBe(0);
    expect(retryAvailability({ alpha: 0.3, beta: 0.5, n: 0 })).toBe(0.7); // n = 0: 1 − α
    expect(retryAvailability({ alpha: 0.3, beta: 0, n: 7 })).toBe(0.7); // β = 0: 1 − α
    expect(retryUnavailability({ alpha: 0.3, beta: 0, n: 7 })).toBe(0.3);
  });

  it('is stable for tiny α (α = 1e-12, n = 3)', () => {
    expectRelClose(retryUnavailability({ alpha: 1e-12, beta: 1, n: 3 }), 1e-48, 1e-12);
    expectRelClose(retryUnavailability({ alpha: 1e-12, beta: 0.99, n: 3 }), 1e-12 * (0.01 + 0.99e-36), 1e-12);
    expect(retryAvailability({ alpha: 1e-12, beta: 1, n: 3 })).toBe(1);
  });

  it('is accurate when availability is tiny (α close to 1)', () => {
    const alpha = 1 - 1e-9;
    // A = (1 − α) + αβ(1 − α^n) ≈ 1e-9 + 3e-9 for β = 1, n = 3
    expectRelClose(retryAvailability({ alpha, beta: 1, n: 3 }), 1 - alpha ** 4, 1e-6);
  });
});

describe('failoverAvailability', () => {
  it('is the retry model with n capped at m − 1', () => {
    expect(failoverAvailability({ alpha: 0.1, beta: 1, n: 3, m: 2 })).toBeCloseTo(0.99, 15);
    expect(failoverAvailability({ alpha: 0.1, beta: 0.9, n: 2, m: 10 })).toBe(
      retryAvailability({ alpha: 0.1, beta: 0.9, n: 2 }),
    );
    expect(failoverAvailability({ alpha: 0.2, beta: 0.8, n: 3, m: 1 })).toBe(0.8);
    expect(failoverUnavailability({ alpha: 0.2, beta: 1, n: 5, m: 3 })).toBeCloseTo(0.008, 15);
  });

  it('equals the seed HA model at β = 1, n ≥ m − 1', () => {
    for (let m = 1; m <= 5; m++) {
      expect(failoverAvailability({ alpha: 0.1, beta: 1, n: 4, m })).toBeCloseTo(
        haAvailability({ a1: 0.9, m }),
        14,
      );
    }
  });
});

describe('kOfNAvailability', () => {
  it('matches the binomial sum', () => {
    // 2 of 3 at 0.9: 3·0.81·0.1 + 0.729
    expect(kOfNAvailability({ a: 0.9, k: 2, n: 3 })).toBeCloseTo(0.972, 14);
    expect(kOfNUnavailability({ a: 0.9, k: 2, n: 3 })).toBeCloseTo(0.028, 14);
    // 3 of 5 at 0.5: (10 + 5 + 1) / 32
    expect(kOfNAvailability({ a: 0.5, k: 3, n: 5 })).toBeCloseTo(0.5, 14);
    // Large n stays finite and correct: 500 of 1000 at 0.5 is 0.5 + C(1000,500)/2^1001
    expect(kOfNAvailability({ a: 0.5, k: 500, n: 1000 })).toBeCloseTo(0.5126125090891065, 10);
  });

  it('is exact at its edges and agrees with serial and parallel', () => {
    expect(kOfNAvailability({ a: 0.3, k: 0, n: 4 })).toBe(1);
    expect(kOfNAvailability({ a: 0, k: 0, n: 0 })).toBe(1);
    expect(kOfNAvailability({ a: 0, k: 1, n: 4 })).toBe(0);
    expect(kOfNAvailability({ a: 1, k: 4, n: 4 })).toBe(1);
    expect(kOfNAvailability({ a: 0.7, k: 1, n: 1 })).toBe(0.7);
    expect(kOfNAvailability({ a: 0.9, k: 1, n: 3 })).toBe(haAvailability({ a1: 0.9, m: 3 }));
    expect(kOfNAvailability({ a: 0.9, k: 3, n: 3 })).toBeCloseTo(serialAvailability([0.9, 0.9, 0.9]), 15);
  });

  it('keeps tiny unavailabilities', () => {
    const q = 1e-9;
    // 2 of 3 fails when ≥ 2 fail: 3q²(1 − q) + q³
    expectRelClose(kOfNUnavailability({ a: 1 - q, k: 2, n: 3 }), 3 * q * q * (1 - q) + q ** 3, 1e-6);
  });
});

describe('serialAvailability and parallelAvailability', () => {
  it('compose heterogeneous parts', () => {
    expect(serialAvailability([0.9, 0.99])).toBeCloseTo(0.891, 15);
    expect(serialUnavailability([0.9, 0.99])).toBeCloseTo(0.109, 15);
    expect(parallelAvailability([0.9, 0.8])).toBeCloseTo(0.98, 15);
    expect(parallelUnavailability([0.9, 0.8])).toBeCloseTo(0.02, 15);
    expect(serialAvailability([0.7])).toBe(0.7);
    expect(parallelAvailability([0.7])).toBe(0.7);
    expect(serialAvailability([0.9, 0])).toBe(0);
    expect(serialUnavailability([0.9, 0])).toBe(1);
    expect(parallelAvailability([0.2, 1])).toBe(1);
    expect(parallelUnavailability([0.2, 1])).toBe(0);
  });

  it('keeps tiny figures', () => {
    expectRelClose(parallelAvailability([1e-12, 1e-12, 1e-12]), 3e-12, 1e-11);
    expectRelClose(serialUnavailability([1 - 1e-6, 1 - 2e-6]), 3e-6 - 2e-12, 1e-9);
  });
});

describe('commonModeAvailability (β-factor)', () => {
  it('reduces to the seed HA model at β_c = 0 and to A1 at β_c = 1 or m = 1', () => {
    expect(commonModeAvailability({ a1: 0.9, m: 3, commonModeFactor: 0 })).toBe(
      haAvailability({ a1: 0.9, m: 3 }),
    );
    expect(commonModeAvailability({ a1: 0.9, m: 3, commonModeFactor: 1 })).toBeCloseTo(0.9, 15);
    expect(commonModeAvailability({ a1: 0.9, m: 1, commonModeFactor: 0.3 })).toBe(0.9);
    expect(commonModeAvailability({ a1: 0, m: 3, commonModeFactor: 1 })).toBe(0);
    expect(commonModeAvailability({ a1: 1, m: 3, commonModeFactor: 0.5 })).toBe(1);
  });

  it('matches the formula and is capped by the common-cause share', () => {
    const q = 0.01;
    const qc = 0.1 * q;
    const p = (0.9 * q) / (1 - qc);
    expect(commonModeUnavailability({ a1: 0.99, m: 2, commonModeFactor: 0.1 })).toBeCloseTo(
      qc + (1 - qc) * p * p,
      15,
    );
    const cap = 1 - 0.1 * q;
    for (let m = 2; m <= 5; m++) {
      expect(commonModeAvailability({ a1: 0.99, m, commonModeFactor: 0.1 })).toBeLessThan(cap);
      expect(commonModeUnavailability({ a1: 0.99, m, commonModeFactor: 0.1 })).toBeGreaterThan(qc);
    }
    expect(commonModeAvailability({ a1: 0.99, m: 50, commonModeFactor: 0.1 })).toBeCloseTo(cap, 12);
  });
});

describe('nines', () => {
  it('counts nines', () => {
    expect(unavailabilityNines(0.999)).toBeCloseTo(3, 10);
    expect(unavailabilityNines(0)).toBe(0);
    expect(unavailabilityNines(1)).toBe(Number.POSITIVE_INFINITY);
    expect(ninesFromUnavailability(1e-48)).toBeCloseTo(48, 10);
    expect(ninesFromUnavailability(retryUnavailability({ alpha: 0.01, beta: 1, n: 2 }))).toBeCloseTo(6, 10);
  });
});

describe('helpers', () => {
  it('powComplement and oneMinusPowComplement are exact at the edges', () => {
    expect(powComplement(0.3, 0)).toBe(1);
    expect(powComplement(0, 5)).toBe(1);
    expect(powComplement(1, 5)).toBe(0);
    expect(powComplement(0.3, 1)).toBe(0.7);
    expect(oneMinusPowComplement(0.3, 1)).toBe(0.3);
    expect(oneMinusPowComplement(1, 2)).toBe(1);
    expect(oneMinusPowComplement(0.3, 0)).toBe(0);
  });
});

describe('wilsonInterval and friends', () => {
  it('matches known values', () => {
    // 8 of 10 at 95 %: [0.4902, 0.9433] (Wilson 1927; Newcombe 1998 table)
    const [lo, hi] = wilsonInterval(8, 10);
    expect(lo).toBeCloseTo(0.4902, 4);
    expect(hi).toBeCloseTo(0.9433, 4);
    const [lo2, hi2] = wilsonInterval(0, 10);
    expect(lo2).toBe(0);
    expect(hi2).toBeCloseTo(0.2775, 4);
    const [lo3, hi3] = wilsonInterval(10, 10);
    expect(hi3).toBe(1);
    expect(lo3).toBeCloseTo(0.7225, 4);
    expect(wilsonInterval(0, 0)).toEqual([0, 1]);
  });

  it('narrows with more data and widens with z', () => {
    const width = ([lo, hi]: [number, number]) => hi - lo;
    expect(width(wilsonInterval(900, 1000))).toBeLessThan(width(wilsonInterval(90, 100)));
    expect(width(wilsonInterval(90, 100, 3))).toBeGreaterThan(width(wilsonInterval(90, 100)));
  });

  it('contains the point estimate and stays in [0, 1]', () => {
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(1000), fc.double({ min: 0.1, max: 5, noNaN: true }), (a, b, z) => {
        const trials = Math.max(a, b);
        const successes = Math.min(a, b);
        const interval = wilsonInterval(successes, trials, z);
        expect(interval[0]).toBeGreaterThanOrEqual(0);
        expect(interval[1]).toBeLessThanOrEqual(1);
        if (trials > 0) expect(inInterval(successes / trials, interval)).toBe(true);
      }),
    );
  });

  it('normal quantiles', () => {
    expect(zForConfidence(0.95)).toBeCloseTo(Z_95, 8);
    expect(zForConfidence(0.99)).toBeCloseTo(2.5758293035489, 8);
    expect(normalQuantile(0.5)).toBeCloseTo(0, 12);
    expect(normalQuantile(0.001)).toBeCloseTo(-3.090232306167813, 7);
    expect(normalQuantile(0.999)).toBeCloseTo(3.090232306167813, 7);
    expect(binomialStandardError(0.5, 100)).toBe(0.05);
  });
});

describe('properties', () => {
  const prob = fc.double({ min: 0, max: 1, noNaN: true });
  const small = fc.integer({ min: 0, max: 8 });
  const positive = fc.integer({ min: 1, max: 8 });

  it('every model lies in [0, 1] and A + U = 1', () => {
    fc.assert(
      fc.property(prob, prob, small, positive, (alpha, beta, n, m) => {
        const pairs: [number, number][] = [
          [spoAvailability({ alpha, beta, n }), spoUnavailability({ alpha, beta, n })],
          [haAvailability({ a1: alpha, m }), haUnavailability({ a1: alpha, m })],
          [retryAvailability({ alpha, beta, n }), retryUnavailability({ alpha, beta, n })],
          [failoverAvailability({ alpha, beta, n, m }), failoverUnavailability({ alpha, beta, n, m })],
          [
            kOfNAvailability({ a: alpha, k: Math.min(n, m), n: m }),
            kOfNUnavailability({ a: alpha, k: Math.min(n, m), n: m }),
          ],
          [
            commonModeAvailability({ a1: alpha, m, commonModeFactor: beta }),
            commonModeUnavailability({ a1: alpha, m, commonModeFactor: beta }),
          ],
          [serialAvailability([alpha, beta]), serialUnavailability([alpha, beta])],
          [parallelAvailability([alpha, beta]), parallelUnavailability([alpha, beta])],
        ];
        for (const [a, u] of pairs) {
          expect(a).toBeGreaterThanOrEqual(0);
          expect(a).toBeLessThanOrEqual(1);
          expect(u).toBeGreaterThanOrEqual(0);
          expect(u).toBeLessThanOrEqual(1);
          expect(Math.abs(a + u - 1)).toBeLessThan(1e-12);
        }
      }),
    );
  });

  it('monotonicity: HA grows with m, retry shrinks with α, SPO shrinks with n', () => {
    fc.assert(
      fc.property(prob, prob, prob, small, positive, (x, y, beta, n, m) => {
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        const eps = 1e-15;
        expect(haAvailability({ a1: lo, m: m + 1 })).toBeGreaterThanOrEqual(
          haAvailability({ a1: lo, m }) - eps,
        );
        expect(retryAvailability({ alpha: hi, beta, n })).toBeLessThanOrEqual(
          retryAvailability({ alpha: lo, beta, n }) + eps,
        );
        expect(retryAvailability({ alpha: lo, beta, n: n + 1 })).toBeGreaterThanOrEqual(
          retryAvailability({ alpha: lo, beta, n }) - eps,
        );
        expect(spoAvailability({ alpha: lo, beta, n: n + 1 })).toBeLessThanOrEqual(
          spoAvailability({ alpha: lo, beta, n }) + eps,
        );
        const cm = commonModeAvailability({ a1: hi, m, commonModeFactor: beta });
        expect(cm).toBeGreaterThanOrEqual(hi - 1e-12);
        expect(cm).toBeLessThanOrEqual(haAvailability({ a1: hi, m }) + 1e-12);
      }),
    );
  });
});

describe('input validation', () => {
  const badProbabilities: unknown[] = [
    -0.1,
    1.1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    '0.5',
    undefined,
    null,
  ];
  const badCounts: unknown[] = [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '2', undefined];

  it('rejects bad probabilities, naming the parameter', () => {
    for (const bad of badProbabilities) {
      const v = bad as number;
      expectInputError(() => spoAvailability({ alpha: v, beta: 0.5, n: 1 }), 'alpha', '[0, 1]');
      expectInputError(() => spoUnavailability({ alpha: 0.5, beta: v, n: 1 }), 'beta', '[0, 1]');
      expectInputError(() => haAvailability({ a1: v, m: 2 }), 'a1', '[0, 1]');
      expectInputError(() => retryAvailability({ alpha: v, beta: 0.5, n: 1 }), 'alpha');
      expectInputError(() => retryAvailability({ alpha: 0.5, beta: v, n: 1 }), 'beta');
      expectInputError(() => failoverAvailability({ alpha: 0.5, beta: v, n: 1, m: 2 }), 'beta');
      expectInputError(() => kOfNAvailability({ a: v, k: 1, n: 2 }), 'a');
      expectInputError(() => commonModeAvailability({ a1: v, m: 2, commonModeFactor: 0.1 }), 'a1');
      expectInputError(
        () => commonModeAvailability({ a1: 0.9, m: 2, commonModeFactor: v }),
        'commonModeFactor',
      );
      expectInputError(() => serialAvailability([0.9, v]), 'parts[1]');
      expectInputError(() => parallelAvailability([v]), 'parts[0]');
      expectInputError(() => unavailabilityNines(v), 'a');
      expectInputError(() => ninesFromUnavailability(v), 'u');
      expectInputError(() => binomialStandardError(v, 10), 'p');
    }
  });

  it('rejects bad counts, naming the parameter', () => {
    for (const bad of badCounts) {
      const v = bad as number;
      expectInputError(() => spoAvailability({ alpha: 0.1, beta: 0.5, n: v }), 'n', 'non-negative integer');
      expectInputError(() => retryAvailability({ alpha: 0.1, beta: 0.5, n: v }), 'n');
      expectInputError(() => failoverAvailability({ alpha: 0.1, beta: 0.5, n: v, m: 2 }), 'n');
      expectInputError(() => kOfNAvailability({ a: 0.9, k: v, n: 3 }), 'k');
      expectInputError(() => kOfNAvailability({ a: 0.9, k: 1, n: v }), 'n');
      expectInputError(() => haAvailability({ a1: 0.9, m: v }), 'm', '≥ 1');
      expectInputError(() => commonModeAvailability({ a1: 0.9, m: v, commonModeFactor: 0 }), 'm');
      expectInputError(() => failoverAvailability({ alpha: 0.1, beta: 0.5, n: 1, m: v }), 'm');
    }
  });

  it('requires m ≥ 1, k ≤ n and a bounded n', () => {
    expectInputError(() => haAvailability({ a1: 0.9, m: 0 }), 'm', '≥ 1');
    expectInputError(() => commonModeAvailability({ a1: 0.9, m: 0, commonModeFactor: 0 }), 'm');
    expectInputError(() => failoverAvailability({ alpha: 0.1, beta: 1, n: 1, m: 0 }), 'm');
    expectInputError(() => kOfNAvailability({ a: 0.9, k: 4, n: 3 }), 'k', '[0, n]');
    expectInputError(() => kOfNUnavailability({ a: 0.9, k: 1, n: 2_000_000 }), 'n');
  });

  it('validates durations and the two steady-state forms', () => {
    expectInputError(() => steadyStateAvailability({ mtbfMs: -1, mttrMs: 1 }), 'mtbfMs', 'milliseconds');
    expectInputError(
      () => steadyStateAvailability({ mtbfMs: Number.POSITIVE_INFINITY, mttrMs: 1 }),
      'mtbfMs',
    );
    expectInputError(() => steadyStateAvailability({ mtbfMs: 1, mttrMs: Number.NaN }), 'mttrMs');
    expectInputError(() => steadyStateAvailability({ mtbfMs: 1, detectMs: -5, repairMs: 1 }), 'detectMs');
    expectInputError(() => steadyStateAvailability({ mtbfMs: 1, detectMs: 5 } as never), 'repairMs');
    expectInputError(
      () => steadyStateAvailability({ mtbfMs: 1, mttrMs: 2, detectMs: 1, repairMs: 1 } as never),
      'mttrMs',
      'not both',
    );
    expectInputError(() => steadyStateAvailability({ mtbfMs: 0, mttrMs: 0 }), 'mtbfMs + mttrMs', '> 0');
    expectInputError(() => steadyStateUnavailability({ mtbfMs: 1e308, mttrMs: 1e308 }), 'mtbfMs + mttrMs');
  });

  it('validates the shape of inputs and parts', () => {
    expectInputError(() => spoAvailability(null as never), 'input');
    expectInputError(() => haAvailability(undefined as never), 'input');
    expectInputError(() => serialAvailability([]), 'parts', 'non-empty');
    expectInputError(() => parallelAvailability('0.9' as never), 'parts');
    expectInputError(() => serialUnavailability([0.5, -0.5]), 'parts[1]');
  });

  it('validates statistics inputs', () => {
    expectInputError(() => wilsonInterval(11, 10), 'successes', '[0, trials]');
    expectInputError(() => wilsonInterval(-1, 10), 'successes');
    expectInputError(() => wilsonInterval(1.5, 10), 'successes');
    expectInputError(() => wilsonInterval(1, Number.NaN), 'trials');
    expectInputError(() => wilsonInterval(1, 10, 0), 'z', '> 0');
    expectInputError(() => wilsonInterval(1, 10, Number.POSITIVE_INFINITY), 'z');
    expectInputError(() => zForConfidence(1), 'confidence');
    expectInputError(() => zForConfidence(0), 'confidence');
    expectInputError(() => normalQuantile(0), 'p');
    expectInputError(() => binomialStandardError(0.5, 0), 'trials');
  });

  it('reports the offending value in the message', () => {
    expect(() => haAvailability({ a1: 1.5, m: 2 })).toThrow(
      /haAvailability: a1 must be .*\[0, 1\].*got 1\.5/,
    );
    expect(() => kOfNAvailability({ a: 0.5, k: 3, n: 2 })).toThrow(
      /k must be an integer in \[0, n\] \(n = 2\) \(got 3\)/,
    );
  });
});
