/** What each benchmark returns: a table for people, the figures for JSON, and its targets checked. */
export interface BenchReport {
  readonly name: string;
  /** One line on what was measured and how. */
  readonly method: string;
  readonly columns: readonly string[];
  readonly rows: readonly Record<string, string | number>[];
  /** The raw figures, written to the JSON file. */
  readonly results: Record<string, unknown>;
  readonly targets: readonly TargetCheck[];
}

export interface TargetCheck {
  readonly target: string;
  /** What was measured, in words with numbers ("1.4x the fastest peer (graphile-worker)"). */
  readonly measured: string;
  readonly met: boolean;
}

export interface BenchOptions {
  /** The small version for CI: a few minutes in all. */
  readonly quick: boolean;
}

/** Percentile (0 to 100) of a list of numbers, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export function table(columns: readonly string[], rows: readonly Record<string, string | number>[]): string {
  const cell = (value: string | number | undefined): string =>
    typeof value === 'number'
      ? Number.isInteger(value)
        ? value.toLocaleString('en-US')
        : value.toFixed(2)
      : (value ?? '');
  const widths = columns.map((column) => Math.max(column.length, ...rows.map((row) => cell(row[column]).length)));
  const line = (values: readonly string[]): string =>
    values
      .map((value, i) => value.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map((row) => line(columns.map((column) => cell(row[column])))),
  ].join('\n');
}

/** Resident memory of a process, in MB (Linux /proc). */
export async function rssMb(pid: number): Promise<number> {
  const { readFile } = await import('node:fs/promises');
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}
