/**
 * `pnpm bench:report`: regenerates the figures in docs/benchmarks.md from the committed records
 * in bench/results/ (written by `pnpm bench`). Only the blocks between generated markers change:
 *
 *   <!-- bench:records:begin --> … <!-- bench:records:end -->          the records in use
 *   <!-- bench:group:<name>:begin --> … <!-- bench:group:<name>:end -->  one group's latest table
 *   <!-- bench:other-groups:begin --> … <!-- bench:other-groups:end -->  groups without a block
 *
 * The output depends on the records alone, so a clean checkout regenerates the page with no
 * difference (`--check` verifies that; `.ci/run` runs it). Each record names the commit it was
 * measured at; the report prints it and says when the code differs from HEAD outside
 * bench/results/ and docs/benchmarks.md (then the figures describe other code).
 *
 *   pnpm bench:report            rewrite docs/benchmarks.md
 *   pnpm bench:report --check    exit 1 if the page is not what the records generate
 *   pnpm bench:report --strict   refuse (exit 1) when a record in use was measured on a dirty
 *                                tree or on code that differs from HEAD: use it when publishing
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BenchResult, markdownTable } from './markdown.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const resultsDir = join(repoRoot, 'bench', 'results');
const docPath = join(repoRoot, 'docs', 'benchmarks.md');
/** What a record's code is compared with HEAD on: everything but the benchmark's own outputs. */
const OUTPUTS = ['bench/results', 'docs/benchmarks.md'];

/** A record as `pnpm bench` writes it. */
export interface BenchRecord {
  version: number;
  date: string;
  finishedAt?: string;
  quick: boolean;
  note?: string;
  command?: string;
  machine: {
    cpu: string;
    cores: number;
    memoryGiB: number;
    node: string;
    platform: string;
    loadAverage: { start: number[]; end: number[] };
  };
  git: { commit: string | null; dirty: boolean; changed: string[] };
  groups: Record<string, { rows: BenchResult[]; error?: string; seconds: number }>;
}

/** The records in bench/results/, oldest first. */
export function readRecords(dir: string = resultsDir): Array<{ file: string; record: BenchRecord }> {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => {
      const record = JSON.parse(readFileSync(join(dir, file), 'utf8')) as BenchRecord;
      if (typeof record.date !== 'string' || typeof record.groups !== 'object' || record.groups === null)
        throw new Error(`bench/results/${file} is not a benchmark record (no date or groups)`);
      return { file, record };
    })
    .sort((a, b) => a.record.date.localeCompare(b.record.date) || a.file.localeCompare(b.file));
}

const short = (commit: string | null) => (commit === null ? 'unknown' : commit.slice(0, 10));

function describe(file: string, record: BenchRecord): string {
  const m = record.machine;
  const parts = [
    `[\`bench/results/${file}\`](../bench/results/${file})`,
    `${record.date.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}`,
    `commit \`${short(record.git.commit)}\`${record.git.dirty ? ` **with ${record.git.changed.length} uncommitted change(s)**` : ''}`,
    `${m.cpu}, ${m.cores} cores, Node ${m.node}`,
    `load average ${m.loadAverage.start[0]} → ${m.loadAverage.end[0]}`,
  ];
  if (record.quick) parts.push('**quick pass** (`--quick`)');
  if (record.note !== undefined) parts.push(`note: ${record.note}`);
  return parts.join(' · ');
}

/** The latest record holding `group`, or undefined. */
function latestFor(
  records: ReadonlyArray<{ file: string; record: BenchRecord }>,
  group: string,
): { file: string; record: BenchRecord } | undefined {
  for (let i = records.length - 1; i >= 0; i--)
    if (records[i]!.record.groups[group] !== undefined) return records[i];
  return undefined;
}

function groupBlock(records: ReadonlyArray<{ file: string; record: BenchRecord }>, group: string): string {
  const found = latestFor(records, group);
  if (found === undefined) return `_No record of \`${group}\` yet: \`pnpm bench --only ${group}\`._`;
  const entry = found.record.groups[group]!;
  const lines = [`From ${describe(found.file, found.record)}; the group took ${entry.seconds} s.`, ''];
  if (entry.rows.length > 0) lines.push(markdownTable(entry.rows), '');
  if (entry.error !== undefined) lines.push(`**error**: \`${entry.error.split('\n')[0]}\``, '');
  return lines.join('\n').trimEnd();
}

function recordsBlock(
  records: ReadonlyArray<{ file: string; record: BenchRecord }>,
  groups: string[],
): string {
  const used = new Map<string, string[]>();
  for (const group of groups) {
    const found = latestFor(records, group);
    if (found !== undefined) used.set(found.file, [...(used.get(found.file) ?? []), group]);
  }
  if (used.size === 0) return '_No records in `bench/results/` yet._';
  const lines = ['| record | groups shown | measured |', '| --- | --- | --- |'];
  for (const { file, record } of records) {
    const shown = used.get(file);
    if (shown === undefined) continue;
    lines.push(
      `| \`${file}\` | ${shown.join(', ')} | ${describe(file, record).split(' · ').slice(1).join(' · ')} |`,
    );
  }
  return lines.join('\n');
}

const BLOCK = /<!-- bench:(records|other-groups|group:([a-z0-9-]+)):begin -->[\s\S]*?<!-- bench:\1:end -->/g;

/** docs/benchmarks.md with its generated blocks filled from `records`. */
export function generate(doc: string, records: ReadonlyArray<{ file: string; record: BenchRecord }>): string {
  const withBlock = new Set<string>();
  for (const match of doc.matchAll(BLOCK)) if (match[2] !== undefined) withBlock.add(match[2]);
  const allGroups = new Set<string>();
  for (const { record } of records) for (const group of Object.keys(record.groups)) allGroups.add(group);
  const others = [...allGroups].filter((group) => !withBlock.has(group)).sort();
  const shown = [...withBlock, ...others];
  return doc.replace(BLOCK, (_whole, name: string, group: string | undefined) => {
    let body: string;
    if (name === 'records') body = recordsBlock(records, shown);
    else if (group !== undefined) body = groupBlock(records, group);
    else
      body =
        others.length === 0
          ? '_None._'
          : others.map((other) => `### \`${other}\`\n\n${groupBlock(records, other)}`).join('\n\n');
    return `<!-- bench:${name}:begin -->\n${body}\n<!-- bench:${name}:end -->`;
  });
}

/** Files that differ between `commit` and the working tree, outside the benchmark's outputs; null if the commit is unknown. */
function codeChangedSince(commit: string): string[] | null {
  try {
    execFileSync('git', ['cat-file', '-e', `${commit}^{commit}`], { cwd: repoRoot, stdio: 'ignore' });
  } catch {
    return null;
  }
  const out = execFileSync(
    'git',
    ['diff', '--name-only', commit, '--', '.', ...OUTPUTS.map((path) => `:(exclude)${path}`)],
    { cwd: repoRoot, encoding: 'utf8' },
  );
  return out.split('\n').filter(Boolean);
}

function main(): void {
  const args = process.argv.slice(2).filter((arg) => arg !== '--');
  const unknown = args.filter((arg) => arg !== '--check' && arg !== '--strict');
  if (unknown.length > 0) throw new Error(`unknown argument ${unknown[0]} (use --check, --strict)`);
  const check = args.includes('--check');
  const strict = args.includes('--strict');
  const records = readRecords();
  const doc = readFileSync(docPath, 'utf8');
  const next = generate(doc, records);

  if (!check) {
    // Which code each record in use measured, against HEAD (a message, not part of the page).
    const groups = new Set<string>();
    for (const match of next.matchAll(BLOCK)) if (match[2] !== undefined) groups.add(match[2]);
    for (const { record } of records) for (const group of Object.keys(record.groups)) groups.add(group);
    const used = new Set([...groups].map((group) => latestFor(records, group)?.file).filter(Boolean));
    let refuse = false;
    for (const { file, record } of records) {
      if (!used.has(file)) continue;
      const commit = record.git.commit;
      const changed = commit === null ? null : codeChangedSince(commit);
      const problems: string[] = [];
      if (record.git.dirty) problems.push(`measured with ${record.git.changed.length} uncommitted change(s)`);
      if (changed === null) problems.push('its commit is not in this repository');
      else if (changed.length > 0)
        problems.push(
          `the code differs from it in ${changed.length} file(s) (${changed.slice(0, 3).join(', ')}${changed.length > 3 ? ', …' : ''})`,
        );
      console.error(
        `bench:report: ${file}: commit ${short(commit)}${problems.length > 0 ? `: ${problems.join('; ')}` : ', the code is unchanged since'}`,
      );
      if (problems.length > 0) refuse = true;
    }
    if (strict && refuse) {
      console.error(
        'bench:report: refusing (--strict): publish figures measured at a clean commit of the code they describe (docs/benchmarks.md, "Publishing")',
      );
      process.exit(1);
    }
  }

  if (check) {
    if (next !== doc) {
      console.error(
        'bench:report: docs/benchmarks.md is not what bench/results/ generates; run `pnpm bench:report` and commit the page',
      );
      process.exit(1);
    }
    console.log(`bench:report: docs/benchmarks.md matches the ${records.length} record(s) in bench/results/`);
    return;
  }
  if (next !== doc) writeFileSync(docPath, next);
  console.log(
    `bench:report: docs/benchmarks.md ${next === doc ? 'already up to date' : 'regenerated'} from ${records.length} record(s)`,
  );
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) main();
