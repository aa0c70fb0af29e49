/** The self-contained HTML report: SVG timelines (success rate, latency, endpoint states, faults) and the tables. */
import type { RunPredictions } from './prediction.js';
import { type DemoReport, FAULT_TERM_HEADERS, faultTermCells, MODEL_TEXT } from './report.js';
import { ms, pct, round } from './stats.js';

const esc = (value: unknown): string => String(value).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const STATE_FILL: Record<string, string> = {
  healthy: '#2e9e5b',
  probing: '#3aa6c9',
  suspect: '#e0a526',
  down: '#d64541',
  ejected: '#8e44ad',
};
const FAULT_FILL: Record<string, string> = {
  crash: '#d64541',
  hang: '#e0a526',
  flaky: '#8e44ad',
  slow: '#3a7bd5',
};

interface Frame {
  width: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
  height: number;
  spanMs: number;
}

const x = (f: Frame, t: number) => f.left + (Math.min(t, f.spanMs) / f.spanMs) * (f.width - f.left - f.right);

function faultBands(report: DemoReport, f: Frame, withLabels: boolean): string {
  return report.faults
    .map((fault, i) => {
      const x0 = x(f, fault.injectedAtMs ?? fault.startMs);
      const x1 = x(f, fault.clearedAtMs ?? fault.endMs);
      const fill = FAULT_FILL[fault.type] ?? '#999';
      const label = withLabels
        ? `<text x="${(x0 + 3).toFixed(1)}" y="${f.top + 11 + (i % 2) * 12}" class="flabel" fill="${fill}">${esc(fault.label)}</text>`
        : '';
      return (
        `<rect class="fault" data-fault="${esc(fault.label)}" x="${x0.toFixed(1)}" y="${f.top}" width="${Math.max(1, x1 - x0).toFixed(1)}" ` +
        `height="${f.height - f.top - f.bottom}" fill="${fill}" fill-opacity="0.12"/>` +
        `<line x1="${x0.toFixed(1)}" x2="${x0.toFixed(1)}" y1="${f.top}" y2="${f.height - f.bottom}" stroke="${fill}" stroke-dasharray="4 3"/>` +
        label
      );
    })
    .join('');
}

function timeAxis(f: Frame): string {
  const ticks: string[] = [];
  const stepS = f.spanMs > 20_000 ? 5 : f.spanMs > 8_000 ? 2 : 1;
  for (let s = 0; s * 1000 <= f.spanMs; s += stepS) {
    const px = x(f, s * 1000);
    ticks.push(
      `<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${f.height - f.bottom}" y2="${f.height - f.bottom + 4}" stroke="#666"/>` +
        `<text x="${px.toFixed(1)}" y="${f.height - f.bottom + 16}" text-anchor="middle" class="tick">${s}s</text>`,
    );
  }
  return ticks.join('');
}

function polyline(points: Array<[number, number] | null>, stroke: string, cls: string, dash = ''): string {
  const segments: string[] = [];
  let current: string[] = [];
  for (const point of points) {
    if (point === null) {
      if (current.length > 0) segments.push(current.join(' '));
      current = [];
    } else current.push(`${point[0].toFixed(1)},${point[1].toFixed(1)}`);
  }
  if (current.length > 0) segments.push(current.join(' '));
  return segments
    .map(
      (pts) =>
        `<polyline class="${cls}" points="${pts}" fill="none" stroke="${stroke}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
    )
    .join('');
}

function successChart(report: DemoReport): string {
  const f: Frame = {
    width: 960,
    height: 260,
    left: 52,
    right: 16,
    top: 28,
    bottom: 28,
    spanMs: report.durationS * 1000,
  };
  const plotH = f.height - f.top - f.bottom;
  const y = (share: number) => f.top + (1 - share) * plotH;
  const line = (series: DemoReport['timeline']['run'] | null) =>
    (series ?? []).map((b) =>
      b.calls === 0 || b.tMs > f.spanMs
        ? null
        : ([x(f, b.tMs + report.timeline.bucketMs / 2), y(b.succeeded / b.calls)] as [number, number]),
    );
  const grid = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (v) =>
        `<line x1="${f.left}" x2="${f.width - f.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>` +
        `<text x="${f.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${v * 100}%</text>`,
    )
    .join('');
  return (
    `<svg id="chart-success" class="chart" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="success rate over time">` +
    `<text x="${f.left}" y="16" class="ctitle">Success rate of calls over time (per ${report.timeline.bucketMs} ms)</text>` +
    grid +
    faultBands(report, f, true) +
    timeAxis(f) +
    polyline(line(report.timeline.baseline), '#9a9a9a', 'series-baseline', '5 4') +
    polyline(line(report.timeline.run), '#1f7a46', 'series-recovery') +
    `<g class="legend"><line x1="${f.width - 250}" x2="${f.width - 226}" y1="16" y2="16" stroke="#1f7a46" stroke-width="2"/>` +
    `<text x="${f.width - 222}" y="20" class="tick">with recovery</text>` +
    `<line x1="${f.width - 130}" x2="${f.width - 106}" y1="16" y2="16" stroke="#9a9a9a" stroke-width="2" stroke-dasharray="5 4"/>` +
    `<text x="${f.width - 102}" y="20" class="tick">baseline</text></g>` +
    '</svg>'
  );
}

function latencyChart(report: DemoReport): string {
  const f: Frame = {
    width: 960,
    height: 240,
    left: 52,
    right: 16,
    top: 28,
    bottom: 28,
    spanMs: report.durationS * 1000,
  };
  const plotH = f.height - f.top - f.bottom;
  const all = [...report.timeline.run, ...(report.timeline.baseline ?? [])]
    .map((b) => b.p99Ms)
    .filter((v): v is number => v !== null);
  const maxMs = Math.max(10, ...all);
  const logMax = Math.log10(maxMs * 1.2);
  const y = (v: number) => f.top + (1 - Math.log10(Math.max(1, v)) / logMax) * plotH;
  const line = (series: DemoReport['timeline']['run'] | null, key: 'p50Ms' | 'p99Ms') =>
    (series ?? []).map((b) => {
      const v = b[key];
      return v === null || b.tMs > f.spanMs
        ? null
        : ([x(f, b.tMs + report.timeline.bucketMs / 2), y(v)] as [number, number]);
    });
  const grid = [1, 10, 100, 1000, 10000]
    .filter((v) => v <= maxMs * 1.2)
    .map(
      (v) =>
        `<line x1="${f.left}" x2="${f.width - f.right}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>` +
        `<text x="${f.left - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end" class="tick">${ms(v)}</text>`,
    )
    .join('');
  return (
    `<svg id="chart-latency" class="chart" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="latency over time">` +
    `<text x="${f.left}" y="16" class="ctitle">Call latency over time, p50 and p99 (log scale)</text>` +
    grid +
    faultBands(report, f, false) +
    timeAxis(f) +
    polyline(line(report.timeline.baseline, 'p99Ms'), '#c0c0c0', 'series-baseline-p99', '5 4') +
    polyline(line(report.timeline.run, 'p99Ms'), '#d98c1f', 'series-recovery-p99') +
    polyline(line(report.timeline.run, 'p50Ms'), '#1f5fa8', 'series-recovery-p50') +
    `<g class="legend"><text x="${f.width - 330}" y="20" class="tick"><tspan fill="#1f5fa8">━ p50 with recovery</tspan>  <tspan fill="#d98c1f">━ p99 with recovery</tspan>  <tspan fill="#999">┅ p99 baseline</tspan></text></g>` +
    '</svg>'
  );
}

function statesChart(report: DemoReport): string {
  const names = Array.from({ length: report.replicas }, (_, i) => `r${i}`);
  const rowH = 22;
  const f: Frame = {
    width: 960,
    height: 40 + names.length * (rowH + 6) + 28,
    left: 52,
    right: 16,
    top: 28,
    bottom: 28,
    spanMs: report.durationS * 1000,
  };
  const rows = names
    .map((name, row) => {
      const yTop = f.top + 8 + row * (rowH + 6);
      const changes = report.timeline.states.filter((s) => s.replica === name);
      let state = 'healthy';
      let since = 0;
      const rects: string[] = [];
      const push = (until: number) => {
        const x0 = x(f, since);
        const x1 = x(f, until);
        if (x1 - x0 <= 0) return;
        rects.push(
          `<rect class="state state-${state}" x="${x0.toFixed(1)}" y="${yTop}" width="${(x1 - x0).toFixed(1)}" height="${rowH}" fill="${STATE_FILL[state] ?? '#999'}"><title>${esc(name)} ${esc(state)} from ${round(since / 1000, 2)} s</title></rect>`,
        );
      };
      for (const change of changes) {
        push(change.tMs);
        state = change.to;
        since = Math.max(0, change.tMs);
      }
      push(f.spanMs);
      return `<text x="${f.left - 6}" y="${yTop + 15}" text-anchor="end" class="tick">${name}</text>${rects.join('')}`;
    })
    .join('');
  const legend = Object.entries(STATE_FILL)
    .map(
      ([state, fill], i) =>
        `<rect x="${f.width - 420 + i * 82}" y="8" width="12" height="12" fill="${fill}"/><text x="${f.width - 404 + i * 82}" y="18" class="tick">${state}</text>`,
    )
    .join('');
  return (
    `<svg id="chart-states" class="chart" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="endpoint states over time">` +
    `<text x="${f.left}" y="16" class="ctitle">Endpoint health as the client saw it (with recovery)</text>${legend}` +
    rows +
    faultBands(report, f, false) +
    timeAxis(f) +
    '</svg>'
  );
}

function htmlTable(id: string, headers: string[], rows: Array<Array<string | number>>): string {
  return (
    `<table id="${id}"><thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>` +
    rows.map((row) => `<tr>${row.map((cell) => `<td>${esc(cell)}</td>`).join('')}</tr>`).join('') +
    '</tbody></table>'
  );
}

function phaseTable(id: string, rows: DemoReport['phases']): string {
  return htmlTable(
    id,
    ['phase', 'window', 'calls', 'ok', 'failed', 'success', 'retries', 'failovers', 'hedges', 'p50', 'p99'],
    rows.map((p) => [
      p.name,
      `${(p.startMs / 1000).toFixed(1)}–${(p.endMs / 1000).toFixed(1)} s`,
      p.calls,
      p.succeeded,
      p.failed,
      pct(p.calls === 0 ? null : p.succeeded / p.calls),
      p.retries,
      p.failovers,
      p.hedges,
      ms(p.p50Ms),
      ms(p.p99Ms),
    ]),
  );
}

const pct4 = (value: number) => `${(value * 100).toFixed(4)}%`;

function predictionTables(run: string, id: string, p: RunPredictions): string {
  const i = p.inputs;
  const interval = (x: [number, number]) => `[${pct(x[0])}, ${pct(x[1])}]`;
  return `<h3>${esc(run)}</h3>
<p class="meta">n = ${i.retries} retries · m = ${i.replicas} replicas · ${pct(i.idempotentShare)} of calls idempotent · concurrency ${i.concurrency} ·
${i.healthAware ? 'routes by health' : 'no health'} · background failure rate ${pct4(i.backgroundFailureRate)} (${i.backgroundFrom}) ·
α = ${pct4(i.alpha)} · β = ${round(i.beta, 3)} · measured ${pct(p.measured.availability, 3)} of ${p.measured.calls} calls, 95% interval ${interval(p.measured.interval)}</p>
${htmlTable(
  `${id}-faults`,
  FAULT_TERM_HEADERS,
  p.faults.map((f) => faultTermCells(f, pct4)),
)}
${htmlTable(
  id,
  ['model', 'predicted', 'lands', 'why'],
  p.models.map((m) => [MODEL_TEXT[m.model], pct(m.value, 3), m.lands, m.why]),
)}`;
}

export function renderHtml(report: DemoReport): string {
  const t = report.totals;
  const b = report.baseline;
  const av = report.availability;
  const interval = (i: [number, number]) => `[${pct(i[0])}, ${pct(i[1])}]`;
  const totals: Array<Array<string | number>> = [
    [
      'with recovery',
      t.calls,
      t.succeeded,
      t.failed,
      t.lost,
      pct(t.calls ? t.succeeded / t.calls : null, 3),
      t.retries,
      t.failovers,
      t.hedges,
      ms(t.p50Ms),
      ms(t.p99Ms),
    ],
  ];
  if (b)
    totals.push([
      'baseline',
      b.calls,
      b.succeeded,
      b.failed,
      b.lost,
      pct(b.calls ? b.succeeded / b.calls : null, 3),
      b.retries,
      b.failovers,
      b.hedges,
      ms(b.p50Ms),
      ms(b.p99Ms),
    ]);
  const measured: Array<Array<string | number>> = [
    ['with recovery (calls)', pct(av.measured, 3), interval(av.interval), av.calls],
  ];
  if (av.baseline && b)
    measured.push([
      'baseline (calls)',
      pct(av.baseline.measured, 3),
      interval(av.baseline.interval),
      b.calls,
    ]);
  measured.push([
    'per attempt (A1)',
    pct(av.attempts.measured, 3),
    interval(av.attempts.interval),
    av.attempts.count,
  ]);
  const e = report.executions;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>resilient-rpc demo report — ${esc(report.transport)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1000px;color:#222;padding:0 12px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#555}.ok{color:#1f7a46;font-weight:600}.bad{color:#c0392b;font-weight:600}
table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums}
th,td{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}th{background:#f6f6f6}
th:first-child,td:first-child{text-align:left}
.chart{display:block;max-width:100%;height:auto;margin:8px 0;background:#fff;border:1px solid #eee}
.tick{font-size:11px;fill:#555}.ctitle{font-size:13px;font-weight:600;fill:#222}.flabel{font-size:11px;font-weight:600}
</style></head><body>
<h1>resilient-rpc demo report</h1>
<p class="meta">${esc(report.transport)} · ${report.replicas} replicas · concurrency ${report.concurrency} · ${report.durationS} s per run ·
scenario “${esc(report.scenario.name)}” · seed ${report.seed} · deadline ${report.deadlineMs} ms</p>
<p id="verdict" class="${report.ok ? 'ok' : 'bad'}">${report.ok ? 'OK — no lost call, no double execution, no wrong result' : 'FAILED — a call was lost, executed twice or answered wrongly'}</p>
${report.scenario.description ? `<p>${esc(report.scenario.description)}</p>` : ''}
<h2>Timeline</h2>
${successChart(report)}
${latencyChart(report)}
${statesChart(report)}
<h2>Totals</h2>
${htmlTable('table-totals', ['run', 'calls', 'ok', 'failed', 'lost', 'success', 'retries', 'failovers', 'hedges', 'p50', 'p99'], totals)}
<h2>Phases, with recovery</h2>
${phaseTable('table-phases', report.phases)}
${b ? `<h2>Phases, baseline (plain client)</h2>${phaseTable('table-baseline-phases', b.phases)}` : ''}
<h2>Detection</h2>
${htmlTable(
  'table-detections',
  ['fault', 'replica', 'detected after', 'by', 'as', 'healthy again after the fault ended'],
  report.detections.map((d) => [
    d.fault,
    d.replica,
    d.detectedAfterMs === null ? 'not detected' : ms(d.detectedAfterMs),
    d.detectedBy ?? '—',
    d.detectedAs ?? '—',
    d.recoveredAfterMs === null ? '—' : ms(d.recoveredAfterMs),
  ]),
)}
${report.detections
  .filter((d) => d.note)
  .map((d) => `<p class="meta">${esc(d.fault)}: ${esc(d.note)}.</p>`)
  .join('')}
<h2>Availability: measured</h2>
${htmlTable('table-availability', ['measured', 'availability', '95% Wilson interval', 'n'], measured)}
<h2>Availability: predicted from the schedule, the configuration, health events and calibration</h2>
<p class="meta">Measured in the recovery run, for reference only (no prediction uses them): α = ${pct(av.observed.alpha)} of attempts failed ·
coverage ${av.observed.coverage === null ? '—' : round(av.observed.coverage, 3)} · MTBF ${ms(av.observed.mtbfMs)} · MTTR ${ms(av.observed.mttrMs)} · mean time to detect ${ms(av.observed.meanDetectMs)}</p>
${predictionTables('with recovery', 'table-predictions', av.predictions.withRecovery)}
${av.predictions.baseline ? predictionTables('baseline', 'table-baseline-predictions', av.predictions.baseline) : ''}
<h2>Correctness</h2>
${htmlTable(
  'table-correctness',
  ['check', 'value'],
  [
    ['lost calls (neither succeeded nor failed with a typed error)', t.lost + (b?.lost ?? 0)],
    ['non-idempotent calls made', e.nonIdempotentCalls],
    ['distinct ids executed', e.executedIds],
    ['double executions', e.doubleExecutions.length],
    ['successes never executed', e.succeededNotExecuted.length],
    ['wrong results', t.wrongResults + (b?.wrongResults ?? 0)],
    ['replica counter mismatches', e.counterMismatches.length],
  ],
)}
</body></html>
`;
}
