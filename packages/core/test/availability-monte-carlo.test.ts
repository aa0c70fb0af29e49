/**
 * Seeded Monte Carlo checks: simulate each model's assumptions literally and check that the
 * observed availability agrees with the formula within 4σ (σ the estimator's standard error).
 * Deterministic (seeded PRNG); a 4σ miss would happen by chance about once in 16 000 runs of a
 * fresh seed.
 */
import { describe, expect, it } from 'vitest';
import {
  binomialStandardError,
  commonModeAvailability,
  failoverAvailability,
  haAvailability,
  kOfNAvailability,
  parallelAvailability,
  retryAvailability,
  serialAvailability,
  spoAvailability,
  steadyStateAvailability,
  wilsonInterval,
} from '../src/availability/index.js';
import { type Random, seededRandom } from '../src/util/random.js';

const TRIALS = 100_000;

function simulate(seed: number, trial: (random: Random) => boolean, trials = TRIALS): number {
  const random = seededRandom(seed);
  let up = 0;
  for (let i = 0; i < trials; i++) if (trial(random)) up++;
  return up;
}

function expectWithin4Sigma(successes: number, trials: number, predicted: number): void {
  const observed = successes / trials;
  const sigma = binomialStandardError(predicted, trials);
  expect(sigma).toBeGreaterThan(0); // parameters chosen so the check means something
  expect(Math.abs(observed - predicted)).toBeLessThanOrEqual(4 * sigma);
}

/** A Bernoulli draw: true with probability p. */
const bernoulli = (random: Random, p: number) => random() < p;

describe('Monte Carlo: each model agrees with a simulation of its assumptions (4σ, 100 000 trials)', () => {
  it('seed SPO: a share β of calls needs n fault-free steps, the rest are unaffected', () => {
    const input = { alpha: 0.2, beta: 0.7, n: 3 };
    const up = simulate(1, (random) => {
      if (!bernoulli(random, input.beta)) return true;
      for (let i = 0; i < input.n; i++) if (bernoulli(random, input.alpha)) return false;
      return true;
    });
    expectWithin4Sigma(up, TRIALS, spoAvailability(input));
  });

  it('seed HA: m independent instances, up while any is up', () => {
    const input = { a1: 0.6, m: 3 };
    const up = simulate(2, (random) => {
      let any = false;
      for (let i = 0; i < input.m; i++) if (bernoulli(random, input.a1)) any = true;
      return any;
    });
    expectWithin4Sigma(up, TRIALS, haAvailability(input));
  });

  it('retry: independent attempts; a failed first attempt is retried (up to n times) with probability β', () => {
    const input = { alpha: 0.3, beta: 0.8, n: 2 };
    const up = simulate(3, (random) => {
      if (!bernoulli(random, input.alpha)) return true;
      if (!bernoulli(random, input.beta)) return false;
      for (let i = 0; i < input.n; i++) if (!bernoulli(random, input.alpha)) return true;
      return false;
    });
    expectWithin4Sigma(up, TRIALS, retryAvailability(input));
  });

  it('failover: m replicas each down with α for the whole call; retries go to untried replicas first', () => {
    for (const [seed, input] of [
      [4, { alpha: 0.3, beta: 0.9, n: 3, m: 3 }],
      [5, { alpha: 0.4, beta: 1, n: 1, m: 4 }],
    ] as const) {
      const up = simulate(seed, (random) => {
        const down = Array.from({ length: input.m }, () => bernoulli(random, input.alpha));
        // attempt i goes to replica i while untried replicas remain, then back to tried (failed) ones
        const replicaFor = (attempt: number) => (attempt < input.m ? attempt : 0);
        if (!down[replicaFor(0)]) return true;
        if (!bernoulli(random, input.beta)) return false;
        for (let attempt = 1; attempt <= input.n; attempt++) if (!down[replicaFor(attempt)]) return true;
        return false;
      });
      expectWithin4Sigma(up, TRIALS, failoverAvailability(input));
    }
  });

  it('k-of-n: n independent units, up while at least k are up', () => {
    const input = { a: 0.7, k: 3, n: 5 };
    const up = simulate(6, (random) => {
      let upUnits = 0;
      for (let i = 0; i < input.n; i++) if (bernoulli(random, input.a)) upUnits++;
      return upUnits >= input.k;
    });
    expectWithin4Sigma(up, TRIALS, kOfNAvailability(input));
  });

  it('serial: every independent part must be up', () => {
    const parts = [0.95, 0.9, 0.8];
    const up = simulate(7, (random) => parts.every((a) => bernoulli(random, a)));
    expectWithin4Sigma(up, TRIALS, serialAvailability(parts));
  });

  it('parallel: heterogeneous independent parts, up while any is up', () => {
    const parts = [0.5, 0.3, 0.2];
    const up = simulate(8, (random) => {
      let any = false;
      for (const a of parts) if (bernoulli(random, a)) any = true;
      return any;
    });
    expectWithin4Sigma(up, TRIALS, parallelAvailability(parts));
  });

  it('common mode: a common cause takes all m down, the rest strikes independently; one instance stays at A1', () => {
    const input = { a1: 0.8, m: 3, commonModeFactor: 0.3 };
    const q = 1 - input.a1;
    const qc = input.commonModeFactor * q;
    const p = ((1 - input.commonModeFactor) * q) / (1 - qc);
    let firstUnitUp = 0;
    const up = simulate(9, (random) => {
      const common = bernoulli(random, qc);
      let any = false;
      for (let i = 0; i < input.m; i++) {
        const unitUp = !common && !bernoulli(random, p);
        if (unitUp) any = true;
        if (i === 0 && unitUp) firstUnitUp++;
      }
      return any;
    });
    expectWithin4Sigma(up, TRIALS, commonModeAvailability(input));
    // The model keeps each instance's own availability at A1.
    expectWithin4Sigma(firstUnitUp, TRIALS, input.a1);
    // And redundancy is visibly capped compared with independent failures.
    expect(up / TRIALS).toBeLessThan(haAvailability({ a1: input.a1, m: input.m }) - 0.02);
  });

  it('steady state: alternating exponential up times and detect + exponential repair times', () => {
    const mtbfMs = 9000;
    const detectMs = 300;
    const repairMs = 700;
    const predicted = steadyStateAvailability({ mtbfMs, detectMs, repairMs });
    const random = seededRandom(10);
    const exponential = (mean: number) => -mean * Math.log1p(-random());
    const cycles = 50_000;
    let up = 0;
    let down = 0;
    for (let i = 0; i < cycles; i++) {
      up += exponential(mtbfMs);
      down += detectMs + exponential(repairMs);
    }
    const observed = up / (up + down);
    // Delta method for the ratio estimator: Var ≈ ((1 − A)²·Var(U) + A²·Var(D)) / (N·E[U + D]²)
    const sigma =
      Math.sqrt(((1 - predicted) ** 2 * mtbfMs ** 2 + predicted ** 2 * repairMs ** 2) / cycles) /
      (mtbfMs + detectMs + repairMs);
    expect(Math.abs(observed - predicted)).toBeLessThanOrEqual(4 * sigma);
  });

  it('the Wilson 95 % interval covers the true availability about 95 % of the time', () => {
    const random = seededRandom(11);
    const p = 0.97;
    const n = 200;
    const repetitions = 2000;
    let covered = 0;
    for (let r = 0; r < repetitions; r++) {
      let s = 0;
      for (let i = 0; i < n; i++) if (bernoulli(random, p)) s++;
      const [lo, hi] = wilsonInterval(s, n);
      if (lo <= p && p <= hi) covered++;
    }
    const coverage = covered / repetitions;
    expect(coverage).toBeGreaterThan(0.92);
    expect(coverage).toBeLessThan(0.985);
  });
});
