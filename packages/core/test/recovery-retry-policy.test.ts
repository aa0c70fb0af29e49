import {
  ConnectionLostError,
  NotSentError,
  RemoteError,
  seededRandom,
  TimeoutError,
} from '@resilient-rpc/core';
import { ManualClock } from '@resilient-rpc/core/testing';
import { describe, expect, it } from 'vitest';
import { RetryBudget } from '../src/recovery/retry-budget.js';
import { GiveUpReason, RetryPolicy } from '../src/recovery/retry-policy.js';

const facts = {
  attempts: 1,
  maxAttempts: 3,
  idempotent: true,
  remainingMs: 5_000,
  attemptTimeout: true,
  hasAlternative: true,
};
const backoff = { baseMs: 100, capMs: 1_000, multiplier: 2, jitter: 'none' as const };

describe('retry policy', () => {
  const policy = new RetryPolicy(backoff, undefined, seededRandom(1));

  it('fails over at once when another endpoint is available, backs off when not', () => {
    expect(policy.decide(new ConnectionLostError('x'), facts)).toBe(0);
    expect(policy.decide(new ConnectionLostError('x'), { ...facts, hasAlternative: false })).toBeGreaterThan(
      0,
    );
  });

  it('retries by kind and idempotency, never by message', () => {
    expect(policy.decide(new ConnectionLostError('x'), { ...facts, idempotent: false })).toBe(
      GiveUpReason.notRetryableNonIdempotent,
    );
    expect(policy.decide(new NotSentError('x'), { ...facts, idempotent: false })).toBe(0);
    expect(policy.decide(new RemoteError('x'), facts)).toBe(GiveUpReason.notRetryable);
    expect(policy.decide(new RemoteError('x', { retryable: true, retryAfterMs: 700 }), facts)).toBe(700);
  });

  it('gives up when attempts, deadline or budget run out', () => {
    expect(policy.decide(new ConnectionLostError('x'), { ...facts, attempts: 3 })).toBe(
      GiveUpReason.attempts,
    );
    expect(policy.decide(new ConnectionLostError('x'), { ...facts, remainingMs: 0 })).toBe(
      GiveUpReason.deadline,
    );
    expect(policy.decide(new TimeoutError('x'), { ...facts, attemptTimeout: false })).toBe(
      GiveUpReason.deadline,
    );
    const clock = new ManualClock();
    const starved = new RetryPolicy(
      backoff,
      new RetryBudget({ ratio: 0, minRetriesPerSecond: 0 }, clock),
      seededRandom(1),
    );
    expect(starved.decide(new ConnectionLostError('x'), facts)).toBe(GiveUpReason.budget);
  });

  it('never waits past the deadline', () => {
    expect(
      policy.decide(new RemoteError('x', { retryable: true, retryAfterMs: 9_000 }), {
        ...facts,
        remainingMs: 300,
      }),
    ).toBe(299);
  });
});
