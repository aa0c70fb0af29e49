/**
 * The demo's availability predictions, from inputs that are not the outcome they are compared
 * with:
 *
 * - the fault schedule as it happened: which replica, from injection to clearing (a crash until
 *   the restarted process served again);
 * - the client's configuration: attempts per call, the share of calls to idempotent methods
 *   (the workload's mix), whether it routes by health, its concurrency;
 * - detection times from health events (the recovery run's endpoint-state changes);
 * - per-attempt failure rates: for the recovery run, measured on the baseline run (a calibration
 *   run: another client, another time, one attempt per call on a known replica); for the
 *   baseline, the schedule's nominal rates (see `nominalRate`);
 * - traffic counts: how many calls started while each fault was active and undetected (counted
 *   whatever their outcome; a closed loop's rate changes during a fault).
 */
import { type FaultExposure, inInterval, predictFromSchedule, wilsonInterval } from '@resilient-rpc/core';
import type { CallRecord, FaultResult, RunResult } from './run.js';
import { NON_IDEMPOTENT_SHARE } from './workload.js';

/** One model's prediction beside the measurement. */
export interface ModelRow {
  model: 'spo' | 'ha' | 'retry' | 'failover' | 'correlated';
  value: number;
  unavailability: number;
  /** Where it lands against the measured call interval. */
  lands: 'inside' | 'below' | 'above';
  inputs: Record<string, number>;
  /** Why it lands there. */
  why: string;
}

/** One fault as the models saw it. */
export interface FaultInputRow {
  fault: string;
  type: FaultResult['type'];
  replica: string;
  /** From injection to clearing (a crash: to the restarted process serving again), ms. */
  durationMs: number;
  /** From health events; null: not detected. */
  detectedAfterMs: number | null;
  attemptFailureRate: number;
  /** Where the rate came from. */
  rateFrom: 'calibration' | 'schedule';
  /** Calibration calls behind the rate (0 when it came from the schedule). */
  rateSampleCalls: number;
  failsBeforeExecution: boolean;
  breaksInFlight: boolean;
  exposureMs: number;
  exposedCallShare: number;
  faultCallShare: number;
  /** The correlated model's unavailability from this fault: exposure window and calls in flight. */
  exposure: number;
  inFlight: number;
}

/** Predictions for one run. */
export interface RunPredictions {
  measured: { availability: number | null; interval: [number, number]; calls: number; failed: number };
  inputs: {
    windowMs: number;
    calls: number;
    concurrency: number;
    replicas: number;
    retries: number;
    idempotentShare: number;
    healthAware: boolean;
    backgroundFailureRate: number;
    backgroundFrom: 'calibration' | 'schedule';
    /** α the schedule implies for independent attempts, and β, coverage, from configuration. */
    alpha: number;
    beta: number;
  };
  faults: FaultInputRow[];
  models: ModelRow[];
}

/** Calibration calls needed before a measured rate replaces the schedule's nominal one. */
const MIN_CALIBRATION_CALLS = 5;

/** A crash counts until the restarted process serves again; other faults until they are cleared. */
function faultSpan(fault: FaultResult): { startMs: number; endMs: number } | null {
  if (fault.injectedAtMs === null) return null;
  const cleared = fault.clearedAtMs ?? fault.endMs;
  const end = fault.type === 'crash' && fault.restartedAtMs != null ? fault.restartedAtMs : cleared;
  return { startMs: fault.injectedAtMs, endMs: Math.max(fault.injectedAtMs, end) };
}

/**
 * The schedule's own per-attempt failure rate: a dead replica fails every attempt; a hung one
 * fails those whose deadline passes before it resumes (an attempt started t ms into a hang of H
 * ms fails iff H − t > deadline: a share max(0, H − deadline) / H); a flaky one its rate; a slow
 * one every attempt if the delay reaches the deadline, else none.
 */
function nominalRate(
  fault: { type: FaultResult['type']; rate?: number; delayMs?: number },
  durationMs: number,
  deadlineMs: number,
): number {
  switch (fault.type) {
    case 'crash':
      return 1;
    case 'hang':
      return durationMs === 0 ? 0 : Math.max(0, durationMs - deadlineMs) / durationMs;
    case 'flaky':
      return fault.rate ?? 0.5;
    case 'slow':
      return (fault.delayMs ?? 600) >= deadlineMs ? 1 : 0;
  }
}

/** Share of `log`'s calls that started in [from, to). */
function startedShare(log: readonly CallRecord[], from: number, to: number): number {
  if (log.length === 0) return 0;
  let n = 0;
  for (const call of log) if (call.startMs >= from && call.startMs < to) n++;
  return n / log.length;
}

export interface PredictOptions {
  run: RunResult;
  /** The calibration run (the baseline), or null: the schedule's nominal rates are used. */
  calibration: RunResult | null;
  /** Replica name → endpoint URL. */
  urlOf: ReadonlyMap<string, string>;
  /** The scheduled faults' parameters (rate, delay), by label. */
  scheduled: ReadonlyMap<string, { rate?: number; delayMs?: number }>;
}

/** Predicts a run's call availability from the schedule, configuration, health events and calibration. */
export function predictRun(options: PredictOptions): RunPredictions {
  const { run, calibration, urlOf, scheduled } = options;
  const replicas = urlOf.size;
  const detectionOf = new Map(run.detections.map((d) => [d.fault, d.detectedAfterMs]));

  // Calibration: the plain client's per-call outcomes on the faulty replica during its fault,
  // and outside every fault (its background).
  const calibrationLog = calibration?.callLog ?? [];
  const calibrationSpans = (calibration?.faults ?? []).map((f) => ({ fault: f, span: faultSpan(f) }));
  let backgroundFailureRate = 0;
  let backgroundFrom: 'calibration' | 'schedule' = 'schedule';
  if (calibration !== null) {
    const quiet = calibrationLog.filter(
      (call) =>
        !calibrationSpans.some(
          ({ span }) => span !== null && call.endMs >= span.startMs && call.startMs < span.endMs + 500,
        ),
    );
    if (quiet.length >= MIN_CALIBRATION_CALLS) {
      backgroundFailureRate = quiet.filter((call) => !call.ok).length / quiet.length;
      backgroundFrom = 'calibration';
    }
  }

  const rows: FaultInputRow[] = [];
  const exposures: FaultExposure[] = [];
  for (const fault of run.faults) {
    const span = faultSpan(fault);
    if (span === null) continue;
    const durationMs = span.endMs - span.startMs;
    const detected = run.recovery ? (detectionOf.get(fault.label) ?? null) : null;
    let attemptFailureRate = nominalRate(
      { type: fault.type, ...scheduled.get(fault.label) },
      durationMs,
      run.deadlineMs,
    );
    let rateFrom: FaultInputRow['rateFrom'] = 'schedule';
    let rateSampleCalls = 0;
    const twin = calibrationSpans.find(
      ({ fault: f }) => f.label === fault.label && f.replica === fault.replica,
    );
    const url = urlOf.get(fault.replica);
    if (twin?.span != null && url !== undefined) {
      const { startMs, endMs } = twin.span;
      const sample = calibrationLog.filter(
        (call) => call.endpoint === url && call.startMs >= startMs && call.startMs < endMs,
      );
      if (sample.length >= MIN_CALIBRATION_CALLS) {
        attemptFailureRate = sample.filter((call) => !call.ok).length / sample.length;
        rateFrom = 'calibration';
        rateSampleCalls = sample.length;
      }
    }
    const exposureMs = run.recovery && detected !== null ? Math.min(detected, durationMs) : durationMs;
    // A crashed replica refuses connections (or NATS has no responder): nothing executed, so even
    // non-idempotent calls may be retried; a flaky replica's error says "retryable, not executed".
    const failsBeforeExecution = fault.type === 'crash' || fault.type === 'flaky';
    const breaksInFlight = fault.type === 'crash' || fault.type === 'hang';
    const exposedCallShare = startedShare(run.callLog, span.startMs, span.startMs + exposureMs);
    const faultCallShare = startedShare(run.callLog, span.startMs, span.endMs);
    exposures.push({
      label: fault.label,
      durationMs,
      detectedAfterMs: detected,
      attemptFailureRate,
      failsBeforeExecution,
      breaksInFlight,
      exposedCallShare,
      faultCallShare,
    });
    rows.push({
      fault: fault.label,
      type: fault.type,
      replica: fault.replica,
      durationMs,
      detectedAfterMs: detected,
      attemptFailureRate,
      rateFrom,
      rateSampleCalls,
      failsBeforeExecution,
      breaksInFlight,
      exposureMs,
      exposedCallShare,
      faultCallShare,
      exposure: 0,
      inFlight: 0,
    });
  }

  const idempotentShare = 1 - NON_IDEMPOTENT_SHARE;
  const p = predictFromSchedule({
    windowMs: run.durationMs,
    replicas,
    retries: run.configuredRetries,
    idempotentShare,
    concurrency: run.concurrency,
    calls: Math.max(1, run.calls),
    backgroundFailureRate,
    healthAware: run.recovery,
    faults: exposures,
  });
  p.correlated.terms.forEach((term, i) => {
    rows[i]!.exposure = term.exposure;
    rows[i]!.inFlight = term.inFlight;
  });

  const interval = wilsonInterval(run.succeeded, run.calls);
  const lands = (value: number): ModelRow['lands'] =>
    inInterval(value, interval) ? 'inside' : value < interval[0] ? 'below' : 'above';
  const noRetries = run.configuredRetries === 0;
  const why: Record<ModelRow['model'], string> = {
    spo: noRetries
      ? 'seed SPO with n = 0 predicts 100 %: no recovery attempts, nothing that can fail'
      : 'seed SPO counts the n recovery attempts as n steps that must all succeed, so it falls as n grows',
    ha: 'seed HA assumes every call fails over perfectly until one of m independent replicas answers: it misses the calls that cannot fail over (non-idempotent, in flight at a crash or hang)',
    retry: noRetries
      ? 'with no retries and no health the retry model is 1 − α: every attempt that meets a faulty replica fails its call'
      : 'the retry model lets every attempt meet a faulty replica with probability α, independently; the client stops sending to a replica once health marks it, so few attempts meet the fault',
    failover: noRetries
      ? 'as the retry model (n = 0)'
      : 'as the retry model with min(n, m − 1) retries; the same independence assumption',
    correlated: noRetries
      ? 'every call sent to a faulty replica during the whole fault fails (no health, no retries), plus the calls in flight when a replica crashed or hung'
      : 'only the calls sent to the faulty replica before its first health event (or during the whole fault when none came), and the calls in flight at a crash or hang, can fail; idempotent ones are retried elsewhere',
  };
  const models: ModelRow[] = (['spo', 'ha', 'retry', 'failover', 'correlated'] as const).map((model) => ({
    model,
    value: p[model].value,
    unavailability: p[model].unavailability,
    lands: lands(p[model].value),
    inputs: p[model].inputs,
    why: why[model],
  }));

  return {
    measured: {
      availability: run.calls === 0 ? null : run.succeeded / run.calls,
      interval,
      calls: run.calls,
      failed: run.failed,
    },
    inputs: {
      windowMs: run.durationMs,
      calls: run.calls,
      concurrency: run.concurrency,
      replicas,
      retries: run.configuredRetries,
      idempotentShare,
      healthAware: run.recovery,
      backgroundFailureRate,
      backgroundFrom,
      alpha: p.alpha,
      beta: p.beta,
    },
    faults: rows,
    models,
  };
}
