/**
 * Periodic refresh: the arithmetic of periods. Period `n` of a recurrence begins at
 * `anchorAt + n * intervalMs`, or for a calendar schedule at its `n`th occurrence (then `anchorAt` and
 * `intervalMs` describe the request's own period and move with it). A run counts for the period in which
 * it starts; the next request is for the period after that, so a run that starts late never makes two
 * runs in one period, and a wall-clock jump back never makes a period run twice (periods only move
 * forward).
 */
import { firstOccurrence, nextOccurrence, type CalendarSpec } from './calendar/schedule.js';
import type { Recurrence, TaskRequest } from './types.js';

/** How long the last period of a calendar that never occurs again lasts: it never ends, in practice. */
const ENDLESS_PERIOD_MS = 200 * 366 * 24 * 3_600_000;
/**
 * A calendar that fell this many periods behind (a daemon down for long, a schedule of seconds) stops
 * counting them one by one: the period that contains the instant asked about is counted as beginning then.
 */
const MAX_PERIODS_COUNTED = 100_000;

/** Where period `period` of an interval begins; for a calendar, only the request's own period and later. */
export function periodStart(recurrence: Recurrence, period: number): number {
  if (!recurrence.calendar) return recurrence.anchorAt + period * recurrence.intervalMs;
  let at = periodBegin(recurrence);
  let current = recurrence;
  for (let p = recurrence.period; p < period; p++) {
    current = following(current);
    at = current.anchorAt;
  }
  return at;
}

/** Where the recurrence's own period begins. */
export function periodBegin(recurrence: Recurrence): number {
  return recurrence.calendar ? recurrence.anchorAt : recurrence.anchorAt + recurrence.period * recurrence.intervalMs;
}

/** Where the recurrence's own period ends (the next one begins). */
export function periodEnd(recurrence: Recurrence): number {
  return periodBegin(recurrence) + recurrence.intervalMs;
}

/** The period that contains `now` (never before the request's own). */
export function currentPeriod(recurrence: Recurrence, now: number): number {
  return recurrenceAt(recurrence, now).period;
}

/** The recurrence moved to the period that contains `now` (never before its own). */
export function recurrenceAt(recurrence: Recurrence, now: number): Recurrence {
  if (!recurrence.calendar) {
    const elapsed = Math.floor((now - recurrence.anchorAt) / recurrence.intervalMs);
    return { ...recurrence, period: Math.max(recurrence.period, elapsed) };
  }
  let current = recurrence;
  for (let counted = 0; periodEnd(current) <= now; counted++) {
    if (counted === MAX_PERIODS_COUNTED)
      return calendarPeriod(current.calendar!, current.toleranceMs, now, current.period + 1);
    current = following(current);
  }
  return current;
}

/** The recurrence for the period after its own. */
export function following(recurrence: Recurrence): Recurrence {
  if (!recurrence.calendar) return { ...recurrence, period: recurrence.period + 1 };
  const begin = periodEnd(recurrence);
  const end = nextOccurrence(recurrence.calendar, begin) ?? begin + ENDLESS_PERIOD_MS;
  return { ...recurrence, anchorAt: begin, intervalMs: end - begin, period: recurrence.period + 1 };
}

/**
 * Period 0 of a calendar schedule: from its first occurrence at or after `from` to the next. Null if the
 * schedule never occurs again. `period` numbers it otherwise (a schedule that fell far behind).
 */
export function calendarPeriod(calendar: CalendarSpec, toleranceMs: number, from: number, period = 0): Recurrence {
  const begin = firstOccurrence(calendar, from) ?? from + ENDLESS_PERIOD_MS;
  const end = nextOccurrence(calendar, begin) ?? begin + ENDLESS_PERIOD_MS;
  return { intervalMs: end - begin, toleranceMs, anchorAt: begin, period, calendar };
}

/** Periods from the request's own up to (not including) `upTo`: the ones that ended with no run. */
export function missedPeriods(recurrence: Recurrence, upTo: number): number[] {
  const missed: number[] = [];
  for (let period = recurrence.period; period < upTo; period++) missed.push(period);
  return missed;
}

/** The same request moved to a later period (same requestId: it is still the same wish). */
export function movedTo(request: TaskRequest, recurrence: Recurrence): TaskRequest {
  return { ...request, recurrence, earliestBeginAt: periodBegin(recurrence) };
}

/** The request for the period after the one a run of the recurrence counted for, made when it is dispatched. */
export function nextPeriodRequest(request: TaskRequest, ran: Recurrence, requestId: string, now: number): TaskRequest {
  const recurrence = following(ran);
  return { ...request, requestId, recurrence, attempt: 1, earliestBeginAt: periodBegin(recurrence), submittedAt: now };
}
