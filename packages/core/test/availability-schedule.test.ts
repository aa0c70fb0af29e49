/**
 * Predictions from the fault schedule (`predictFromSchedule`) against a seeded simulation of a
 * health-aware client whose failures are correlated: a replica that hangs or crashes fails every
 * attempt sent to it until health detects it; idempotent calls are retried on another replica,
 * non-idempotent ones only when the failure provably came before execution. The simulation is
 * written from that description, call by call, independently of the formulas; the models get
 * only the schedule, the configuration, the detection times and the per-attempt rates.
 */
import { describe, expect, it } from 'vitest';
import {
  type FaultExposure,
  inInterval,
  predictFromSchedule,
  type SchedulePredictionInput,
  wilsonInterval,
} from '../src/availability/index.js';
import { seededRandom } from '../src/util/random.js';

interface SimulatedFault {
  replica: number;
  startMs: number;
  endMs: number;
  /** Per-attempt failure probability while active. */
  rate: number;
  detectAfterMs: number | null;
  beforeExecution: boolean;
  breaksInFlight: boolean;
}

interface Simulation {
  seed: number;
  windowMs: number;
  calls: number;
  attemptMs: number;
  replicas: number;
  retries: number;
  idempotentShare: number;
  background: number;
  healthAware: boolean;
  faults: SimulatedFault[];
}

/** Calls arrive at uniform random times; returns how many succeeded. */
function simulate(sim: Simulation): number {
  const random = seededRandom(sim.seed);
  const active = (replica: number, t: number) =>
    sim.faults.find((f) => f.replica === replica && t >= f.startMs && t < f.endMs);
  const knownBad = (replica: number, t: number) =>
    sim.healthAware &&
    sim.faults.some(
      (f) =>
        f.replica === replica && f.detectAfterMs !== null && t >= f.startMs + f.detectAfterMs && t < f.endMs,
    );
  let succeeded = 0;
  for (let call = 0; call < sim.calls; call++) {
    const t = random() * sim.windowMs;
    const idempotent = random() < sim.idempotentShare;
    const tried = new Set<number>();
    let ok = false;
    for (let attempt = 0; attempt <= sim.retries; attempt++) {
      let candidates = [...Array(sim.replicas).keys()].filter((r) => !tried.has(r) && !knownBad(r, t));
      if (candidates.length === 0) candidates = [...Array(sim.replicas).keys()].filter((r) => !tried.has(r));
      if (candidates.length === 0) break;
      const replica = candidates[Math.floor(random() * candidates.length)]!;
      tried.add(replica);
      const fault = active(replica, t);
      let failed = false;
      let beforeExecution = false;
      if (fault !== undefined && random() < fault.rate) {
        failed = true;
        beforeExecution = fault.beforeExecution;
      } else if (
        sim.faults.some(
          (f) => f.replica === replica && f.breaksInFlight && f.startMs > t && f.startMs <= t + sim.attemptMs,
        )
      ) {
        failed = true; // the replica crashed or hung while this attempt was in flight
      } else if (random() < sim.background) {
        failed = true;
      }
      if (!failed) {
        ok = true;
        break;
      }
      if (!idempotent && !beforeExecution) break; // not safe to retry
    }
    if (ok) succeeded++;
  }
  return succeeded;
}

/** The models' inputs: what the schedule, the configuration and the health events say. */
function inputsOf(
  sim: Simulation,
  detectedAfterMs = (f: SimulatedFault) => f.detectAfterMs,
): SchedulePredictionInput {
  const faults: FaultExposure[] = sim.faults.map((f) => ({
    durationMs: f.endMs - f.startMs,
    detectedAfterMs: detectedAfterMs(f),
    attemptFailureRate: f.rate,
    failsBeforeExecution: f.beforeExecution,
    breaksInFlight: f.breaksInFlight,
  }));
  return {
    windowMs: sim.windowMs,
    replicas: sim.replicas,
    retries: sim.retries,
    idempotentShare: sim.idempotentShare,
    // Little's law: arrival rate × time in flight.
    concurrency: (sim.calls / sim.windowMs) * sim.attemptMs,
    calls: sim.calls,
    backgroundFailureRate: sim.background,
    healthAware: sim.healthAware,
    faults,
  };
}

const correlatedRun: Simulation = {
  seed: 17,
  windowMs: 600_000,
  calls: 60_000,
  attemptMs: 50,
  replicas: 3,
  retries: 2,
  idempotentShare: 0.8,
  background: 0.0005,
  healthAware: true,
  faults: [
    // A hang: every attempt times out until stall suspicion marks the replica, 400 ms in.
    {
      replica: 0,
      startMs: 60_000,
      endMs: 180_000,
      rate: 1,
      detectAfterMs: 400,
      beforeExecution: false,
      breaksInFlight: true,
    },
    // A crash: connections refused (provably not executed) and detected at once.
    {
      replica: 1,
      startMs: 240_000,
      endMs: 300_000,
      rate: 1,
      detectAfterMs: 30,
      beforeExecution: true,
      breaksInFlight: true,
    },
    // A flaky replica: half its calls fail after execution began, and health never notices.
    {
      replica: 2,
      startMs: 400_000,
      endMs: 460_000,
      rate: 0.5,
      detectAfterMs: null,
      beforeExecution: false,
      breaksInFlight: false,
    },
  ],
};

describe('predictions from the fault schedule', () => {
  it('with correlated faults, the independent models land outside the measured interval and the correlated model inside', () => {
    const succeeded = simulate(correlatedRun);
    const interval = wilsonInterval(succeeded, correlatedRun.calls);
    const p = predictFromSchedule(inputsOf(correlatedRun));

    // Values computed by hand from the schedule (not from the formulas under test):
    // α = 0.0005 + (120/600 · 1 + 60/600 · 1 + 60/600 · 0.5) / 3 = 0.1171667
    expect(p.alpha).toBeCloseTo(0.0005 + 0.35 / 3, 10);
    // β = 0.8 + 0.2 · (0.1 / 0.35): the crash's refusals may be retried for every method.
    expect(p.beta).toBeCloseTo(0.8 + 0.2 * (0.1 / 0.35), 10);
    // U_corr ≈ 0.0005·0.2 (background) + 0.4/600/3·0.2 (hang exposure) + 2·(5/3)/60 000·0.2
    // (in flight at hang and crash) + 60/600·0.5/3·0.2 (flaky, never detected) ≈ 0.003489
    expect(p.correlated.unavailability).toBeCloseTo(0.003489, 5);

    expect(inInterval(p.correlated.value, interval), `correlated ${p.correlated.value} in ${interval}`).toBe(
      true,
    );
    for (const model of ['spo', 'ha', 'retry', 'failover'] as const) {
      expect(inInterval(p[model].value, interval), `${model} ${p[model].value} outside ${interval}`).toBe(
        false,
      );
    }
    // And which way they miss: attempts that all meet faults at random fail far more often than
    // calls that a detected replica no longer sees (retry, failover, SPO), while HA's perfect
    // failover misses the non-idempotent calls that cannot fail over at all.
    expect(p.retry.value).toBeLessThan(interval[0]);
    expect(p.failover.value).toBeLessThan(interval[0]);
    expect(p.spo.value).toBeLessThan(interval[0]);
    expect(p.ha.value).toBeGreaterThan(interval[1]);
  });

  it('a wrong detection time or a wrong failure rate moves the correlated prediction outside the interval', () => {
    const succeeded = simulate(correlatedRun);
    const interval = wilsonInterval(succeeded, correlatedRun.calls);
    // Detection of the hang taken as 40 s instead of the measured 400 ms.
    const slowDetection = predictFromSchedule(
      inputsOf(correlatedRun, (f) => (f.replica === 0 ? 40_000 : f.detectAfterMs)),
    );
    expect(inInterval(slowDetection.correlated.value, interval)).toBe(false);
    // The flaky replica's calibrated rate taken as 100 % instead of 50 %.
    const input = inputsOf(correlatedRun);
    const wrongRate = predictFromSchedule({
      ...input,
      faults: input.faults.map((f, i) => (i === 2 ? { ...f, attemptFailureRate: 1 } : f)),
    });
    expect(inInterval(wrongRate.correlated.value, interval)).toBe(false);
    // A client wrongly described as plain (no health routing): the hang's whole 120 s is exposure.
    const plain = predictFromSchedule({ ...input, healthAware: false });
    expect(inInterval(plain.correlated.value, interval)).toBe(false);
  });

  it('with independent transient failures, the retry model and the correlated model both land inside', () => {
    const transient: Simulation = { ...correlatedRun, seed: 5, background: 0.05, faults: [] };
    const succeeded = simulate(transient);
    const interval = wilsonInterval(succeeded, transient.calls);
    const p = predictFromSchedule(inputsOf(transient));
    // α = 0.05, β = 0.8, n = 2: U = 0.05·(0.2 + 0.8·0.0025) = 0.0101
    expect(p.retry.unavailability).toBeCloseTo(0.0101, 10);
    expect(inInterval(p.retry.value, interval)).toBe(true);
    expect(inInterval(p.failover.value, interval)).toBe(true);
    expect(inInterval(p.correlated.value, interval)).toBe(true);
  });

  it('a plain client (no retries, no health) is predicted from the whole fault windows', () => {
    const plainRun: Simulation = { ...correlatedRun, seed: 23, retries: 0, healthAware: false };
    const succeeded = simulate(plainRun);
    const interval = wilsonInterval(succeeded, plainRun.calls);
    const p = predictFromSchedule(inputsOf(plainRun));
    // Every failed attempt is a failed call: U = α + in-flight = 0.1171667 + 2·(5/3)/60 000
    expect(p.correlated.unavailability).toBeCloseTo(0.0005 + 0.35 / 3 + (2 * 5) / 3 / 60_000, 8);
    expect(inInterval(p.correlated.value, interval)).toBe(true);
    expect(inInterval(p.retry.value, interval)).toBe(true); // n = 0: the retry model is 1 − α
  });

  it('rejects bad input with the parameter named', () => {
    const input = inputsOf(correlatedRun);
    expect(() => predictFromSchedule({ ...input, windowMs: 0 })).toThrow(/windowMs/);
    expect(() => predictFromSchedule({ ...input, idempotentShare: 1.5 })).toThrow(/idempotentShare/);
    expect(() =>
      predictFromSchedule({ ...input, faults: [{ ...input.faults[0]!, attemptFailureRate: -1 }] }),
    ).toThrow(/faults\[0\]\.attemptFailureRate/);
    expect(() => predictFromSchedule({ ...input, calls: 0 })).toThrow(/calls/);
  });
});
