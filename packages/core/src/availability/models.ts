/**
 * Availability models: the seed's single-point (SPO) and high-availability (HA) formulas exactly
 * as written, and the models a reliability engineer would use beside them (steady state, retry
 * with coverage, failover across replicas, k-of-n, serial, parallel, common-mode).
 *
 * Every model is a pure function of named inputs. Each comes in two forms, `xAvailability` and
 * `xUnavailability`, computed separately so that both are accurate to a few ulps: near 1 an
 * availability cannot carry more than ~16 nines, but its unavailability (e.g. 3e-36) can.
 * Inputs are validated; bad input throws {@link AvailabilityInputError}. Results are exact at
 * the edges (α = 0, α = 1, n = 0, m = 1) and use log1p/expm1 where 1 − x would lose digits.
 *
 * See docs/availability.md for the derivations, the seed formula's corners and which model to use.
 */
import {
  AvailabilityInputError,
  count,
  duration,
  inputObject,
  positiveCount,
  probabilities,
  probability,
} from './validate.js';

export { AvailabilityInputError } from './validate.js';

/** [availability, unavailability], each computed accurately. */
type Pair = readonly [availability: number, unavailability: number];

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x)); // also turns −0 into 0

/** Both forms, each clamped to [0, 1]; callers compute each in its own accurate way. */
const pair = (a: number, u: number): Pair => [clamp01(a), clamp01(u)];

/** (1 − x)^n, stable for tiny x, exact at x ∈ {0, 1}, n ∈ {0, 1}. */
export function powComplement(x: number, n: number): number {
  if (n === 0 || x === 0) return 1;
  if (x === 1) return 0;
  if (n === 1) return 1 - x;
  return Math.exp(n * Math.log1p(-x));
}

/** 1 − (1 − x)^n, stable for tiny x (≈ n·x), exact at x ∈ {0, 1}, n ∈ {0, 1}. */
export function oneMinusPowComplement(x: number, n: number): number {
  if (n === 0 || x === 0) return 0;
  if (x === 1) return 1;
  if (n === 1) return x;
  return -Math.expm1(n * Math.log1p(-x));
}

/** 1 − x^n for x in [0, 1], stable when x is close to 1. */
function oneMinusPow(x: number, n: number): number {
  if (n === 0 || x === 1) return 0;
  if (x === 0) return 1;
  if (n === 1) return 1 - x;
  return -Math.expm1(n * Math.log(x));
}

// ---------------------------------------------------------------------------------------------
// Seed models
// ---------------------------------------------------------------------------------------------

/** Inputs of the seed's single-point (SPO) model. */
export interface SpoInput {
  /** α: probability that a fault occurs (per recovery attempt), in [0, 1]. */
  alpha: number;
  /** β: efficiency of the recovery strategy, in [0, 1]. */
  beta: number;
  /** n: number of recovery attempts, a non-negative integer. */
  n: number;
}

function spo(fn: string, input: SpoInput): Pair {
  inputObject(fn, input);
  const alpha = probability(fn, 'alpha', input.alpha);
  const beta = probability(fn, 'beta', input.beta);
  const n = count(fn, 'n', input.n);
  const p = powComplement(alpha, n); // (1 − α)^n
  const u = beta * oneMinusPowComplement(alpha, n); // β·(1 − (1 − α)^n)
  if (u === 0) return [1, 0];
  return pair(u < 0.5 ? 1 - u : 1 - beta + beta * p, u);
}

/**
 * The seed's single-point model, exactly as written:
 *
 *     A = 1 − β + β·(1 − α)^n
 *
 * - α — probability of a fault, in [0, 1];
 * - β — efficiency of the recovery strategy, in [0, 1];
 * - n — number of recovery attempts, a non-negative integer.
 *
 * Read literally, a share β of calls goes through n steps that must *all* be fault-free (each
 * independently with probability 1 − α), and the remaining 1 − β are unaffected. Corners, which
 * docs/availability.md discusses: A is monotone *decreasing* in n (more attempts never help),
 * A = 1 for β = 0 (no recovery strategy gives perfect availability), A = 1 for n = 0 or α = 0,
 * A = 1 − β for α = 1 (n ≥ 1), and A → 1 − β as n → ∞. For "how much do retries help", use
 * {@link retryAvailability} or {@link failoverAvailability} instead.
 */
export function spoAvailability(input: SpoInput): number {
  return spo('spoAvailability', input)[0];
}

/** 1 − {@link spoAvailability}: β·(1 − (1 − α)^n), computed without cancellation. */
export function spoUnavailability(input: SpoInput): number {
  return spo('spoUnavailability', input)[1];
}

/** Inputs of the seed's high-availability (HA) model. */
export interface HaInput {
  /** A1: availability of one instance, in [0, 1]. */
  a1: number;
  /** m: number of instances, an integer ≥ 1. */
  m: number;
}

function ha(fn: string, input: HaInput): Pair {
  inputObject(fn, input);
  const a1 = probability(fn, 'a1', input.a1);
  const m = positiveCount(fn, 'm', input.m);
  return pair(oneMinusPowComplement(a1, m), powComplement(a1, m));
}

/**
 * The seed's high-availability model, exactly as written:
 *
 *     A = 1 − (1 − A1)^m
 *
 * - A1 — availability of one instance, in [0, 1];
 * - m — number of instances, an integer ≥ 1.
 *
 * Assumptions: the instances fail independently, the service is up while at least one is up,
 * and a call always finds a live instance (perfect, instantaneous failover). Correlated failures
 * break the first assumption; see {@link commonModeAvailability}. Exact at m = 1 (A = A1).
 */
export function haAvailability(input: HaInput): number {
  return ha('haAvailability', input)[0];
}

/** 1 − {@link haAvailability}: (1 − A1)^m. */
export function haUnavailability(input: HaInput): number {
  return ha('haUnavailability', input)[1];
}

// ---------------------------------------------------------------------------------------------
// Principled models
// ---------------------------------------------------------------------------------------------

/**
 * Inputs of the steady-state model: either the mean time to repair as one figure, or split into
 * the time to detect a failure and the time to repair it once detected (MTTR = detect + repair).
 */
export type SteadyStateInput =
  | {
      /** Mean up time between failures (strictly, MTTF), ms, ≥ 0. */
      mtbfMs: number;
      /** Mean time to repair, including detection, ms, ≥ 0. */
      mttrMs: number;
    }
  | {
      /** Mean up time between failures (strictly, MTTF), ms, ≥ 0. */
      mtbfMs: number;
      /** Mean time from the failure to its detection, ms, ≥ 0. */
      detectMs: number;
      /** Mean time from detection to repair, ms, ≥ 0. */
      repairMs: number;
    };

function steady(fn: string, input: SteadyStateInput): Pair {
  inputObject(fn, input);
  const mtbf = duration(fn, 'mtbfMs', input.mtbfMs);
  let mttr: number;
  const split = input as { detectMs?: unknown; repairMs?: unknown; mttrMs?: unknown };
  if (split.mttrMs !== undefined) {
    if (split.detectMs !== undefined || split.repairMs !== undefined) {
      throw new AvailabilityInputError(
        fn,
        'mttrMs',
        'given alone, or replaced by detectMs and repairMs (not both forms)',
        split.mttrMs,
      );
    }
    mttr = duration(fn, 'mttrMs', split.mttrMs);
  } else {
    mttr = duration(fn, 'detectMs', split.detectMs) + duration(fn, 'repairMs', split.repairMs);
  }
  const total = mtbf + mttr;
  if (total === 0 || !Number.isFinite(total)) {
    throw new AvailabilityInputError(fn, 'mtbfMs + mttrMs', 'a finite number > 0', total);
  }
  return pair(mtbf / total, mttr / total);
}

/**
 * Steady-state (inherent) availability of an alternating up/down process:
 *
 *     A = MTBF / (MTBF + MTTR),   MTTR = detection time + repair time
 *
 * - MTBF — mean up time between failures (strictly the mean time to failure), ms;
 * - MTTR — mean time to repair, *including* the time to detect the failure, ms.
 *
 * Assumptions: failures and repairs alternate (a renewal process); the long-run share of time
 * up is the ratio of the means whatever their distributions. Undetected failures count as down
 * time: a fault that takes 5 s to detect and 1 s to fix costs 6 s. Pass `{ mtbfMs, mttrMs }`, or
 * `{ mtbfMs, detectMs, repairMs }` to make the detection time explicit.
 */
export function steadyStateAvailability(input: SteadyStateInput): number {
  return steady('steadyStateAvailability', input)[0];
}

/** 1 − {@link steadyStateAvailability}: MTTR / (MTBF + MTTR). */
export function steadyStateUnavailability(input: SteadyStateInput): number {
  return steady('steadyStateUnavailability', input)[1];
}

/** Inputs of the retry model. */
export interface RetryInput {
  /** α: probability that one attempt fails, in [0, 1]. */
  alpha: number;
  /** β: coverage — probability that a failed first attempt is retried at all, in [0, 1]. */
  beta: number;
  /** n: maximum number of retries after the first attempt, a non-negative integer. */
  n: number;
}

function retry(fn: string, input: RetryInput): Pair {
  inputObject(fn, input);
  const alpha = probability(fn, 'alpha', input.alpha);
  const beta = probability(fn, 'beta', input.beta);
  const n = count(fn, 'n', input.n);
  return retryPair(alpha, beta, n);
}

function retryPair(alpha: number, beta: number, n: number): Pair {
  if (alpha === 0) return [1, 0];
  if (alpha === 1) return [0, 1];
  if (n === 0 || beta === 0) return [1 - alpha, alpha];
  const an = alpha ** n;
  const u = alpha * (1 - beta + beta * an); // α·((1 − β) + β·α^n)
  // A = (1 − α) + α·β·(1 − α^n): no cancellation when A is small.
  return pair(u < 0.5 ? 1 - u : 1 - alpha + alpha * beta * oneMinusPow(alpha, n), u);
}

/**
 * Availability of a call with retries, with coverage:
 *
 *     A = 1 − α·((1 − β) + β·α^n)
 *
 * - α — probability that one attempt fails, in [0, 1];
 * - β — coverage: the probability that a failed attempt is recognised as retryable and retried
 *   (failures that are not safe to retry, or that the retry budget refuses, are uncovered);
 * - n — maximum number of retries after the first attempt.
 *
 * Assumptions: attempts fail independently with the same α (transient faults, or each retry on
 * a fresh replica drawn from an unbounded pool); a covered failure gets all n retries. For a
 * finite replica set where a failed replica stays failed for the call, use
 * {@link failoverAvailability}. Reduces to 1 − α at n = 0 or β = 0, and to 1 − α^(n+1) at β = 1.
 */
export function retryAvailability(input: RetryInput): number {
  return retry('retryAvailability', input)[0];
}

/** 1 − {@link retryAvailability}: α·((1 − β) + β·α^n). */
export function retryUnavailability(input: RetryInput): number {
  return retry('retryUnavailability', input)[1];
}

/** Inputs of the failover model. */
export interface FailoverInput extends RetryInput {
  /** m: number of replicas, an integer ≥ 1. */
  m: number;
}

function failover(fn: string, input: FailoverInput): Pair {
  inputObject(fn, input);
  const alpha = probability(fn, 'alpha', input.alpha);
  const beta = probability(fn, 'beta', input.beta);
  const n = count(fn, 'n', input.n);
  const m = positiveCount(fn, 'm', input.m);
  return retryPair(alpha, beta, Math.min(n, m - 1));
}

/**
 * Availability of a call retried across a finite set of replicas (this library's call path:
 * a retry never goes to a replica the call already failed on while another is available):
 *
 *     A = 1 − α·((1 − β) + β·α^min(n, m − 1))
 *
 * - α — probability that a replica is failed when the call reaches it, in [0, 1];
 * - β — coverage, as in {@link retryAvailability};
 * - n — maximum number of retries; m — number of replicas, ≥ 1.
 *
 * Assumptions: replicas fail independently, and a failed replica stays failed for the rest of
 * the call, so only min(n + 1, m) distinct replicas can help. With β = 1 and n ≥ m − 1 it is the
 * seed's HA model with A1 = 1 − α; with m > n it is {@link retryAvailability}.
 */
export function failoverAvailability(input: FailoverInput): number {
  return failover('failoverAvailability', input)[0];
}

/** 1 − {@link failoverAvailability}. */
export function failoverUnavailability(input: FailoverInput): number {
  return failover('failoverUnavailability', input)[1];
}

/** Inputs of the k-of-n model. */
export interface KOfNInput {
  /** a: availability of each unit, in [0, 1]. */
  a: number;
  /** k: units that must be up, 0 ≤ k ≤ n. */
  k: number;
  /** n: number of units, a non-negative integer (at most 1 000 000). */
  n: number;
}

const MAX_K_OF_N = 1_000_000;

function kOfN(fn: string, input: KOfNInput): Pair {
  inputObject(fn, input);
  const a = probability(fn, 'a', input.a);
  const n = count(fn, 'n', input.n);
  const k = count(fn, 'k', input.k);
  if (n > MAX_K_OF_N) throw new AvailabilityInputError(fn, 'n', `an integer in [0, ${MAX_K_OF_N}]`, n);
  if (k > n) throw new AvailabilityInputError(fn, 'k', `an integer in [0, n] (n = ${n})`, k);
  if (k === 0 || a === 1) return [1, 0];
  if (a === 0) return [0, 1];
  if (k === n) return pair(a ** n, oneMinusPow(a, n)); // serial
  if (k === 1) return pair(oneMinusPowComplement(a, n), powComplement(a, n)); // parallel
  // Binomial tails summed separately in log space, so neither suffers cancellation.
  const logA = Math.log(a);
  const logB = Math.log1p(-a);
  let logC = 0; // log C(n, i)
  let upper = 0;
  let lower = 0;
  for (let i = 0; i <= n; i++) {
    const term = Math.exp(logC + i * logA + (n - i) * logB);
    if (i >= k) upper += term;
    else lower += term;
    logC += Math.log(n - i) - Math.log(i + 1);
  }
  return pair(upper, lower);
}

/**
 * k-of-n redundancy: the system is up while at least k of its n identical units are up.
 *
 *     A = Σ_{i=k..n} C(n, i)·a^i·(1 − a)^(n − i)
 *
 * - a — availability of each unit; k — units needed (0 ≤ k ≤ n); n — units.
 *
 * Assumptions: units fail independently with the same availability. k = 1 is parallel
 * redundancy (the seed's HA model), k = n is serial, a majority quorum of 3 is k = 2, n = 3.
 */
export function kOfNAvailability(input: KOfNInput): number {
  return kOfN('kOfNAvailability', input)[0];
}

/** 1 − {@link kOfNAvailability}: the lower binomial tail, Σ_{i<k}. */
export function kOfNUnavailability(input: KOfNInput): number {
  return kOfN('kOfNUnavailability', input)[1];
}

function serial(fn: string, parts: readonly number[]): Pair {
  const as = probabilities(fn, 'parts', parts);
  if (as.length === 1) return pair(as[0]!, 1 - as[0]!);
  let product = 1;
  let logSum = 0;
  for (const a of as) {
    product *= a;
    logSum += Math.log(a);
  }
  if (product === 0 && logSum === Number.NEGATIVE_INFINITY) return [0, 1];
  return pair(product, product <= 0.5 ? 1 - product : -Math.expm1(logSum));
}

/**
 * Serial composition: every part must be up (a call that needs the gateway, the service and the
 * database).
 *
 *     A = Π a_i
 *
 * Assumptions: parts fail independently. `parts` is a non-empty array of availabilities.
 */
export function serialAvailability(parts: readonly number[]): number {
  return serial('serialAvailability', parts)[0];
}

/** 1 − {@link serialAvailability}. */
export function serialUnavailability(parts: readonly number[]): number {
  return serial('serialUnavailability', parts)[1];
}

function parallel(fn: string, parts: readonly number[]): Pair {
  const as = probabilities(fn, 'parts', parts);
  if (as.length === 1) return pair(as[0]!, 1 - as[0]!);
  let product = 1; // Π (1 − a_i)
  let logSum = 0; // Σ log(1 − a_i)
  for (const a of as) {
    product *= 1 - a;
    logSum += Math.log1p(-a);
  }
  if (logSum === Number.NEGATIVE_INFINITY) return [1, 0];
  return pair(product <= 0.5 ? 1 - product : -Math.expm1(logSum), product);
}

/**
 * Parallel (heterogeneous) redundancy: the system is up while any part is up.
 *
 *     A = 1 − Π (1 − a_i)
 *
 * Assumptions: parts fail independently and failover to a live part is perfect. With m equal
 * parts this is the seed's HA model. `parts` is a non-empty array of availabilities.
 */
export function parallelAvailability(parts: readonly number[]): number {
  return parallel('parallelAvailability', parts)[0];
}

/** 1 − {@link parallelAvailability}: Π (1 − a_i). */
export function parallelUnavailability(parts: readonly number[]): number {
  return parallel('parallelUnavailability', parts)[1];
}

/** Inputs of the common-mode (β-factor) model. */
export interface CommonModeInput {
  /** A1: availability of one instance, in [0, 1]. */
  a1: number;
  /** m: number of instances, an integer ≥ 1. */
  m: number;
  /** β_c: share of an instance's unavailability that is common-cause (takes all m down), in [0, 1]. */
  commonModeFactor: number;
}

function commonMode(fn: string, input: CommonModeInput): Pair {
  inputObject(fn, input);
  const a1 = probability(fn, 'a1', input.a1);
  const m = positiveCount(fn, 'm', input.m);
  const bc = probability(fn, 'commonModeFactor', input.commonModeFactor);
  const q = 1 - a1;
  if (m === 1) return [a1, q];
  if (bc === 0) return pair(oneMinusPowComplement(a1, m), powComplement(a1, m));
  const qc = bc * q; // common-cause unavailability
  if (qc === 1) return [0, 1];
  const pi = ((1 - bc) * q) / (1 - qc); // independent per-instance unavailability, given no common cause
  const pim = pi === 0 ? 0 : pi ** m;
  // U = qc + (1 − qc)·pi^m ;  A = (1 − qc)·(1 − pi^m)
  return pair((1 - qc) * oneMinusPow(pi, m), qc + (1 - qc) * pim);
}

/**
 * Redundancy with common-mode failures (the β-factor model). A share β_c of each instance's
 * unavailability comes from causes that take every instance down at once (a bad deploy, a shared
 * network, a zone outage); the rest strikes instances independently.
 *
 *     q = 1 − A1,  q_c = β_c·q,  p = (1 − β_c)·q / (1 − q_c)
 *     A = (1 − q_c)·(1 − p^m)
 *
 * - A1 — availability of one instance; m — instances; β_c — common-mode factor.
 *
 * p is chosen so that each instance on its own is still available A1 (m = 1 gives A1). β_c = 0
 * gives the seed's HA model; β_c = 1 gives A1 whatever m. However many instances are added,
 * A < 1 − β_c·(1 − A1): the common-cause share caps redundancy (typical β_c: 1 %–10 %).
 */
export function commonModeAvailability(input: CommonModeInput): number {
  return commonMode('commonModeAvailability', input)[0];
}

/** 1 − {@link commonModeAvailability}: q_c + (1 − q_c)·p^m. */
export function commonModeUnavailability(input: CommonModeInput): number {
  return commonMode('commonModeUnavailability', input)[1];
}

// ---------------------------------------------------------------------------------------------
// Nines
// ---------------------------------------------------------------------------------------------

/**
 * The number of nines of an availability: −log10(1 − a). 0.999 → 3, 0.9995 → 3.3, 1 → Infinity.
 * Near 1, an availability has lost the digits of its unavailability; prefer
 * {@link ninesFromUnavailability} with a model's `xUnavailability` result.
 */
export function unavailabilityNines(a: number): number {
  const value = probability('unavailabilityNines', 'a', a);
  return ninesOf(1 - value);
}

/** The number of nines for an unavailability u: −log10(u). 1e-3 → 3, 0 → Infinity. */
export function ninesFromUnavailability(u: number): number {
  return ninesOf(probability('ninesFromUnavailability', 'u', u));
}

function ninesOf(u: number): number {
  if (u === 0) return Number.POSITIVE_INFINITY;
  const nines = -Math.log10(u);
  return nines === 0 ? 0 : nines;
}
