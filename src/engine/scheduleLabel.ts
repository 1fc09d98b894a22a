/**
 * One phrase for what makes a request recur or fire, for the places a person looks (`pending`, `why`,
 * `top`, the dashboard): its interval or calendar, and the period it is for; or the paths
 * whose changes start it, and how many changes wait.
 */
import type { TaskRequest, TaskRun } from './types.js';

export function scheduleLabel(subject: Pick<TaskRequest | TaskRun, 'recurrence' | 'triggers'>): string | null {
  const triggers = subject.triggers;
  if (triggers) {
    const count = `${triggers.changes.length}${triggers.truncated ? '+' : ''}`;
    const waiting = triggers.changes.length === 0 ? '' : `, ${count} change(s) waiting`;
    return `on changes to ${triggers.paths.join(', ')}${waiting}`;
  }
  const recurrence = subject.recurrence;
  if (!recurrence) return null;
  const period = `period ${recurrence.period}`;
  if (!recurrence.calendar) return `every ${duration(recurrence.intervalMs)}, ${period}`;
  const { expression, timeZone } = recurrence.calendar;
  return `calendar "${expression}"${timeZone ? ` (${timeZone})` : ''}, ${period}`;
}

function duration(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000} d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** What a run ran for, in a few words (`bgtasks history`): its period (of which calendar), or its file changes. */
export function runCause(run: Pick<TaskRun, 'recurrence' | 'triggers'>): string {
  if (run.triggers) return `${run.triggers.changes.length}${run.triggers.truncated ? '+' : ''} file change(s)`;
  if (!run.recurrence) return '-';
  const { calendar, period } = run.recurrence;
  return calendar ? `"${calendar.expression}" #${period}` : `period ${period}`;
}
