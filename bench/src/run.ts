/**
 * One command for every benchmark group: `pnpm bench` (root) or `pnpm start` (bench/).
 *
 *   --quick            a fast pass (shorter runs, fewer repeats)
 *   --only a,b         only these groups (see GROUPS)
 *   --note "text"      a note kept in the record (e.g. "short run, loaded machine")
 *
 * Prints a markdown table per group and writes a dated record under bench/results/ (the
 * machine, the load average at start and end, the commit and whether the working tree was
 * dirty, every group's rows and every repeat the group reports). Records are committed;
 * `pnpm bench:report` regenerates docs/benchmarks.md from them. A group that is missing or
 * throws is recorded as an error; the others still run.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measuredSamples } from './fixtures/stats.js';
import { type BenchResult, markdownTable } from './markdown.js';

export { type BenchResult, markdownTable } from './markdown.js';

type GroupRunner = (options: { quick: boolean }) => Promise<BenchResult[]>;

/** The groups, in the order they run: name → module. One line per group. */
const GROUPS: Record<string, string> = {
  policy: './policy.js',
  memory: './memory.js',
  recovery: './recovery.js',
  http: './http.js',
  ws: './ws.js',
  nats: './nats.js',
  dispatcher: './dispatcher.js',
  listeners: './listeners.js',
  'nats-scale': './nats-scale.js',
  hostile: './hostile.js',
  otel: './otel.js',
};

/** Paths a benchmark run may leave changed without making its record "dirty": the records and the generated doc. */
export const BENCH_OUTPUT_PATHS = ['bench/results/', 'docs/benchmarks.md'] as const;

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

function parseArgs(argv: readonly string[]): { quick: boolean; only: string[]; note: string | undefined } {
  let quick = false;
  let note: string | undefined;
  let only = Object.keys(GROUPS);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => (arg.includes('=') ? arg.slice(arg.indexOf('=') + 1) : (argv[++i] ?? ''));
    if (arg === '--quick') quick = true;
    else if (arg === '--note' || arg.startsWith('--note=')) note = value();
    else if (arg === '--only' || arg.startsWith('--only=')) {
      only = value()
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean);
      const unknown = only.filter((name) => !(name in GROUPS));
      if (unknown.length > 0) {
        throw new Error(`unknown group(s) ${unknown.join(', ')}; known: ${Object.keys(GROUPS).join(', ')}`);
      }
    } else if (arg === '--') {
      // pnpm passes a separator through
    } else throw new Error(`unknown argument ${arg} (use --quick, --only group,group, --note text)`);
  }
  return { quick, only, note };
}

const load = () => loadavg().map((value) => Math.round(value * 100) / 100);

function machine() {
  const list = cpus();
  return {
    cpu: list[0]?.model ?? 'unknown',
    cores: list.length,
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** The commit the code was at, and the files that differed from it (outside the benchmark's own outputs). */
export function gitState(root: string = repoRoot): {
  commit: string | null;
  dirty: boolean;
  changed: string[];
} {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
    const status = execFileSync('git', ['status', '--porcelain', '--untracked-files=all'], {
      cwd: root,
      encoding: 'utf8',
    });
    const changed = status
      .split('\n')
      .filter((line) => line.length > 3)
      .map((line) => line.slice(3).replace(/^.* -> /, ''))
      .filter((path) => !BENCH_OUTPUT_PATHS.some((output) => path === output || path.startsWith(output)));
    return { commit, dirty: changed.length > 0, changed };
  } catch {
    return { commit: null, dirty: true, changed: ['(not a git checkout)'] };
  }
}

async function main(): Promise<void> {
  const { quick, only, note } = parseArgs(process.argv.slice(2));
  if (typeof globalThis.gc !== 'function') {
    console.warn('warning: run with --expose-gc (pnpm bench does) for the allocation figures');
  }
  const started = new Date();
  const host = machine();
  const loadAtStart = load();
  const git = gitState();
  console.log(`# resilient-rpc benchmarks${quick ? ' (quick)' : ''}\n`);
  console.log(
    `${host.cpu}, ${host.cores} cores, ${host.memoryGiB} GiB, Node ${host.node}, ${host.platform}; ` +
      `load average ${loadAtStart.join(' ')} at start; ${started.toISOString()}; ` +
      `commit ${git.commit ?? 'unknown'}${git.dirty ? ` with ${git.changed.length} changed file(s): the record will say so` : ''}\n`,
  );
  const groups: Record<
    string,
    { rows: BenchResult[]; error?: string; seconds: number; samples?: typeof measuredSamples }
  > = {};
  for (const group of only) {
    const t0 = performance.now();
    let rows: BenchResult[] = [];
    let error: string | undefined;
    measuredSamples.length = 0;
    try {
      const module = (await import(GROUPS[group]!)) as { run?: GroupRunner };
      if (typeof module.run !== 'function') throw new Error(`${GROUPS[group]} exports no run()`);
      rows = await module.run({ quick });
    } catch (thrown) {
      error = thrown instanceof Error ? (thrown.stack ?? thrown.message) : String(thrown);
    }
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    // Every closed-loop measurement the group made: its repeats, beside the medians in `rows`.
    const samples = measuredSamples.splice(0);
    groups[group] = {
      rows,
      seconds,
      ...(samples.length > 0 && { samples }),
      ...(error !== undefined && { error }),
    };
    console.log(`## ${group} (${seconds} s)\n`);
    if (rows.length > 0) console.log(`${markdownTable(rows)}\n`);
    if (error !== undefined) console.log(`**error**: \`${error.split('\n')[0]}\`\n`);
    globalThis.gc?.();
  }
  const finished = new Date();
  const record = {
    version: 1,
    date: started.toISOString(),
    finishedAt: finished.toISOString(),
    quick,
    ...(note !== undefined && { note }),
    command: ['pnpm bench', ...process.argv.slice(2).filter((arg) => arg !== '--')].join(' '),
    env: Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('BENCH_'))),
    machine: { ...host, loadAverage: { start: loadAtStart, end: load() } },
    git,
    groups,
  };
  const dir = join(repoRoot, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
  console.log(
    `record written to ${relative(repoRoot, file)}; regenerate docs/benchmarks.md with \`pnpm bench:report\``,
  );
}

// Imported for its helpers (bench:report), it does not run the benchmarks.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await main();
  process.exit(0);
}
