import { pressureStopLabel } from '../engine/policies/pressureStop.js';

/** Formatting for people: aligned tables and short times. Scripts use `--json` instead. */
export function table(rows: readonly Record<string, unknown>[], columns: readonly string[]): string {
  if (rows.length === 0) return '(none)';
  const cells = rows.map((row) => columns.map((column) => cell(row[column])));
  const widths = columns.map((column, index) => Math.max(column.length, ...cells.map((line) => line[index]!.length)));
  const line = (values: readonly string[]): string =>
    values
      .map((value, index) => value.padEnd(widths[index]!))
      .join('  ')
      .trimEnd();
  return [line(columns.map((column) => column.toUpperCase())), ...cells.map(line)].join('\n');
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return '-';
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** A wall-clock time as local `YYYY-MM-DD HH:MM:SS`, or '-' . */
export function time(ms: unknown): string {
  if (typeof ms !== 'number') return '-';
  const date = new Date(ms);
  const pad = (value: number): string => String(value).padStart(2, '0');
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

/** A duration between two times, like `1.2s`, or '-' when either is missing. */
export function duration(from: unknown, to: unknown): string {
  if (typeof from !== 'number' || typeof to !== 'number') return '-';
  const ms = to - from;
  return ms < 1000 ? `${ms}ms` : ms < 60_000 ? `${(ms / 1000).toFixed(1)}s` : `${(ms / 60_000).toFixed(1)}m`;
}

/** A result as `key: value` lines, objects as JSON: for the commands that answer with a few fields. */
export function keyValueLines(data: object): string {
  return Object.entries(data)
    .map(([key, value]) => `${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`)
    .join('\n');
}

/** "stopped: the machine needed its CPU" for a run pressure stopped (it is not "expired": it runs again). */
export function stoppedForPressure(run: {
  readonly outcome?: unknown;
  readonly expirationReason?: unknown;
}): string | null {
  const { outcome, expirationReason } = run;
  return typeof outcome === 'string' && outcome !== 'success' && typeof expirationReason === 'string'
    ? pressureStopLabel(expirationReason)
    : null;
}

/** A payload or result in a table cell: its JSON, cut short (`--json` has it whole). */
export function shortJson(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}
