/**
 * Predictions of call availability from inputs that are not the outcome being predicted: the
 * fault schedule (which replica was faulty, how long), the client's configuration (retries,
 * which methods are idempotent, whether it routes by health), detection times measured from
 * health events, and per-attempt failure rates measured apart (a calibration run, another seed).
 *
 * Two families are computed from the same inputs:
 *
 * - the **independent** models (seed SPO, seed HA, retry, failover), fed the per-attempt fault
 *   probability α that the schedule implies if every attempt met a faulty replica at random;
 * - the **correlated-fault** model, which follows what a fault does to calls: only the calls sent
 *   to the faulty replica before its detection (its exposure window) meet it, idempotent ones are
 *   retried elsewhere, non-idempotent ones fail unless the failure provably happened before the
 *   replica executed anything, and the calls in flight on the replica at a crash or hang are lost
 *   to their attempt.
 *
 * The comparison with the measured call availability is the caller's (see docs/availability.md).
 */
import {
  failoverAvailability,
  failoverUnavailability,
  haAvailability,
  haUnavailability,
  retryAvailability,
  retryUnavailability,
  spoAvailability,
  spoUnavailability,
} from './models.js';
import {
  AvailabilityInputError,
  count,
  duration,
  inputObject,
  positiveCount,
  probability,
} from './validate.js';

/** One fault of the schedule, as the models see it. */
export interface FaultExposure {
  /** A name for reports (e.g. `hang r1`). */
  label?: string;
  /** How long the replica was faulty, ms ≥ 0 (ground truth: the fault schedule). */
  durationMs: number;
  /**
   * From the fault to the first health event (suspect, down, ejected) on the replica, ms; null
   * when none came. Measured from the client's health events, not from call outcomes.
   */
  detectedAfterMs: number | null;
  /** Probability that an attempt reaching the faulty replica fails, in [0, 1] (calibration). */
  attemptFailureRate: number;
  /**
   * The failed attempts provably did not execute (a refused connection, "no responders"), so
   * the client may retry non-idempotent calls too. Default false.
   */
  failsBeforeExecution?: boolean;
  /** The fault breaks the attempts already in flight on the replica (a crash, a hang). Default false. */
  breaksInFlight?: boolean;
  /**
   * Share of all calls that started while the fault was active and undetected. Default: the
   * exposure window over `windowMs` (a steady call rate). Give it when the rate is not steady (a
   * closed loop slows down while calls wait on a hung replica); it is a traffic count, not an outcome.
   */
  exposedCallShare?: number;
  /** Share of all calls that started while the fault was active. Default `durationMs / windowMs`. */
  faultCallShare?: number;
}

/** Inputs of {@link predictFromSchedule}. */
export interface SchedulePredictionInput {
  /** The measurement window, ms > 0. */
  windowMs: number;
  /** m, replicas the client balances over, ≥ 1. */
  replicas: number;
  /** n, retries the client is configured for (maxAttempts − 1), ≥ 0. */
  retries: number;
  /** Share of calls made to methods declared idempotent, in [0, 1] (configuration × workload mix). */
  idempotentShare: number;
  /** Calls in flight on average (a closed loop's concurrency), ≥ 0. */
  concurrency: number;
  /** Calls made in the window (a traffic count, failures included), ≥ 1. */
  calls: number;
  /** Per-attempt failure rate when no fault is active, in [0, 1] (calibration). Default 0. */
  backgroundFailureRate?: number;
  /**
   * The client stops sending to a replica once health marks it (heartbeat, stall suspicion,
   * ejection). False for a plain client: its exposure is the fault's whole duration.
   */
  healthAware: boolean;
  /** The injected faults. */
  faults: readonly FaultExposure[];
}

/** One model's prediction from the schedule. */
export interface SchedulePrediction {
  /** The model's inputs, as passed to it. */
  inputs: Record<string, number>;
  /** Predicted call availability. */
  value: number;
  /** Predicted call unavailability, computed separately (accurate near 0). */
  unavailability: number;
}

/** Where the correlated model's unavailability comes from, per fault. */
export interface CorrelatedTerm {
  label: string;
  /** The exposure window used, ms: the detection time (capped at the duration), else the duration. */
  exposureMs: number;
  /** Unavailability from calls sent to the replica in its exposure window. */
  exposure: number;
  /** Unavailability from calls in flight on the replica when it failed. */
  inFlight: number;
}

/** The result of {@link predictFromSchedule}. */
export interface SchedulePredictions {
  /** α the schedule implies for independent attempts: Σ faultCallShare · attemptFailureRate / m + background. */
  alpha: number;
  /** β, coverage from configuration: the share of failed attempts the client may retry. */
  beta: number;
  /** n and m as given. */
  n: number;
  m: number;
  spo: SchedulePrediction;
  ha: SchedulePrediction;
  retry: SchedulePrediction;
  failover: SchedulePrediction;
  correlated: SchedulePrediction & { background: number; terms: CorrelatedTerm[] };
}

const FN = 'predictFromSchedule';

/**
 * Predicts call availability from the fault schedule, the client's configuration, measured
 * detection times and calibrated per-attempt failure rates; never from the outcomes it is
 * compared with. See the module comment and docs/availability.md ("Predicting from the
 * schedule") for the formulas:
 *
 *     α = b + Σ_f s_f·p_f / m                              (independent models' input)
 *     U_corr = b·r_b + Σ_f [ e_f·p_f/m · r_f + (C/m)/N · p_f · r_inflight ]
 *
 * with s_f / e_f the shares of calls during fault f / its exposure window, p_f its per-attempt
 * failure rate, b the background rate, C the concurrency, N the calls, and r the probability
 * that a failed attempt turns into a failed call (1 without retries; the non-idempotent share,
 * unless the failure happened before execution, plus the idempotent share times the chance that
 * every retry fails too, b^min(n, m − 1)).
 */
export function predictFromSchedule(input: SchedulePredictionInput): SchedulePredictions {
  inputObject(FN, input);
  const windowMs = duration(FN, 'windowMs', input.windowMs);
  if (windowMs === 0) throw new AvailabilityInputError(FN, 'windowMs', 'a duration > 0', windowMs);
  const m = positiveCount(FN, 'replicas', input.replicas);
  const n = count(FN, 'retries', input.retries);
  const idempotentShare = probability(FN, 'idempotentShare', input.idempotentShare);
  const concurrency = duration(FN, 'concurrency', input.concurrency);
  const calls = positiveCount(FN, 'calls', input.calls);
  const background = probability(FN, 'backgroundFailureRate', input.backgroundFailureRate ?? 0);
  if (!Array.isArray(input.faults)) throw new AvailabilityInputError(FN, 'faults', 'an array', input.faults);
  const nonIdempotentShare = 1 - idempotentShare;

  // The chance that every retry of a failed call fails too: its retries go to other replicas,
  // which fail only at the background rate (a second concurrent fault is a term of its own).
  const retriesFail = n === 0 ? 1 : background ** Math.min(n, m - 1);
  const callFails = (beforeExecution: boolean) =>
    n === 0 ? 1 : nonIdempotentShare * (beforeExecution ? retriesFail : 1) + idempotentShare * retriesFail;

  let alpha = background;
  let weighted = 0;
  let weightedBeforeExecution = 0;
  const terms: CorrelatedTerm[] = [];
  let correlated = background * callFails(false);
  input.faults.forEach((fault, i) => {
    const at = `faults[${i}]`;
    inputObject(FN, fault);
    const durationMs = duration(FN, `${at}.durationMs`, fault.durationMs);
    const detected =
      fault.detectedAfterMs === null ? null : duration(FN, `${at}.detectedAfterMs`, fault.detectedAfterMs);
    const p = probability(FN, `${at}.attemptFailureRate`, fault.attemptFailureRate);
    const exposureMs = input.healthAware && detected !== null ? Math.min(detected, durationMs) : durationMs;
    const faultShare =
      fault.faultCallShare === undefined
        ? Math.min(1, durationMs / windowMs)
        : probability(FN, `${at}.faultCallShare`, fault.faultCallShare);
    const exposedShare =
      fault.exposedCallShare === undefined
        ? Math.min(1, exposureMs / windowMs)
        : probability(FN, `${at}.exposedCallShare`, fault.exposedCallShare);
    const beforeExecution = fault.failsBeforeExecution === true;
    alpha += (faultShare * p) / m;
    weighted += faultShare * p;
    if (beforeExecution) weightedBeforeExecution += faultShare * p;
    const exposure = ((exposedShare * p) / m) * callFails(beforeExecution);
    // Calls in flight on the replica when it crashed or hung: C/m of them, their attempt lost.
    // (A hang shorter than the deadline only delays them: they fail at the fault's own rate p.)
    const inFlight = fault.breaksInFlight === true ? (concurrency / m / calls) * p * callFails(false) : 0;
    correlated += exposure + inFlight;
    terms.push({ label: fault.label ?? `fault ${i + 1}`, exposureMs, exposure, inFlight });
  });
  alpha = Math.min(1, alpha);
  // Coverage from configuration: idempotent calls are retried after any failure, the others only
  // after a failure that provably happened before execution.
  const beta =
    weighted === 0
      ? idempotentShare
      : idempotentShare + nonIdempotentShare * (weightedBeforeExecution / weighted);
  const correlatedU = Math.min(1, correlated);

  const retryInput = { alpha, beta, n };
  const failoverInput = { alpha, beta, n, m };
  const haInput = { a1: 1 - alpha, m };
  return {
    alpha,
    beta,
    n,
    m,
    spo: {
      inputs: retryInput,
      value: spoAvailability(retryInput),
      unavailability: spoUnavailability(retryInput),
    },
    ha: { inputs: haInput, value: haAvailability(haInput), unavailability: haUnavailability(haInput) },
    retry: {
      inputs: retryInput,
      value: retryAvailability(retryInput),
      unavailability: retryUnavailability(retryInput),
    },
    failover: {
      inputs: failoverInput,
      value: failoverAvailability(failoverInput),
      unavailability: failoverUnavailability(failoverInput),
    },
    correlated: {
      inputs: { background, idempotentShare, n, m, concurrency, calls },
      value: 1 - correlatedU,
      unavailability: correlatedU,
      background: background * callFails(false),
      terms,
    },
  };
}
