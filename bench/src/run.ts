/**
 * One command for every benchmark group: `pnpm bench` (root) or `pnpm start` (bench/).
 *
 *   --quick            a fast pass (shorter runs, fewer repeats)
 *   --only a,b         only these groups (policy, memory, recovery, http, ws, nats)
 *
 * Prints a markdown table per group and writes bench/results.json with the machine and date.
 * A group that is missing or throws is reported as an error row; the others still run.
 */
import { writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type BenchResult = { group: string; name: string; values: Record<string, number | string> };
type GroupRunner = (options: { quick: boolean }) => Promise<BenchResult[]>;

const GROUPS: Record<string, string> = {
  policy: './policy.js',
  memory: './memory.js',
  recovery: './recovery.js',
  http: './http.js',
  ws: './ws.js',
  nats: './nats.js',
  dispatcher: './dispatcher.js',
};

function parseArgs(argv: readonly string[]): { quick: boolean; only: string[] } {
  let quick = false;
  let only = Object.keys(GROUPS);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--quick') quick = true;
    else if (arg === '--only' || arg.startsWith('--only=')) {
      const value = arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (argv[++i] ?? '');
      only = value
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean);
      const unknown = only.filter((name) => !(name in GROUPS));
      if (unknown.length > 0) {
        throw new Error(`unknown group(s) ${unknown.join(', ')}; known: ${Object.keys(GROUPS).join(', ')}`);
      }
    } else if (arg === '--') {
      // pnpm passes a separator through
    } else throw new Error(`unknown argument ${arg} (use --quick, --only group,group)`);
  }
  return { quick, only };
}

function format(value: number | string): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  const abs = Math.abs(value);
  if (abs === 0 || Number.isInteger(value)) return String(value);
  if (abs >= 100) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toFixed(3);
}

/** A markdown table of one group's rows; the columns are the union of the rows' values. */
export function markdownTable(rows: readonly BenchResult[]): string {
  const columns: string[] = [];
  for (const row of rows)
    for (const key of Object.keys(row.values)) if (!columns.includes(key)) columns.push(key);
  const lines = [
    `| name | ${columns.join(' | ')} |`,
    `| --- | ${columns.map(() => '---:').join(' | ')} |`,
    ...rows.map(
      (row) =>
        `| ${row.name} | ${columns.map((column) => (column in row.values ? format(row.values[column]!) : '')).join(' | ')} |`,
    ),
  ];
  return lines.join('\n');
}

function machine() {
  const list = cpus();
  return {
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
  };
}

async function main(): Promise<void> {
  const { quick, only } = parseArgs(process.argv.slice(2));
  if (typeof globalThis.gc !== 'function') {
    console.warn('warning: run with --expose-gc (pnpm bench does) for the allocation figures');
  }
  const started = new Date();
  const host = machine();
  console.log(`# resilient-rpc benchmarks${quick ? ' (quick)' : ''}\n`);
  console.log(
    `${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB, Node ${host.node}, ${host.platform}; ` +
      `load average ${host.loadAverage1m} at start; ${started.toISOString()}\n`,
  );
  const groups: Record<string, { rows: BenchResult[]; error?: string; seconds: number }> = {};
  for (const group of only) {
    const t0 = performance.now();
    let rows: BenchResult[] = [];
    let error: string | undefined;
    try {
      const module = (await import(GROUPS[group]!)) as { run?: GroupRunner };
      if (typeof module.run !== 'function') throw new Error(`${GROUPS[group]} exports no run()`);
      rows = await module.run({ quick });
    } catch (thrown) {
      error = thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown);
    }
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    groups[group] = { rows, seconds, ...(error !== undefined && { error }) };
    console.log(`## ${group} (${seconds} s)\n`);
    if (rows.length > 0) console.log(`${markdownTable(rows)}\n`);
    if (error !== undefined) console.log(`**error**: \`${error.split('\n')[0]}\`\n`);
    globalThis.gc?.();
  }
  const output = join(dirname(fileURLToPath(import.meta.url)), '..', 'results.json');
  writeFileSync(
    output,
    `${JSON.stringify(
      {
        date: started.toISOString(),
        quick,
        machine: { ...host, loadAverage1mAtEnd: Math.round(loadavg()[0]! * 100) / 100 },
        groups,
      },
      null,
      2,
    )}\n`,
  );
  console.log(`results written to ${output}`);
}

await main();
process.exit(0);
