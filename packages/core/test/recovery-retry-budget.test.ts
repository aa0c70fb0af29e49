import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RetryBudget, RetryBudgetDefaults } from '../src/recovery/retry-budget.js';
import { ManualClock } from '../src/testing/manual-clock.js';

/** Runs `calls` calls that each fail and try up to `retriesPerCall` retries; returns the retries granted. */
function allFail(budget: RetryBudget, calls: number, retriesPerCall: number): number {
  let granted = 0;
  for (let call = 0; call < calls; call++) {
    budget.deposit();
    for (let retry = 0; retry < retriesPerCall; retry++) {
      if (!budget.tryWithdraw()) break;
      granted++;
    }
  }
  return granted;
}

describe('RetryBudget', () => {
  it('defaults to 20 % of calls plus 10 retries per second over a 10 s window (Finagle)', () => {
    expect(RetryBudgetDefaults).toEqual({ ratio: 0.2, minRetriesPerSecond: 10, windowMs: 10_000 });
  });

  it('is exhausted when every call fails: retries stay within ratio × calls + floor', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({}, clock);
    const granted = allFail(budget, 1_000, 3);
    expect(granted).toBe(0.2 * 1_000 + 10 * 10);
    expect(budget.tryWithdraw()).toBe(false);
    expect(budget.balance()).toBeLessThan(1);
  });

  it('turns a total outage into bounded extra load, second after second', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({}, clock);
    let granted = 0;
    let calls = 0;
    for (let second = 0; second < 60; second++) {
      granted += allFail(budget, 100, 3);
      calls += 100;
      clock.advance(1_000);
    }
    // 60 s of 100 calls/s: 20 % of the calls plus the 10/s floor, over 60 s (+ the first window's reserve).
    expect(granted).toBeLessThanOrEqual(0.2 * calls + 10 * (60 + 10));
    expect(granted / calls).toBeLessThan(0.35);
  });

  it('allows the per-second floor even without traffic', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.2, minRetriesPerSecond: 2, windowMs: 5_000 }, clock);
    expect(allFail(budget, 0, 0)).toBe(0);
    let granted = 0;
    while (budget.tryWithdraw()) granted++;
    expect(granted).toBe(10);
  });

  it('refills as withdrawals leave the window', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 1, windowMs: 10_000 }, clock);
    let granted = 0;
    while (budget.tryWithdraw()) granted++;
    expect(granted).toBe(10);
    clock.advance(5_000);
    expect(budget.tryWithdraw()).toBe(false);
    clock.advance(5_000);
    expect(budget.tryWithdraw()).toBe(true);
  });

  it('forgets calls older than the window', () => {
    const clock = new ManualClock();
    const budget = new RetryBudget({ ratio: 0.5, minRetriesPerSecond: 0, windowMs: 1_000 }, clock);
    for (let call = 0; call < 10; call++) budget.deposit();
    expect(budget.balance()).toBe(5);
    clock.advance(1_000);
    expect(budget.balance()).toBe(0);
    expect(budget.tryWithdraw()).toBe(false);
  });

  it('never allows a retry with ratio 0 and no floor', () => {
    const budget = new RetryBudget({ ratio: 0, minRetriesPerSecond: 0 }, new ManualClock());
    expect(allFail(budget, 1_000, 1)).toBe(0);
  });

  it('counts fractional deposits exactly (ratio 0.1: 10 calls earn one retry)', () => {
    const budget = new RetryBudget({ ratio: 0.1, minRetriesPerSecond: 0 }, new ManualClock());
    for (let call = 0; call < 9; call++) budget.deposit();
    expect(budget.tryWithdraw()).toBe(false);
    budget.deposit();
    expect(budget.tryWithdraw()).toBe(true);
    expect(budget.tryWithdraw()).toBe(false);
  });

  type Op = { kind: 'call' } | { kind: 'retry' } | { kind: 'advance'; ms: number };
  const op = fc.oneof(
    { weight: 5, arbitrary: fc.constant<Op>({ kind: 'call' }) },
    { weight: 5, arbitrary: fc.constant<Op>({ kind: 'retry' }) },
    { weight: 2, arbitrary: fc.integer({ min: 0, max: 3_000 }).map<Op>((ms) => ({ kind: 'advance', ms })) },
  );

  it('property: over any window, retries ≤ ratio × calls + floor × window', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 20 }),
        fc.integer({ min: 100, max: 20_000 }),
        fc.array(op, { minLength: 20, maxLength: 400, size: 'max' }),
        (ratio, floor, windowMs, ops) => {
          const clock = new ManualClock(1_000_000);
          const budget = new RetryBudget({ ratio, minRetriesPerSecond: floor, windowMs }, clock);
          const calls: number[] = [];
          const retries: number[] = [];
          const reserve = (floor * windowMs) / 1000;
          const slice = windowMs / 10;
          for (const step of ops) {
            if (step.kind === 'advance') clock.advance(step.ms);
            else if (step.kind === 'call') {
              budget.deposit();
              calls.push(clock.now());
            } else if (budget.tryWithdraw()) {
              const t = clock.now();
              retries.push(t);
              // The sliced window at t covers at least (t − W + slice, t] and at most (t − W, t].
              const recentRetries = retries.filter((at) => at > t - windowMs + slice).length;
              const windowCalls = calls.filter((at) => at > t - windowMs).length;
              if (recentRetries > ratio * windowCalls + reserve + 1e-9) return false;
            }
          }
          // And over the whole run: the floor refills once per window.
          const span = clock.now() - 1_000_000;
          return retries.length <= ratio * calls.length + (floor * (span + 2 * windowMs)) / 1000 + 1e-9;
        },
      ),
      { numRuns: 300 },
    );
  });
});
