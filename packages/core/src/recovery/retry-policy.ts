import type { RpcError } from '../errors/rpc-error.js';
import { ErrorCodes } from '../protocol/codes.js';
import type { Random } from '../util/random.js';
import { type BackoffOptions, backoffDelay } from './backoff.js';
import type { RetryBudget } from './retry-budget.js';

/** What the retry policy knows of a call when one of its attempts failed. */
export interface RetryFacts {
  /** Attempts made so far (the failed one included). */
  readonly attempts: number;
  /** Attempts allowed in all. */
  readonly maxAttempts: number;
  /** The call is safe to execute more than once. */
  readonly idempotent: boolean;
  /** Milliseconds left before the call's deadline. */
  readonly remainingMs: number;
  /** A per-attempt timeout is set (otherwise an attempt's timeout is the call's deadline). */
  readonly attemptTimeout: boolean;
  /** Another usable endpoint the call has not failed on exists (a failover needs no backoff). */
  readonly hasAlternative: boolean;
}

/** Why a call gets no further attempt (constants, so that callers compare them, never parse them). */
export const GiveUpReason = {
  deadline: 'deadline exceeded',
  notRetryable: 'not retryable',
  notRetryableNonIdempotent: 'not retryable for a call that is not idempotent',
  attempts: 'no attempts left',
  budget: 'retry budget exhausted',
  noEndpoint: 'no endpoint to retry on',
} as const;

/** A {@link GiveUpReason} value. */
export type GiveUpReason = (typeof GiveUpReason)[keyof typeof GiveUpReason];

/**
 * The retry policy: which failures may be retried (by kind and idempotency), how many attempts,
 * the retry budget (retries stay within a ratio of calls), and the backoff before a retry (none
 * for a failover to another endpoint; exponential with jitter, at least the server's Retry-After,
 * when the same endpoint must be tried again or the server answered).
 */
export class RetryPolicy {
  constructor(
    private readonly backoff: BackoffOptions,
    private readonly budget: RetryBudget | undefined,
    private readonly random: Random,
  ) {}

  /** Whether a failure of this kind may be retried for a call of this idempotency. */
  static isRetryable(error: RpcError, idempotent: boolean): boolean {
    if (error.kind === 'cancelled') return false;
    if (error.retryable) return true;
    // The server saw the caller's own deadline pass: there is no time left for another attempt.
    if (error.code === ErrorCodes.DeadlineExceeded) return false;
    return idempotent && (error.kind === 'timeout' || error.kind === 'connection-lost');
  }

  /** Records a call (for the retry budget); `now` is the clock time. */
  recordCall(now: number): void {
    this.budget?.deposit(now);
  }

  /** Takes a retry-budget token for a retry or an extra copy (hedge, rescue); false when exhausted. */
  withdraw(): boolean {
    return this.budget === undefined || this.budget.tryWithdraw();
  }

  /**
   * Decides what follows a failed attempt: the delay in ms before the next attempt (≥ 0), or the
   * reason to give up. Takes a budget token when it decides to retry.
   */
  decide(error: RpcError, facts: RetryFacts): number | GiveUpReason {
    // Without a per-attempt timeout, an attempt is given the whole remaining deadline: its
    // timeout is the call's deadline, whichever timer fired first.
    if (error.kind === 'timeout' && !facts.attemptTimeout) return GiveUpReason.deadline;
    if (!RetryPolicy.isRetryable(error, facts.idempotent))
      return facts.idempotent ? GiveUpReason.notRetryable : GiveUpReason.notRetryableNonIdempotent;
    if (facts.attempts >= facts.maxAttempts) return GiveUpReason.attempts;
    if (facts.remainingMs <= 0) return GiveUpReason.deadline;
    if (!this.withdraw()) return GiveUpReason.budget;
    let delayMs = 0;
    if (error.kind === 'remote' || !facts.hasAlternative) {
      delayMs = backoffDelay(facts.attempts, this.backoff, this.random);
      if (error.retryAfterMs !== undefined) delayMs = Math.max(delayMs, error.retryAfterMs);
    }
    return Math.min(delayMs, Math.max(0, facts.remainingMs - 1));
  }
}
