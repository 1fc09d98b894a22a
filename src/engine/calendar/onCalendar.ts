/**
 * systemd's `OnCalendar=` syntax (systemd.time(7)), translated into a seven-field cron pattern
 * (`second minute hour day month weekday year`) that croner evaluates. No maintained library parses
 * OnCalendar, so this is the part we write; the date arithmetic (months, leap years, time zones, DST)
 * stays croner's. Supported: `[WEEKDAYS] [[YEAR-]MONTH-DAY] [HOUR:MINUTE[:SECOND]] [TIMEZONE]`, each
 * component `*`, a value, a list (`,`), a range (`..`) and a repetition (`/`); the last day of a month
 * (`~01`); the shorthands `minutely` … `yearly`. Refused with a reason: fractional seconds, other
 * `~` offsets, descending ranges.
 */

export interface TranslatedCalendar {
  /** A croner pattern with seconds and years: `s m h dom month dow year`. */
  readonly cron: string;
  /** A time zone named at the end of the expression, or null. */
  readonly timeZone: string | null;
}

/** Why an OnCalendar expression was refused; `message` names the component at fault. */
export class OnCalendarSyntaxError extends Error {
  override readonly name = 'OnCalendarSyntaxError';
}

const SHORTHANDS: Readonly<Record<string, string>> = {
  minutely: '*-*-* *:*:00',
  hourly: '*-*-* *:00:00',
  daily: '*-*-* 00:00:00',
  weekly: 'Mon *-*-* 00:00:00',
  monthly: '*-*-01 00:00:00',
  quarterly: '*-01,04,07,10-01 00:00:00',
  semiannually: '*-01,07-01 00:00:00',
  yearly: '*-01-01 00:00:00',
  annually: '*-01-01 00:00:00',
};

const WEEKDAYS: Readonly<Record<string, number>> = {
  sun: 0,
  sunday: 0,
  mon: 1,
  monday: 1,
  tue: 2,
  tuesday: 2,
  wed: 3,
  wednesday: 3,
  thu: 4,
  thursday: 4,
  fri: 5,
  friday: 5,
  sat: 6,
  saturday: 6,
};

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
}
const YEAR: Field = { name: 'year', min: 1970, max: 2199 };
const MONTH: Field = { name: 'month', min: 1, max: 12 };
const DAY: Field = { name: 'day', min: 1, max: 31 };
const HOUR: Field = { name: 'hour', min: 0, max: 23 };
const MINUTE: Field = { name: 'minute', min: 0, max: 59 };
const SECOND: Field = { name: 'second', min: 0, max: 59 };

/** Whether an expression reads as OnCalendar rather than cron (cron has five or more fields, or `@name`). */
export function looksLikeOnCalendar(expression: string): boolean {
  const trimmed = expression.trim();
  return !trimmed.startsWith('@') && trimmed.split(/\s+/).length <= 4;
}

/** @throws {OnCalendarSyntaxError} naming the component that is not valid. */
export function translateOnCalendar(expression: string): TranslatedCalendar {
  const tokens = expression
    .trim()
    .split(/\s+/)
    .filter((token) => token !== '');
  if (tokens.length === 0) throw new OnCalendarSyntaxError('the expression is empty');
  const shorthand = SHORTHANDS[tokens[0]!.toLowerCase()];
  if (shorthand !== undefined) tokens.splice(0, 1, ...shorthand.split(' '));
  let weekdays = '*';
  if (/^[A-Za-z]/.test(tokens[0]!) && looksLikeWeekdays(tokens[0]!)) weekdays = parseWeekdays(tokens.shift()!);
  let date = '*-*-*';
  const isDate = (token: string | undefined): boolean =>
    token !== undefined && /^[\d*][\d*,./]*(?:-|~)/.test(token) && !token.includes(':');
  if (isDate(tokens[0])) date = tokens.shift()!;
  let time = '00:00:00';
  if (tokens[0] !== undefined && tokens[0].includes(':')) time = tokens.shift()!;
  let timeZone: string | null = null;
  if (tokens.length === 1) timeZone = tokens.shift()!;
  if (tokens.length > 0) {
    throw new OnCalendarSyntaxError(`unexpected "${tokens.join(' ')}" (expected [weekdays] [date] [time] [time zone])`);
  }
  const { year, month, day } = parseDate(date);
  const { hour, minute, second } = parseTime(time);
  return { cron: `${second} ${minute} ${hour} ${day} ${month} ${weekdays} ${year}`, timeZone };
}

function looksLikeWeekdays(token: string): boolean {
  return token.split(/,|\.\./).every((part) => WEEKDAYS[part.toLowerCase()] !== undefined);
}

function parseWeekdays(token: string): string {
  return token
    .split(',')
    .map((part) => {
      const [from, to, ...rest] = part.split('..');
      if (rest.length > 0) throw new OnCalendarSyntaxError(`weekday range "${part}" has more than one ".."`);
      const start = WEEKDAYS[from!.toLowerCase()]!;
      if (to === undefined) return String(start);
      // Weekday ranges run Monday to Sunday, as systemd reads them.
      const end = WEEKDAYS[to.toLowerCase()]!;
      const mondayFirst = (day: number): number => (day + 6) % 7;
      if (mondayFirst(end) < mondayFirst(start)) {
        throw new OnCalendarSyntaxError(`weekday range "${part}" runs backwards`);
      }
      return end === 0 && start !== 0 ? `${start}-6,0` : `${start}-${end}`;
    })
    .join(',');
}

function parseDate(date: string): { year: string; month: string; day: string } {
  const lastDay = date.indexOf('~');
  if (lastDay >= 0) {
    const [head, offset] = [date.slice(0, lastDay), date.slice(lastDay + 1)];
    if (!/^0?1$/.test(offset)) {
      throw new OnCalendarSyntaxError(`day "~${offset}": only "~01" (the last day of the month) is supported`);
    }
    const parts = head.split('-');
    if (parts.length > 2) throw new OnCalendarSyntaxError(`date "${date}" has too many parts`);
    const year = parts.length === 2 ? component(parts[0]!, YEAR) : '*';
    return { year, month: component(parts[parts.length - 1]!, MONTH), day: 'L' };
  }
  const parts = date.split('-');
  if (parts.length < 2 || parts.length > 3) {
    throw new OnCalendarSyntaxError(`date "${date}": expected YEAR-MONTH-DAY or MONTH-DAY`);
  }
  const [year, month, day] = parts.length === 3 ? parts : ['*', ...parts];
  return { year: component(year!, YEAR), month: component(month!, MONTH), day: component(day!, DAY) };
}

function parseTime(time: string): { hour: string; minute: string; second: string } {
  const parts = time.split(':');
  if (parts.length < 2 || parts.length > 3) {
    throw new OnCalendarSyntaxError(`time "${time}": expected HOUR:MINUTE[:SECOND]`);
  }
  const [hour, minute, second = '00'] = parts;
  if (second.includes('.')) {
    throw new OnCalendarSyntaxError(`second "${second}": fractions of a second are not supported`);
  }
  return { hour: component(hour!, HOUR), minute: component(minute!, MINUTE), second: component(second, SECOND) };
}

/** One component (`*`, `5`, `1,15`, `1..5`, `0/15`, `*\/2`, `1..20/5`) as a cron field. */
function component(text: string, field: Field): string {
  if (text === '') throw new OnCalendarSyntaxError(`${field.name} is empty`);
  return text
    .split(',')
    .map((item) => listItem(item, field))
    .join(',');
}

function listItem(item: string, field: Field): string {
  const [range, step, ...rest] = item.split('/');
  if (rest.length > 0) throw new OnCalendarSyntaxError(`${field.name} "${item}" has more than one "/"`);
  if (step !== undefined && !(/^\d+$/.test(step) && Number(step) >= 1)) {
    throw new OnCalendarSyntaxError(`${field.name} "${item}": the repetition must be a whole number of at least 1`);
  }
  const suffix = step === undefined ? '' : `/${Number(step)}`;
  if (range === '*') return `*${suffix}`;
  const [from, to, ...more] = range!.split('..');
  if (more.length > 0) throw new OnCalendarSyntaxError(`${field.name} "${item}" has more than one ".."`);
  const start = value(from!, field);
  if (to === undefined) {
    // `5/15` is 5, 20, 35, …: cron's `5-max/15`; a plain value stays one value.
    return step === undefined ? String(start) : `${start}-${field.max}${suffix}`;
  }
  const end = value(to, field);
  if (end < start) throw new OnCalendarSyntaxError(`${field.name} range "${range}" runs backwards`);
  return `${start}-${end}${suffix}`;
}

function value(text: string, field: Field): number {
  if (!/^\d{1,4}$/.test(text)) throw new OnCalendarSyntaxError(`${field.name} "${text}" is not a number`);
  const number = Number(text);
  if (number < field.min || number > field.max) {
    throw new OnCalendarSyntaxError(`${field.name} ${number} is outside ${field.min}..${field.max}`);
  }
  return number;
}
