/** The demo's report: one JSON-safe object, and its rendering as terminal text. */
import type { ModelRow, RunPredictions } from './prediction.js';
import type { RunResult } from './run.js';
import type { Scenario } from './scenario.js';
import { ms, pct, round } from './stats.js';

export interface ExecutionCheck {
  /** Non-idempotent calls made, over both runs. */
  nonIdempotentCalls: number;
  /** Distinct ids executed at least once. */
  executedIds: number;
  /** Ids executed more than once. */
  doubleExecutions: Array<{ id: string; count: number; replicas: string[] }>;
  /** Ids the client saw succeed that no replica logged as executed. */
  succeededNotExecuted: string[];
  /** Live replicas whose own counters disagree with the log they streamed. */
  counterMismatches: Array<{ replica: string; counted: number; logged: number }>;
  /** Live replicas that did not answer the counters request. */
  unanswered: string[];
}

export interface DemoReport {
  version: 1;
  ok: boolean;
  transport: string;
  replicas: number;
  concurrency: number;
  durationS: number;
  deadlineMs: number;
  seed: number;
  scenario: { name: string; description?: string };
  totals: {
    calls: number;
    succeeded: number;
    failed: number;
    lost: number;
    wrongResults: number;
    retries: number;
    failovers: number;
    hedges: number;
    budgetExhausted: number;
    p50Ms: number | null;
    p99Ms: number | null;
    failures: Record<string, number>;
  };
  baseline: {
    calls: number;
    succeeded: number;
    failed: number;
    lost: number;
    wrongResults: number;
    /** From the plain client's events (zero unless something retried, failed over or hedged). */
    retries: number;
    failovers: number;
    hedges: number;
    p50Ms: number | null;
    p99Ms: number | null;
    failures: Record<string, number>;
    availability: { measured: number | null; interval: [number, number] };
    phases: PhaseRow[];
  } | null;
  phases: PhaseRow[];
  detections: Array<{
    fault: string;
    type: string;
    replica: string;
    detectedAfterMs: number | null;
    detectedAs: string | null;
    recoveredAfterMs: number | null;
    detectedBy: 'health' | null;
    note?: string;
  }>;
  availability: {
    measured: number | null;
    interval: [number, number];
    calls: number;
    attempts: { measured: number | null; interval: [number, number]; count: number };
    /** Measured in the recovery run; shown for reference, never fed to a prediction. */
    observed: {
      alpha: number | null;
      alphaInterval: [number, number];
      coverage: number | null;
      mtbfMs: number | null;
      mttrMs: number | null;
      meanDetectMs: number | null;
    };
    /** Predictions from the schedule, configuration, health events and calibration (see prediction.ts). */
    predictions: { withRecovery: RunPredictions; baseline: RunPredictions | null };
    baseline: { measured: number | null; interval: [number, number] } | null;
  };
  faults: RunResult['faults'];
  /** The orchestrator's own event-loop delay per run: a starved client detects late. */
  eventLoopDelayMs: {
    withRecovery: RunResult['eventLoopDelayMs'];
    baseline: RunResult['eventLoopDelayMs'] | null;
  };
  executions: ExecutionCheck;
  invariants: {
    noLostCall: boolean;
    noDoubleExecution: boolean;
    noWrongResult: boolean;
    recoveryAtLeastBaseline: boolean | null;
    /** A detection record for every injected fault. */
    detectionForEveryFault: boolean;
    /** Every crash and hang was detected by a health event within its window. */
    crashesAndHangsDetected: boolean;
    /** Every fault was detected by a health event (suspect, down, ejected) within its window. */
    everyFaultDetected: boolean;
  };
  timeline: {
    bucketMs: number;
    run: RunResult['series'];
    baseline: RunResult['series'] | null;
    states: RunResult['states'];
    baselineFaults: RunResult['faults'] | null;
  };
}

type PhaseRow = Pick<
  RunResult['phases'][number],
  | 'name'
  | 'startMs'
  | 'endMs'
  | 'calls'
  | 'succeeded'
  | 'failed'
  | 'retries'
  | 'failovers'
  | 'hedges'
  | 'p50Ms'
  | 'p99Ms'
>;

function r1(value: number | null): number | null {
  return value === null ? null : round(value, 1);
}

function phaseRows(run: RunResult): PhaseRow[] {
  return run.phases.map((p) => ({ ...p, p50Ms: r1(p.p50Ms), p99Ms: r1(p.p99Ms) }));
}

export interface BuildInput {
  transport: string;
  replicas: number;
  seed: number;
  scenario: Scenario;
  run: RunResult;
  baseline: RunResult | null;
  executions: ExecutionCheck;
  predictions: { withRecovery: RunPredictions; baseline: RunPredictions | null };
}

export function buildReport(input: BuildInput): DemoReport {
  const { run, baseline, executions } = input;
  const lost = run.lost + run.untyped;
  const baselineLost = baseline ? baseline.lost + baseline.untyped : 0;
  const a = run.availability;
  const rate = (r: RunResult) => (r.calls === 0 ? 0 : r.succeeded / r.calls);
  const invariants = {
    noLostCall: lost === 0 && baselineLost === 0,
    noDoubleExecution:
      executions.doubleExecutions.length === 0 &&
      executions.succeededNotExecuted.length === 0 &&
      executions.counterMismatches.length === 0,
    noWrongResult: run.wrongResults === 0 && (baseline?.wrongResults ?? 0) === 0,
    recoveryAtLeastBaseline: baseline === null ? null : rate(run) >= rate(baseline),
    detectionForEveryFault: run.detections.length === run.faults.length,
    crashesAndHangsDetected:
      run.detections.length === run.faults.length &&
      run.detections.every((d) => (d.type !== 'crash' && d.type !== 'hang') || d.detectedBy === 'health'),
    everyFaultDetected:
      run.detections.length === run.faults.length && run.detections.every((d) => d.detectedAfterMs !== null),
  };
  return {
    version: 1,
    ok: invariants.noLostCall && invariants.noDoubleExecution && invariants.noWrongResult,
    transport: input.transport,
    replicas: input.replicas,
    concurrency: run.concurrency,
    durationS: run.durationMs / 1000,
    deadlineMs: run.deadlineMs,
    seed: input.seed,
    scenario: {
      name: input.scenario.name,
      ...(input.scenario.description !== undefined && { description: input.scenario.description }),
    },
    totals: {
      calls: run.calls,
      succeeded: run.succeeded,
      failed: run.failed,
      lost,
      wrongResults: run.wrongResults,
      retries: run.retries,
      failovers: run.failovers,
      hedges: run.hedges,
      budgetExhausted: run.budgetExhausted,
      p50Ms: r1(run.p50Ms),
      p99Ms: r1(run.p99Ms),
      failures: run.failures,
    },
    baseline:
      baseline === null
        ? null
        : {
            calls: baseline.calls,
            succeeded: baseline.succeeded,
            failed: baseline.failed,
            lost: baselineLost,
            wrongResults: baseline.wrongResults,
            retries: baseline.retries,
            failovers: baseline.failovers,
            hedges: baseline.hedges,
            p50Ms: r1(baseline.p50Ms),
            p99Ms: r1(baseline.p99Ms),
            failures: baseline.failures,
            availability: {
              measured: baseline.availability.measured.availability,
              interval: baseline.availability.measured.interval,
            },
            phases: phaseRows(baseline),
          },
    phases: phaseRows(run),
    detections: run.detections.map((d) => ({
      ...d,
      detectedAfterMs: r1(d.detectedAfterMs),
      recoveredAfterMs: r1(d.recoveredAfterMs),
    })),
    availability: {
      measured: a.measured.availability,
      interval: a.measured.interval,
      calls: a.measured.calls,
      attempts: {
        measured: a.attempts.availability,
        interval: a.attempts.interval,
        count: a.attempts.attempts,
      },
      observed: {
        alpha: a.alpha.value,
        alphaInterval: a.alpha.interval,
        coverage: a.coverage.value,
        mtbfMs: a.mtbfMs,
        mttrMs: a.mttrMs,
        meanDetectMs: a.detection.meanMs,
      },
      predictions: input.predictions,
      baseline:
        baseline === null
          ? null
          : {
              measured: baseline.availability.measured.availability,
              interval: baseline.availability.measured.interval,
            },
    },
    faults: run.faults,
    eventLoopDelayMs: { withRecovery: run.eventLoopDelayMs, baseline: baseline?.eventLoopDelayMs ?? null },
    executions,
    invariants,
    timeline: {
      bucketMs: run.bucketMs,
      run: run.series,
      baseline: baseline?.series ?? null,
      states: run.states,
      baselineFaults: baseline?.faults ?? null,
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Terminal rendering
// ---------------------------------------------------------------------------------------------

function table(headers: string[], rows: string[][], align: Array<'l' | 'r'>): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    `  ${cells.map((cell, i) => (align[i] === 'r' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd();
  return [line(headers), line(widths.map((w) => '─'.repeat(w))), ...rows.map(line)].join('\n');
}

const secs = (t: number) => (t / 1000).toFixed(1);

function phaseTable(rows: PhaseRow[]): string {
  return table(
    ['phase', 'window s', 'calls', 'ok', 'failed', 'success', 'retries', 'failovers', 'hedges', 'p50', 'p99'],
    rows.map((p) => [
      p.name,
      `${secs(p.startMs)}–${secs(p.endMs)}`,
      String(p.calls),
      String(p.succeeded),
      String(p.failed),
      pct(p.calls === 0 ? null : p.succeeded / p.calls),
      String(p.retries),
      String(p.failovers),
      String(p.hedges),
      ms(p.p50Ms),
      ms(p.p99Ms),
    ]),
    ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

const interval = (i: [number, number]) => `[${pct(i[0])}, ${pct(i[1])}]`;

/** Each model's name and formula, as printed. */
export const MODEL_TEXT: Record<ModelRow['model'], string> = {
  spo: 'seed SPO     1 − β + β·(1 − α)^n',
  ha: 'seed HA      1 − (1 − A1)^m, A1 = 1 − α',
  retry: 'retry        1 − α·((1 − β) + β·α^n)',
  failover: 'failover     1 − α·((1 − β) + β·α^min(n, m−1))',
  correlated: 'correlated   exposure until detection + in flight at the fault',
};

const pct4 = (value: number) => `${(value * 100).toFixed(4)} %`;

/** The columns of the per-fault terms table (text and HTML reports). */
export const FAULT_TERM_HEADERS = [
  'fault',
  'lasted',
  'detected after',
  'attempt fails',
  'rate from',
  'exposure',
  'calls exposed',
  'U exposure',
  'U in flight',
];

/** One fault's row of that table; `pct4` formats the unavailability terms (4 decimals). */
export function faultTermCells(
  f: RunPredictions['faults'][number],
  pct4: (value: number) => string,
): string[] {
  return [
    f.fault,
    ms(f.durationMs),
    f.detectedAfterMs === null ? 'not detected' : ms(f.detectedAfterMs),
    pct(f.attemptFailureRate),
    f.rateFrom === 'calibration' ? `calibration (${f.rateSampleCalls} calls)` : 'schedule',
    ms(f.exposureMs),
    pct(f.exposedCallShare),
    pct4(f.exposure),
    pct4(f.inFlight),
  ];
}

/** The predictions of one run: inputs, per-fault terms, each model against the measurement. */
export function renderPredictions(run: string, p: RunPredictions): string {
  const out: string[] = [];
  const i = p.inputs;
  out.push(
    `Predicted availability, ${run}: from the fault schedule, the configuration (n = ${i.retries} retries, m = ${i.replicas} replicas, ` +
      `${pct(i.idempotentShare)} of calls idempotent, concurrency ${i.concurrency}, ${i.healthAware ? 'routes by health' : 'no health'}), ` +
      `detection times from health events, and per-attempt failure rates from ${p.faults.some((f) => f.rateFrom === 'calibration') ? 'the baseline run (calibration)' : 'the schedule'}; ` +
      `background failure rate ${pct4(i.backgroundFailureRate)} (${i.backgroundFrom}).`,
  );
  out.push(
    table(
      FAULT_TERM_HEADERS,
      p.faults.map((f) => faultTermCells(f, pct4)),
      ['l', 'r', 'r', 'r', 'l', 'r', 'r', 'r', 'r'],
    ),
  );
  out.push(
    `  Independent models' inputs: α = ${pct4(i.alpha)} (share of attempts a blind client sends into a fault), β = ${round(i.beta, 3)} (coverage from configuration).`,
  );
  out.push(
    `  Measured: ${pct(p.measured.availability, 3)} of ${p.measured.calls} calls succeeded, 95 % interval ${interval(p.measured.interval)}.`,
  );
  out.push(
    table(
      ['model', 'predicted', 'lands'],
      p.models.map((m) => [
        MODEL_TEXT[m.model],
        pct(m.value, 3),
        m.lands === 'inside' ? 'inside' : `${m.lands} the interval`,
      ]),
      ['l', 'r', 'l'],
    ),
  );
  for (const m of p.models) out.push(`  ${m.model}: ${m.why}.`);
  return out.join('\n');
}

export function renderReport(report: DemoReport): string {
  const out: string[] = [];
  const t = report.totals;
  const b = report.baseline;
  out.push('');
  out.push(
    `resilient-rpc demo — ${report.transport}, ${report.replicas} replicas, concurrency ${report.concurrency}, ` +
      `${report.durationS} s per run, scenario "${report.scenario.name}", seed ${report.seed}, deadline ${report.deadlineMs} ms`,
  );
  out.push('');
  out.push(
    'With recovery (retries + budget, p2c peak-EWMA, heartbeat, stall suspicion, outlier ejection, breaker, hedging):',
  );
  out.push(phaseTable(report.phases));
  if (b !== null) {
    out.push('');
    out.push(
      'Baseline (plain client: round-robin over every replica, dead ones included; one attempt per call; no hedging, rescue or health):',
    );
    out.push(phaseTable(b.phases));
  }
  out.push('');
  out.push('Totals:');
  const totalRows = [
    [
      'with recovery',
      String(t.calls),
      String(t.succeeded),
      String(t.failed),
      String(t.lost),
      pct(t.calls === 0 ? null : t.succeeded / t.calls, 3),
      String(t.retries),
      String(t.failovers),
      String(t.hedges),
      ms(t.p50Ms),
      ms(t.p99Ms),
    ],
  ];
  if (b !== null)
    totalRows.push([
      'baseline',
      String(b.calls),
      String(b.succeeded),
      String(b.failed),
      String(b.lost),
      pct(b.calls === 0 ? null : b.succeeded / b.calls, 3),
      String(b.retries),
      String(b.failovers),
      String(b.hedges),
      ms(b.p50Ms),
      ms(b.p99Ms),
    ]);
  out.push(
    table(
      ['run', 'calls', 'ok', 'failed', 'lost', 'success', 'retries', 'failovers', 'hedges', 'p50', 'p99'],
      totalRows,
      ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );
  const kinds = Object.entries(t.failures)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  if (kinds) out.push(`  with recovery, failed calls by kind: ${kinds}`);
  if (b !== null) {
    const bk = Object.entries(b.failures)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    if (bk) out.push(`  baseline, failed calls by kind: ${bk}`);
  }
  out.push('');
  out.push(
    "Detection (from the fault's injection to the first health event: suspect, down or ejected; healthy again after the fault ended):",
  );
  out.push(
    table(
      ['fault', 'replica', 'detected after', 'by', 'as', 'healthy again after'],
      report.detections.map((d) => [
        d.fault,
        d.replica,
        d.detectedAfterMs === null ? 'not detected' : ms(d.detectedAfterMs),
        d.detectedBy ?? '—',
        d.detectedAs ?? '—',
        d.recoveredAfterMs === null ? '—' : ms(d.recoveredAfterMs),
      ]),
      ['l', 'l', 'r', 'l', 'l', 'r'],
    ),
  );
  for (const d of report.detections) if (d.note) out.push(`  ${d.fault}: ${d.note}.`);
  const lag = report.eventLoopDelayMs.withRecovery;
  out.push(
    `  The client's own event loop was late by up to ${lag.max} ms (p99 ${lag.p99} ms)${lag.max > 250 ? ': a busy machine delays detection' : ''}.`,
  );
  const av = report.availability;
  out.push('');
  out.push('Availability of calls (success ratio, Wilson 95% interval):');
  const avRows = [['with recovery', pct(av.measured, 3), interval(av.interval), String(av.calls)]];
  if (av.baseline !== null && b !== null)
    avRows.push(['baseline', pct(av.baseline.measured, 3), interval(av.baseline.interval), String(b.calls)]);
  avRows.push([
    'per attempt (A1)',
    pct(av.attempts.measured, 3),
    interval(av.attempts.interval),
    String(av.attempts.count),
  ]);
  out.push(table(['measured', 'availability', '95% interval', 'n'], avRows, ['l', 'r', 'l', 'r']));
  const obs = av.observed;
  out.push(
    `  Measured in the recovery run, for reference only (no prediction uses them): α = ${pct(obs.alpha)} of attempts failed, ` +
      `coverage ${obs.coverage === null ? '—' : round(obs.coverage, 3)}, MTBF ${ms(obs.mtbfMs)}, MTTR ${ms(obs.mttrMs)}, mean time to detect ${ms(obs.meanDetectMs)}.`,
  );
  out.push('');
  out.push(renderPredictions('with recovery', av.predictions.withRecovery));
  if (av.predictions.baseline !== null) {
    out.push('');
    out.push(renderPredictions('baseline', av.predictions.baseline));
  }
  out.push('');
  const e = report.executions;
  const inv = report.invariants;
  out.push(
    `Correctness: ${t.lost + (b?.lost ?? 0)} lost calls, ${e.doubleExecutions.length} double executions of ${e.nonIdempotentCalls} ` +
      `non-idempotent calls (${e.executedIds} executed), ${e.succeededNotExecuted.length} successes never executed, ` +
      `${t.wrongResults + (b?.wrongResults ?? 0)} wrong results, ${e.counterMismatches.length} counter mismatches.`,
  );
  if (inv.recoveryAtLeastBaseline !== null && b !== null) {
    const gain = b.calls === 0 || t.calls === 0 ? null : t.succeeded / t.calls - b.succeeded / b.calls;
    out.push(
      `With recovery vs without: ${pct(t.calls === 0 ? null : t.succeeded / t.calls, 3)} vs ${pct(b.calls === 0 ? null : b.succeeded / b.calls, 3)} ` +
        `of calls succeeded (${gain === null ? '—' : `${gain >= 0 ? '+' : ''}${(gain * 100).toFixed(2)} points`}); ` +
        `failed calls ${t.failed} vs ${b.failed}.`,
    );
  }
  out.push(report.ok ? 'RESULT: OK' : 'RESULT: FAILED (a call was lost, executed twice or answered wrongly)');
  out.push('');
  return out.join('\n');
}
