/**
 * Generates the tables and the worked example of docs/availability.md from the models, so the
 * figures in the doc are computed, never typed. From the repository root:
 *
 *     node --import tsx packages/core/scripts/availability-table.ts           # print
 *     node --import tsx packages/core/scripts/availability-table.ts --write   # update the doc
 *
 * `--write` replaces the text between `<!-- generated:NAME:begin -->` and
 * `<!-- generated:NAME:end -->` markers in docs/availability.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  commonModeUnavailability,
  failoverUnavailability,
  haUnavailability,
  ninesFromUnavailability,
  retryUnavailability,
  spoUnavailability,
  steadyStateUnavailability,
} from '../src/availability/index.js';

const ALPHAS = [0.01, 0.05, 0.1, 0.2];
const REPLICAS = [1, 2, 3, 4, 5];
const RETRIES = [0, 1, 2, 3];

/** An availability given by its unavailability u, as a percentage with as many digits as it has nines. */
function percent(u: number): string {
  if (u === 0) return '100 %';
  const nines = ninesFromUnavailability(u);
  const decimals = Math.max(2, Math.ceil(nines - 1e-9) - 1);
  if (decimals > 12) return `1 − ${u.toExponential(1)}`;
  return `${((1 - u) * 100).toFixed(decimals)} %`;
}

const pct = (x: number) => `${+(x * 100).toFixed(2)} %`;

/** A Markdown table, columns padded the way the repository's formatter (Biome) lays them out. */
function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) =>
    Math.max(3, cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join('\n');
}

function failoverTable(beta: number): string {
  const rows: string[][] = [];
  for (const alpha of ALPHAS) {
    for (const m of REPLICAS) {
      rows.push([
        pct(alpha),
        String(m),
        ...RETRIES.map((n) => percent(failoverUnavailability({ alpha, beta, n, m }))),
      ]);
    }
  }
  return table(['α', 'm', ...RETRIES.map((n) => `n = ${n}`)], rows);
}

function seedTables(): string {
  const spoRows = ALPHAS.map((alpha) => [
    pct(alpha),
    ...RETRIES.map((n) => percent(spoUnavailability({ alpha, beta: 1, n }))),
    ...RETRIES.map((n) => percent(retryUnavailability({ alpha, beta: 1, n }))),
  ]);
  const spo = table(
    ['α', ...RETRIES.map((n) => `SPO n = ${n}`), ...RETRIES.map((n) => `retry n = ${n}`)],
    spoRows,
  );
  const haRows = ALPHAS.map((alpha) => [
    pct(1 - alpha),
    ...REPLICAS.map((m) => percent(haUnavailability({ a1: 1 - alpha, m }))),
  ]);
  const ha = table(['A1', ...REPLICAS.map((m) => `m = ${m}`)], haRows);
  const cmRows = ALPHAS.map((alpha) => [
    pct(1 - alpha),
    ...REPLICAS.map((m) => percent(commonModeUnavailability({ a1: 1 - alpha, m, commonModeFactor: 0.05 }))),
    percent(0.05 * alpha),
  ]);
  const cm = table(['A1', ...REPLICAS.map((m) => `m = ${m}`), 'cap 1 − β_c·(1 − A1)'], cmRows);
  return [
    '**Seed SPO (β = 1) against the retry model (β = 1), one endpoint.** Same α, same n:',
    '',
    spo,
    '',
    '**Seed HA, A1 = 1 − α.** (Equal to the failover table with β = 1 and n ≥ m − 1.)',
    '',
    ha,
    '',
    "**Common mode, β_c = 5 %.** The same instances when 5 % of each one's downtime is shared:",
    '',
    cm,
  ].join('\n');
}

function example(): string {
  const mtbfMs = 7 * 24 * 3600 * 1000;
  const detectMs = 5000;
  const repairMs = 60_000;
  const u1 = steadyStateUnavailability({ mtbfMs, detectMs, repairMs });
  const a1 = 1 - u1;
  const m = 3;
  const uHa = haUnavailability({ a1, m });
  const uCm = commonModeUnavailability({ a1, m, commonModeFactor: 0.05 });
  const uFo = failoverUnavailability({ alpha: u1, beta: 1, n: 2, m });
  const uFo95 = failoverUnavailability({ alpha: u1, beta: 0.95, n: 2, m });
  const uNoDetect = steadyStateUnavailability({ mtbfMs, detectMs: 30_000, repairMs });
  const minutesPerYear = 365.25 * 24 * 60;
  const downtime = (u: number) => {
    const minutes = u * minutesPerYear;
    if (minutes >= 1) return `${minutes.toFixed(1)} min/year`;
    if (minutes * 60 >= 1) return `${(minutes * 60).toFixed(1)} s/year`;
    return `${(minutes * 60_000).toPrecision(2)} ms/year`;
  };
  const row = (what: string, call: string, u: number) => [
    what,
    call,
    percent(u),
    ninesFromUnavailability(u).toFixed(1),
    downtime(u),
  ];
  return table(
    ['step', 'model', 'availability', 'nines', 'downtime'],
    [
      row('one replica, detect 5 s', 'steadyState({ mtbfMs: 7 d, detectMs: 5 000, repairMs: 60 000 })', u1),
      row(
        'one replica, detect 30 s',
        'steadyState({ mtbfMs: 7 d, detectMs: 30 000, repairMs: 60 000 })',
        uNoDetect,
      ),
      row('3 replicas, independent', 'ha({ a1, m: 3 })', uHa),
      row('3 replicas, 2 retries, β = 1', 'failover({ alpha: 1 − a1, beta: 1, n: 2, m: 3 })', uFo),
      row('3 replicas, 2 retries, β = 0.95', 'failover({ alpha: 1 − a1, beta: 0.95, n: 2, m: 3 })', uFo95),
      row('3 replicas, β_c = 5 %', 'commonMode({ a1, m: 3, commonModeFactor: 0.05 })', uCm),
    ],
  );
}

const blocks: Record<string, string> = {
  'failover-table': failoverTable(1),
  'failover-table-90': failoverTable(0.9),
  'seed-tables': seedTables(),
  example: example(),
};

if (process.argv.includes('--write')) {
  const here = dirname(fileURLToPath(import.meta.url));
  const docPath = resolve(here, '../../../docs/availability.md');
  let doc = readFileSync(docPath, 'utf8');
  for (const [name, text] of Object.entries(blocks)) {
    const begin = `<!-- generated:${name}:begin -->`;
    const end = `<!-- generated:${name}:end -->`;
    const from = doc.indexOf(begin);
    const to = doc.indexOf(end);
    if (from < 0 || to < from) throw new Error(`docs/availability.md has no ${begin} … ${end} block`);
    doc = `${doc.slice(0, from + begin.length)}\n${text}\n${doc.slice(to)}`;
  }
  writeFileSync(docPath, doc);
  console.log(`updated ${docPath}`);
} else {
  for (const [name, text] of Object.entries(blocks)) console.log(`## ${name}\n\n${text}\n`);
}
