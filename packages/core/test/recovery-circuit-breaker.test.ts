import { describe, expect, it } from 'vitest';
import {
  type BreakerState,
  CircuitBreaker,
  CircuitBreakerDefaults,
} from '../src/recovery/circuit-breaker.js';
import { ManualClock } from '../src/testing/manual-clock.js';

function call(breaker: CircuitBreaker, success: boolean): boolean {
  if (!breaker.tryAcquire()) return false;
  breaker.record(success);
  return true;
}

function opened(options: ConstructorParameters<typeof CircuitBreaker>[0] = {}) {
  const clock = new ManualClock();
  const breaker = new CircuitBreaker({ consecutiveFailures: 3, ...options }, clock);
  for (let index = 0; index < 3; index++) call(breaker, false);
  expect(breaker.state).toBe('open');
  return { clock, breaker };
}

describe('CircuitBreaker', () => {
  it('defaults: ≥ 50 % failures over ≥ 20 calls, 10 in a row, open 5 s doubling to 30 s, one probe', () => {
    expect(CircuitBreakerDefaults).toMatchObject({
      failureRateThreshold: 0.5,
      minimumCalls: 20,
      consecutiveFailures: 10,
      openMs: 5_000,
      maxOpenMs: 30_000,
      halfOpenProbes: 1,
    });
  });

  it('opens after 50 % failures over at least 20 calls', () => {
    const breaker = new CircuitBreaker({}, new ManualClock());
    for (let index = 0; index < 19; index++) call(breaker, index % 2 === 0); // 10 successes, 9 failures
    expect(breaker.state).toBe('closed');
    call(breaker, false); // 20 calls, 10 failures
    expect(breaker.state).toBe('open');
    expect(breaker.reason).toBe('failure rate 50 % over 20 calls');
  });

  it('does not judge the rate before the minimum number of calls', () => {
    const breaker = new CircuitBreaker({ consecutiveFailures: 100 }, new ManualClock());
    for (let index = 0; index < 19; index++) call(breaker, index % 3 !== 0);
    expect(breaker.state).toBe('closed');
    const few = new CircuitBreaker({ consecutiveFailures: 100 }, new ManualClock());
    for (let index = 0; index < 9; index++) call(few, false);
    expect(few.state).toBe('closed');
  });

  it('stays closed below the failure rate threshold', () => {
    const breaker = new CircuitBreaker({}, new ManualClock());
    for (let index = 0; index < 1_000; index++) call(breaker, index % 5 !== 0); // 20 % failures
    expect(breaker.state).toBe('closed');
    expect(breaker.failureRate).toBeCloseTo(0.2);
  });

  it('slides its window: old failures stop counting', () => {
    const breaker = new CircuitBreaker({ windowSize: 20, consecutiveFailures: 100 }, new ManualClock());
    for (let index = 0; index < 9; index++) call(breaker, false);
    for (let index = 0; index < 20; index++) call(breaker, true);
    expect(breaker.failureRate).toBe(0);
    for (let index = 0; index < 9; index++) call(breaker, false);
    expect(breaker.state).toBe('closed');
  });

  it('opens after 10 consecutive failures whatever the rate', () => {
    const breaker = new CircuitBreaker({}, new ManualClock());
    for (let index = 0; index < 100; index++) call(breaker, true);
    for (let index = 0; index < 9; index++) call(breaker, false);
    expect(breaker.state).toBe('closed');
    call(breaker, false);
    expect(breaker.state).toBe('open');
    expect(breaker.reason).toBe('10 consecutive failures');
  });

  it('refuses every call while open', () => {
    const { breaker } = opened();
    expect(breaker.isAvailable()).toBe(false);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.remainingOpenMs).toBe(5_000);
  });

  it('turns half-open once the open time has passed, checked lazily without timers', () => {
    const { clock, breaker } = opened();
    expect(clock.pendingTimers).toBe(0);
    clock.advance(4_999);
    expect(breaker.isAvailable()).toBe(false);
    clock.advance(1);
    expect(breaker.isAvailable()).toBe(true);
    expect(breaker.state).toBe('half-open');
  });

  it('admits only its probes while half-open', () => {
    const { clock, breaker } = opened({ halfOpenProbes: 2 });
    clock.advance(5_000);
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.isAvailable()).toBe(false);
    for (let index = 0; index < 10; index++) expect(breaker.tryAcquire()).toBe(false);
    breaker.record(true);
    expect(breaker.state).toBe('half-open'); // one of two probes succeeded
    expect(breaker.tryAcquire()).toBe(true); // a finished probe frees its place
    expect(breaker.tryAcquire()).toBe(false);
  });

  it('admits a single probe at a time by default', () => {
    const { clock, breaker } = opened();
    clock.advance(5_000);
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.isAvailable()).toBe(false);
  });

  it('closes after its probes succeed, with a fresh window', () => {
    const { clock, breaker } = opened();
    clock.advance(5_000);
    call(breaker, true);
    expect(breaker.state).toBe('closed');
    expect(breaker.failureRate).toBe(0);
    for (let index = 0; index < 2; index++) call(breaker, false);
    expect(breaker.state).toBe('closed'); // the consecutive count restarted
  });

  it('reopens on a failed probe for twice as long, up to maxOpenMs', () => {
    const { clock, breaker } = opened({ openMs: 5_000, maxOpenMs: 30_000 });
    const openTimes: number[] = [];
    for (let round = 0; round < 5; round++) {
      const start = clock.now();
      while (!breaker.isAvailable()) clock.advance(100);
      openTimes.push(clock.now() - start);
      call(breaker, false);
      expect(breaker.state).toBe('open');
      expect(breaker.reason).toBe('probe failed');
    }
    expect(openTimes).toEqual([5_000, 10_000, 20_000, 30_000, 30_000]);
  });

  it('restarts from the base open time after it closed', () => {
    const { clock, breaker } = opened();
    clock.advance(5_000);
    call(breaker, false); // open 10 s
    clock.advance(10_000);
    call(breaker, true); // closed
    for (let index = 0; index < 3; index++) call(breaker, false);
    expect(breaker.remainingOpenMs).toBe(5_000);
  });

  it('release() hands a probe permit back without judging the endpoint', () => {
    const { clock, breaker } = opened();
    clock.advance(5_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.release();
    expect(breaker.state).toBe('half-open');
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('ignores outcomes of calls admitted before it opened', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ consecutiveFailures: 3 }, clock);
    for (let index = 0; index < 5; index++) expect(breaker.tryAcquire()).toBe(true);
    for (let index = 0; index < 3; index++) breaker.record(false);
    expect(breaker.state).toBe('open');
    breaker.record(true);
    breaker.record(true);
    expect(breaker.state).toBe('open');
    clock.advance(5_000);
    breaker.record(true); // late, and no probe is out: not a probe success
    expect(breaker.state).toBe('half-open');
  });

  it('tells listeners every state change, and stops after unsubscribe', () => {
    const clock = new ManualClock();
    const breaker = new CircuitBreaker({ consecutiveFailures: 1 }, clock);
    const changes: [BreakerState, BreakerState][] = [];
    const unsubscribe = breaker.onStateChange((to, from) => changes.push([to, from]));
    call(breaker, false);
    clock.advance(5_000);
    call(breaker, true);
    expect(changes).toEqual([
      ['open', 'closed'],
      ['half-open', 'open'],
      ['closed', 'half-open'],
    ]);
    unsubscribe();
    call(breaker, false);
    expect(changes).toHaveLength(3);
  });
});
