/**
 * A calendar schedule: an OnCalendar or cron expression in a time zone, and its occurrences. Pure: the
 * caller gives the instant to count from (no clock is read here); time zones come from Intl through
 * croner, which also does the calendar arithmetic and keeps DST sane: a time that a spring-forward day
 * skips happens once, right after the gap, and a time that a fall-back day repeats happens once, at its
 * first instance.
 */
import { Cron } from 'croner';
import { looksLikeOnCalendar, OnCalendarSyntaxError, translateOnCalendar } from './onCalendar.js';

/** What a request stores for a calendar schedule: the expression as given and its time zone. */
export interface CalendarSpec {
  /** `Mon..Fri *-*-* 03:00:00` (systemd OnCalendar) or `0 3 * * 1-5` (cron, five or six fields). */
  readonly expression: string;
  /** An IANA time zone (`Europe/Paris`), or null for the device's own. */
  readonly timeZone: string | null;
}

/** Why a calendar was refused: `field` is the request's option at fault (`calendar` or `timeZone`). */
export interface CalendarFault {
  readonly field: 'calendar' | 'timeZone';
  readonly message: string;
}

/** Occurrences further apart than this are not looked for (a date in the year 2200 is no schedule). */
const SEARCH_LIMIT_MS = 200 * 366 * 24 * 3_600_000;
const CACHE_LIMIT = 1_000;
const compiled = new Map<string, Cron>();

/** The schedule of a spec, or why it is not one. */
export function checkCalendar(spec: CalendarSpec): CalendarFault | null {
  const result = compile(spec);
  return 'field' in result ? result : null;
}

/** The first occurrence strictly after `after` (wall-clock ms), or null if there is none. */
export function nextOccurrence(spec: CalendarSpec, after: number): number | null {
  const cron = compile(spec);
  if ('field' in cron) return null;
  // croner works in whole seconds and returns the first match strictly after the instant it is given.
  const next = cron.nextRun(new Date(after));
  if (!next) return null;
  const at = next.getTime();
  return at > after && at - after <= SEARCH_LIMIT_MS ? at : null;
}

/** The first occurrence at or after `from`. */
export function firstOccurrence(spec: CalendarSpec, from: number): number | null {
  return nextOccurrence(spec, from - 1);
}

/** The shortest gap between the first `count` occurrences after `from` (how often the schedule fires). */
export function shortestGap(spec: CalendarSpec, from: number, count: number): number | null {
  let previous = firstOccurrence(spec, from);
  let shortest: number | null = null;
  for (let i = 0; previous !== null && i < count; i++) {
    const next = nextOccurrence(spec, previous);
    if (next === null) break;
    shortest = shortest === null ? next - previous : Math.min(shortest, next - previous);
    previous = next;
  }
  return shortest;
}

function compile(spec: CalendarSpec): Cron | CalendarFault {
  const key = `${spec.timeZone ?? ''}\u0000${spec.expression}`;
  const cached = compiled.get(key);
  if (cached) return cached;
  const result = build(spec);
  if (result instanceof Cron) {
    if (compiled.size >= CACHE_LIMIT) compiled.delete(compiled.keys().next().value!);
    compiled.set(key, result);
  }
  return result;
}

function build(spec: CalendarSpec): Cron | CalendarFault {
  let pattern = spec.expression.trim();
  let timeZone = spec.timeZone;
  let mode: 'auto' | '7-part' = 'auto';
  if (looksLikeOnCalendar(pattern)) {
    try {
      const translated = translateOnCalendar(pattern);
      if (translated.timeZone !== null && timeZone !== null && translated.timeZone !== timeZone) {
        return {
          field: 'timeZone',
          message: `the calendar names ${translated.timeZone} and timeZone names ${timeZone}: give one`,
        };
      }
      pattern = translated.cron;
      timeZone = translated.timeZone ?? timeZone;
      mode = '7-part';
    } catch (error) {
      if (error instanceof OnCalendarSyntaxError)
        return {
          field: 'calendar',
          message: `"${spec.expression}": ${error.message}`,
        };
      throw error;
    }
  }
  if (timeZone !== null && !isTimeZone(timeZone)) {
    return {
      field: 'timeZone',
      message: `"${timeZone}" is not a time zone (an IANA name such as Europe/Paris, or UTC)`,
    };
  }
  try {
    // domAndDow: a day of the month and a weekday must both match, as in systemd (cron's OR is surprising).
    return new Cron(pattern, {
      paused: true,
      mode,
      domAndDow: mode === '7-part',
      ...(timeZone !== null ? { timezone: timeZone } : {}),
    });
  } catch (error) {
    return {
      field: 'calendar',
      message: `"${spec.expression}" is neither an OnCalendar nor a cron expression: ${(error as Error).message}`,
    };
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
