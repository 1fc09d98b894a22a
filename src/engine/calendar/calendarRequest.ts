/**
 * The submission rules of a calendar request (`calendar`, `timeZone`, `tolerance`), and the period its
 * first request is for.
 */
import type { SchedulerFault } from '../../protocol/vocabulary/errorCodes.js';
import { calendarPeriod } from '../recurrence.js';
import type { Recurrence } from '../types.js';
import { checkCalendar, firstOccurrence, shortestGap } from './schedule.js';

export interface CalendarInput {
  readonly kind: string;
  readonly interval?: number | null;
  readonly tolerance?: number | null;
  readonly calendar?: string | null;
  readonly timeZone?: string | null;
}

/** How many of a schedule's first occurrences are compared with `minRefreshIntervalMs`. */
const GAPS_CHECKED = 64;

/** Why a calendar request is refused, or null; only for requests that name a calendar or a time zone. */
export function checkCalendarRequest(
  request: CalendarInput,
  minRefreshIntervalMs: number,
  now: number,
): SchedulerFault | null {
  const expression = request.calendar ?? null;
  const timeZone = request.timeZone ?? null;
  if (expression === null) {
    return timeZone === null
      ? null
      : {
          code: 'invalidRequest',
          field: 'timeZone',
          message: 'timeZone applies only to a calendar schedule (set calendar)',
        };
  }
  if (request.kind !== 'refresh' && request.kind !== 'processing') {
    return {
      code: 'invalidRequest',
      field: 'calendar',
      message: 'only refresh and processing requests can follow a calendar',
    };
  }
  if ((request.interval ?? null) !== null) {
    return { code: 'invalidRequest', field: 'calendar', message: 'give either interval or calendar, not both' };
  }
  const spec = { expression, timeZone };
  const fault = checkCalendar(spec);
  if (fault) return { code: 'invalidRequest', field: fault.field, message: fault.message };
  if (firstOccurrence(spec, now) === null) {
    return { code: 'invalidRequest', field: 'calendar', message: `"${expression}" never occurs again` };
  }
  const gap = shortestGap(spec, now, GAPS_CHECKED);
  if (gap !== null && gap < minRefreshIntervalMs) {
    return {
      code: 'invalidRequest',
      field: 'calendar',
      message:
        `"${expression}" occurs every ${gap} ms; ` +
        `at least ${minRefreshIntervalMs} ms apart is allowed (minRefreshIntervalMs)`,
    };
  }
  const tolerance = request.tolerance ?? null;
  if (tolerance !== null && gap !== null && tolerance > gap) {
    return {
      code: 'invalidRequest',
      field: 'tolerance',
      message: `tolerance must not exceed the shortest gap between occurrences (${gap} ms)`,
    };
  }
  return null;
}

/**
 * The recurrence of an accepted calendar request: period 0 from its first occurrence at or after its
 * earliestBeginDate (or now). Its tolerance is none unless it gives one: "at 03:00" means at 03:00.
 */
export function calendarRecurrence(
  input: CalendarInput & { readonly earliestBeginAt: number | null },
  now: number,
): Recurrence | null {
  if (!input.calendar) return null;
  return calendarPeriod(
    { expression: input.calendar, timeZone: input.timeZone ?? null },
    input.tolerance ?? 0,
    input.earliestBeginAt ?? now,
  );
}
