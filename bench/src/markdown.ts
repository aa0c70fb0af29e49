/** Markdown tables of benchmark rows, shared by `pnpm bench` (run.ts) and `pnpm bench:report` (report.ts). */

/** One row of a benchmark group: medians (or sums) in `values`, every run in `repeats` when the group keeps them. */
export type BenchResult = {
  group: string;
  name: string;
  values: Record<string, number | string>;
  /** Every run's own figures, when the group reports them. */
  repeats?: Array<Record<string, number | string | null>>;
};

/** A figure as printed: integers as they are, others to three significant digits or so. */
export function formatValue(value: number | string): string {
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
  const cell = (text: string) => text.split('|').join('\\|');
  const lines = [
    `| name | ${columns.map(cell).join(' | ')} |`,
    `| --- | ${columns.map(() => '---:').join(' | ')} |`,
    ...rows.map(
      (row) =>
        `| ${cell(row.name)} | ${columns.map((column) => (column in row.values ? cell(formatValue(row.values[column]!)) : '')).join(' | ')} |`,
    ),
  ];
  return lines.join('\n');
}
