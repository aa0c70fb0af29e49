/** The demo's report: one JSON-safe object, and its rendering as terminal text. */
import type { AvailabilityReport, Prediction } from '@resilient-rpc/core';
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

export interface PredictionSummary {
  value: number;
  withinInterval: boolean;
  comparedWith: 'calls' | 'attempts';
  inputs: Record<string, number>;
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
    detectedBy: 'health' | 'hedge' | 'retry' | null;
    note?: string;
  }>;
  availability: {
    measured: number | null;
    interval: [number, number];
    calls: number;
    attempts: { measured: number | null; interval: [number, number]; count: number };
    inputs: {
      alpha: number | null;
      alphaInterval: [number, number];
      beta: number | null;
      n: number;
      m: number;
      mtbfMs: number | null;
      mttrMs: number | null;
      meanDetectMs: number | null;
    };
    predicted: Record<string, PredictionSummary>;
    baseline: {
      measured: number | null;
      interval: [number, number];
      predicted: Record<string, PredictionSummary>;
    } | null;
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
    /** Every crash and hang was detected by endpoint health within its window. */
    crashesAndHangsDetected: boolean;
    /** Every fault was detected (by health, or by a hedge or retry away from the replica) within its window. */
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

function predictions(report: AvailabilityReport): Record<string, PredictionSummary> {
  const out: Record<string, PredictionSummary> = {};
  for (const [name, prediction] of Object.entries(report.predicted) as Array<[string, Prediction<object>]>) {
    if (prediction === undefined) continue;
    out[name] = {
      value: prediction.value,
      withinInterval: prediction.withinInterval,
      comparedWith: prediction.comparedWith,
      inputs: prediction.inputs as Record<string, number>,
    };
  }
  return out;
}

export interface BuildInput {
  transport: string;
  replicas: number;
  seed: number;
  scenario: Scenario;
  run: RunResult;
  baseline: RunResult | null;
  executions: ExecutionCheck;
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
      inputs: {
        alpha: a.alpha.value,
        alphaInterval: a.alpha.interval,
        beta: a.coverage.value,
        n: run.configuredRetries,
        m: input.replicas,
        mtbfMs: a.mtbfMs,
        mttrMs: a.mttrMs,
        meanDetectMs: a.detection.meanMs,
      },
      predicted: predictions(a),
      baseline:
        baseline === null
          ? null
          : {
              measured: baseline.availability.measured.availability,
              interval: baseline.availability.measured.interval,
              predicted: predictions(baseline.availability),
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

const MODEL_TEXT: Record<string, string> = {
  spo: 'seed SPO       1 − β + β·(1 − α)^n',
  ha: 'seed HA        1 − (1 − A1)^m, A1 = 1 − α',
  retry: 'retry          1 − α·((1 − β) + β·α^n)',
  failover: 'failover       1 − α·((1 − β) + β·α^min(n, m−1))',
  steadyState: 'steady state   MTBF / (MTBF + MTTD + MTTR)',
  steadyStateHa: 'steady × HA    1 − (1 − A_ss)^m',
  kOfN: 'k-of-n',
  commonMode: 'common mode',
};

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
    out.push('Baseline (plain client: no retries, no failover, no health checks, round-robin):');
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
      '0',
      '0',
      '0',
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
    "Detection (from the fault's injection to the client noticing; healthy again after the fault ended):",
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
  const inp = av.inputs;
  out.push('');
  out.push(
    `Predictions from inputs measured in this run: α = ${pct(inp.alpha)} of attempts failed ${interval(inp.alphaInterval)}, ` +
      `β = ${inp.beta === null ? '—' : round(inp.beta, 3)} (share of failed first attempts retried), n = ${inp.n} retries, m = ${inp.m} replicas,`,
  );
  out.push(
    `  MTBF ${ms(inp.mtbfMs)}, MTTR ${ms(inp.mttrMs)}, mean time to detect ${ms(inp.meanDetectMs)} (endpoint health, pooled over replicas).`,
  );
  out.push(
    table(
      ['model', 'predicted', 'vs measured'],
      Object.entries(av.predicted).map(([name, p]) => [
        MODEL_TEXT[name] ?? name,
        pct(p.value, 3),
        `${p.withinInterval ? 'inside' : 'outside'} the ${p.comparedWith === 'calls' ? 'call' : 'attempt'} interval`,
      ]),
      ['l', 'r', 'l'],
    ),
  );
  out.push(
    '  (The seed SPO falls as n grows and the fault model assumes independent attempts; a crash or hang is',
  );
  out.push(
    '   correlated in time, which is why measured call availability can beat or miss the independent models.)',
  );
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
