import { CHECK_GROUPS, type Check, type CheckGroup, type CheckStatus } from './checks.js';

export interface DoctorSummary {
  readonly ok: number;
  readonly warn: number;
  readonly fail: number;
  /** The worst status found: the command exits 1 when it is `fail`. */
  readonly status: CheckStatus;
}

/** What `bgtasks doctor --json` prints. */
export interface DoctorReport {
  readonly home: string;
  readonly checks: readonly Check[];
  readonly summary: DoctorSummary;
}

const GROUP_TITLES: Record<CheckGroup, string> = {
  config: 'Configuration',
  daemon: 'Daemon',
  permissions: 'Permissions',
  store: 'Store',
  sensors: 'Sensors',
  apps: 'Apps',
};

export function summarize(checks: readonly Check[]): DoctorSummary {
  const count = (status: CheckStatus): number => checks.filter((check) => check.status === status).length;
  const summary = { ok: count('ok'), warn: count('warn'), fail: count('fail') };
  return { ...summary, status: summary.fail > 0 ? 'fail' : summary.warn > 0 ? 'warn' : 'ok' };
}

/** The report for people: by group, one line per check, a `fix:` under each warning and failure. */
export function renderReport(report: DoctorReport): string {
  const lines = [`bgtasks doctor: home ${report.home}`];
  for (const group of CHECK_GROUPS) {
    const checks = report.checks.filter((check) => check.group === group);
    if (checks.length === 0) continue;
    lines.push('', GROUP_TITLES[group]);
    for (const check of checks) {
      lines.push(`  ${check.status.padEnd(4)}  ${check.detail}`);
      if (check.fix && check.status !== 'ok') lines.push(`        fix: ${check.fix}`);
    }
  }
  const { summary } = report;
  lines.push(
    '',
    `${summary.ok} ok, ${summary.warn} ` +
      `warn${summary.warn === 1 ? 'ing' : 'ings'}, ${summary.fail} ` +
      `fail${summary.fail === 1 ? 'ure' : 'ures'}${verdict(summary)}`,
  );
  return lines.join('\n');
}

/** The end of the summary line: what to do next. */
function verdict(summary: { readonly warn: number; readonly fail: number }): string {
  if (summary.fail > 0) return ': fix the failures above';
  return summary.warn > 0 ? ': nothing broken; the warnings say what works less well' : ': all good';
}
