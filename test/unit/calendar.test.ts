/**
 * Calendar schedules: the OnCalendar translation (property tests against a brute-force
 * search), the typed refusals, and occurrences across DST days; then calendar requests in the daemon's
 * scheduler through the testing kit, in virtual time, across spring-forward and fall-back days and
 * wall-clock jumps.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkCalendar, nextOccurrence, type CalendarSpec } from '../../src/engine/calendar/schedule.js';
import { translateOnCalendar } from '../../src/engine/calendar/onCalendar.js';
import { checkCalendarRequest } from '../../src/engine/calendar/calendarRequest.js';
import { recurrenceAt, calendarPeriod, following } from '../../src/engine/recurrence.js';
import { BGAppRefreshTaskRequest, BGTaskSchedulerError, type BGTaskScheduler } from '../../src/sdk/index.js';
import { createTestSystem } from '../../src/testing/index.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const DAY_NAMES = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

function localParts(at: number, timeZone: string): Record<string, string> {
  const format = new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    weekday: 'short',
  });
  return Object.fromEntries(format.formatToParts(at).map((part) => [part.type, part.value]));
}
const localTime = (at: number, timeZone: string): string => {
  const p = localParts(at, timeZone);
  return `${p['year']}-${p['month']}-${p['day']} ${p['hour']}:${p['minute']}:${p['second']}`;
};

function occurrences(spec: CalendarSpec, from: number, to: number): number[] {
  const found: number[] = [];
  for (let at = nextOccurrence(spec, from); at !== null && at < to; at = nextOccurrence(spec, at)) found.push(at);
  return found;
}

describe('OnCalendar expressions', () => {
  it('finds the first matching minute after any instant, as a brute-force search does (property)', () => {
    const values = (max: number) => fc.uniqueArray(fc.integer({ min: 0, max }), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(
        values(6),
        values(23),
        values(59),
        fc.integer({
          min: Date.UTC(2024, 0, 1),
          max: Date.UTC(2030, 0, 1),
        }),
        (days, hours, minutes, from) => {
          const expression =
            `${days.map((d) => DAY_NAMES[d]).join(',')} *-*-* ` + `${hours.join(',')}:${minutes.join(',')}:00 UTC`;
          const spec = { expression, timeZone: null };
          const at = nextOccurrence(spec, from);
          assert.ok(at !== null && at > from);
          const date = new Date(at);
          assert.ok(
            days.includes(date.getUTCDay()) &&
              hours.includes(date.getUTCHours()) &&
              minutes.includes(date.getUTCMinutes()),
          );
          assert.equal(date.getUTCSeconds(), 0);
          // No matching minute in between.
          for (let minute = Math.floor(from / MINUTE) * MINUTE + MINUTE; minute < at; minute += MINUTE) {
            const m = new Date(minute);
            assert.ok(
              !(days.includes(m.getUTCDay()) && hours.includes(m.getUTCHours()) && minutes.includes(m.getUTCMinutes())),
              expression,
            );
          }
        },
      ),
      { numRuns: 60 },
    );
  });

  it(
    'reads ranges, repetitions, dates, the last day, shorthands and cron, in any ' + 'time zone (property: increasing)',
    () => {
      const expressions = [
        '*-*-* 03:00:00',
        'Mon..Fri *-*-* 03:00',
        'Sat..Sun 12:00',
        '*-*~01 10:00',
        '*:0/15',
        'daily',
        'weekly',
        'monthly',
        'quarterly',
        '*-02-29 00:00',
        '2027-*-01..03 08:30',
        '*-*-* 1..5/2:00:30',
        '0 3 * * 1-5',
        '*/20 * * * * *',
        '@daily',
      ];
      fc.assert(
        fc.property(
          fc.constantFrom(...expressions),
          fc.constantFrom('UTC', 'Europe/Paris', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kolkata'),
          fc.integer({ min: Date.UTC(2025, 0, 1), max: Date.UTC(2027, 0, 1) }),
          (expression, timeZone, from) => {
            const spec = { expression, timeZone };
            assert.equal(checkCalendar(spec), null, expression);
            let previous = from;
            const seen = new Set<string>();
            for (let i = 0; i < 5; i++) {
              const at = nextOccurrence(spec, previous);
              assert.ok(at !== null && at > previous, `${expression} moves forward`);
              const wall = localTime(at, timeZone);
              assert.ok(!seen.has(wall), `${expression} in ${timeZone} repeats ${wall}`);
              seen.add(wall);
              previous = at;
            }
          },
        ),
        { numRuns: 80 },
      );
    },
  );

  it('means what systemd means', () => {
    const first = (expression: string, from: string, count = 3) => {
      const found: string[] = [];
      let at = Date.parse(from);
      for (let i = 0; i < count; i++) {
        at = nextOccurrence({ expression, timeZone: 'UTC' }, at)!;
        found.push(new Date(at).toISOString());
      }
      return found;
    };
    assert.deepEqual(first('Mon..Fri *-*-* 03:00:00', '2026-01-02T04:00:00Z'), [
      '2026-01-05T03:00:00.000Z',
      '2026-01-06T03:00:00.000Z',
      '2026-01-07T03:00:00.000Z',
    ]);
    assert.deepEqual(first('*-*~01 10:00', '2026-01-31T11:00:00Z', 2), [
      '2026-02-28T10:00:00.000Z',
      '2026-03-31T10:00:00.000Z',
    ]);
    assert.deepEqual(first('*:0/20', '2026-01-01T00:00:00Z'), [
      '2026-01-01T00:20:00.000Z',
      '2026-01-01T00:40:00.000Z',
      '2026-01-01T01:00:00.000Z',
    ]);
    // A weekday and a day of the month must both match (systemd), unlike cron's either.
    assert.deepEqual(first('Fri *-*-13 00:00', '2026-01-01T00:00:00Z', 2), [
      '2026-02-13T00:00:00.000Z',
      '2026-03-13T00:00:00.000Z',
    ]);
    assert.deepEqual(first('*-02-29 12:00', '2026-01-01T00:00:00Z', 1), ['2028-02-29T12:00:00.000Z']);
    assert.equal(translateOnCalendar('hourly').cron, '0 0 * * * * *');
    assert.deepEqual(translateOnCalendar('Sat..Sun 12:00 Europe/Paris'), {
      cron: '0 0 12 * * 6-6,0 *',
      timeZone: 'Europe/Paris',
    });
  });

  it('refuses what it cannot read, naming the field at fault', () => {
    const refused = (expression: string, timeZone: string | null = null) => checkCalendar({ expression, timeZone });
    assert.equal(refused('*-*-* 25:00')?.field, 'calendar');
    assert.match(refused('*-*-* 25:00')!.message, /hour 25/);
    assert.match(refused('*-13-01')!.message, /month 13/);
    assert.match(refused('Fri..Mon')!.message, /backwards/);
    assert.match(refused('*-*~03')!.message, /~01/);
    assert.match(refused('*-*-* 03:00:00.5')!.message, /fractions/);
    assert.match(refused('every tuesday')!.message, /unexpected/);
    assert.equal(refused('0 3 * * 1-5 x y')?.field, 'calendar');
    assert.equal(refused('daily', 'Mars/Olympus')?.field, 'timeZone');
    assert.equal(refused('daily Asia/Tokyo', 'Europe/Paris')?.field, 'timeZone');
    const limits = 60_000;
    const now = Date.UTC(2026, 0, 1);
    assert.equal(
      checkCalendarRequest({ kind: 'refresh', calendar: '*:*:*' }, limits, now)?.field,
      'calendar',
      'every second is too often',
    );
    assert.equal(
      checkCalendarRequest({ kind: 'refresh', calendar: '2020-01-01' }, limits, now)?.message,
      '"2020-01-01" never occurs again',
    );
    assert.equal(checkCalendarRequest({ kind: 'continued', calendar: 'daily' }, limits, now)?.field, 'calendar');
    assert.equal(
      checkCalendarRequest({ kind: 'refresh', calendar: 'daily', interval: HOUR }, limits, now)?.field,
      'calendar',
    );
    assert.equal(checkCalendarRequest({ kind: 'refresh', timeZone: 'UTC' }, limits, now)?.field, 'timeZone');
    assert.equal(
      checkCalendarRequest({ kind: 'refresh', calendar: 'hourly', tolerance: 2 * HOUR }, limits, now)?.field,
      'tolerance',
    );
    assert.equal(
      checkCalendarRequest({ kind: 'processing', calendar: 'hourly', tolerance: MINUTE }, limits, now),
      null,
    );
  });
});

describe('calendar occurrences across DST', () => {
  const NY = 'America/New_York';
  it('a time that the spring-forward day skips happens once, right after the gap', () => {
    // 2026-03-08: 02:00 EST becomes 03:00 EDT in New York.
    const found = occurrences(
      { expression: '*-*-* 02:30:00', timeZone: NY },
      Date.UTC(2026, 2, 6),
      Date.UTC(2026, 2, 11),
    );
    assert.deepEqual(
      found.map((at) => localTime(at, NY)),
      [
        '2026-03-06 02:30:00',
        '2026-03-07 02:30:00',
        '2026-03-08 03:30:00',
        '2026-03-09 02:30:00',
        '2026-03-10 02:30:00',
      ],
    );
    const hourly = occurrences(
      { expression: 'hourly', timeZone: NY },
      Date.UTC(2026, 2, 8, 5) - 1,
      Date.UTC(2026, 2, 9, 4),
    );
    assert.equal(hourly.length, 23, 'a 23-hour day has 23 hours');
  });

  it('a time that the fall-back day repeats happens once, at its first instance', () => {
    // 2026-11-01: 02:00 EDT becomes 01:00 EST.
    const found = occurrences(
      { expression: '*-*-* 01:30:00', timeZone: NY },
      Date.UTC(2026, 9, 31),
      Date.UTC(2026, 10, 3),
    );
    assert.deepEqual(
      found.map((at) => new Date(at).toISOString()),
      ['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z'],
    );
    const walls = occurrences(
      { expression: '*:0/20', timeZone: NY },
      Date.UTC(2026, 10, 1, 4),
      Date.UTC(2026, 10, 1, 9),
    ).map((at) => localTime(at, NY));
    assert.equal(new Set(walls).size, walls.length, `no local time twice: ${walls.join()}`);
  });

  it('periods follow the occurrences, forward only, whatever the clock says', () => {
    const spec = { expression: '*-*-* 03:00:00', timeZone: NY };
    const period0 = calendarPeriod(spec, 0, Date.UTC(2026, 2, 6));
    assert.equal(localTime(period0.anchorAt, NY), '2026-03-06 03:00:00');
    const period1 = following(period0);
    assert.equal(period1.intervalMs, 23 * HOUR, 'the period over the spring-forward night is 23 hours long');
    const period2 = following(period1);
    assert.equal(period2.period, 2);
    assert.equal(localTime(period2.anchorAt, NY), '2026-03-08 03:00:00');
    assert.equal(
      recurrenceAt(period2, period0.anchorAt - DAY).period,
      2,
      'a clock jumped back never goes to an earlier period',
    );
    const later = recurrenceAt(period0, Date.UTC(2026, 2, 20));
    assert.equal(later.period, 13);
    assert.equal(localTime(later.anchorAt, NY), '2026-03-19 03:00:00');
  });
});

// ---- the scheduler, through the testing kit ----

const APP = 'com.example.backup';
const NIGHTLY = 'com.example.backup.nightly';
const manifest = { appId: APP, permittedIdentifiers: [NIGHTLY], backgroundModes: ['fetch'] as 'fetch'[] };

function calendarApp(calendar: string, timeZone: string | null, ran: number[]) {
  return (scheduler: BGTaskScheduler) => {
    scheduler.register(NIGHTLY, async () => {
      ran.push(scheduler.now().getTime());
    });
    if (scheduler.launchReason !== 'user') return undefined;
    const request = new BGAppRefreshTaskRequest(NIGHTLY);
    request.calendar = calendar;
    request.timeZone = timeZone;
    return scheduler.submit(request);
  };
}

describe('calendar requests in the scheduler (virtual time)', () => {
  const NY = 'America/New_York';

  it('runs once per occurrence across the spring-forward and fall-back days', async () => {
    for (const [start, expression] of [
      [Date.UTC(2026, 2, 5, 12), '*-*-* 02:30:00'],
      [Date.UTC(2026, 9, 29, 12), '*-*-* 01:30:00'],
    ] as const) {
      const ran: number[] = [];
      await using system = await createTestSystem({
        start,
        apps: [{ manifest, main: calendarApp(expression, NY, ran) }],
        profile: 'server',
      });
      await system.openApp(APP);
      await system.advanceTo(start + 6 * DAY);
      const runs = await system.history({ identifier: NIGHTLY });
      assert.equal(
        runs.length,
        6,
        `${expression}: one run a night, ${runs.map((run) => localTime(run.startedAt!, NY)).join()}`,
      );
      const periods = runs.map((run) => run.recurrence?.period);
      assert.deepEqual(periods, [0, 1, 2, 3, 4, 5]);
      const days = ran.map((at) => localTime(at, NY).slice(0, 10));
      assert.equal(new Set(days).size, 6, `one run per local day: ${days.join()}`);
    }
  });

  it(
    'neither repeats nor loses a night when the wall clock jumps back or forward, ' + 'and records skipped nights',
    async () => {
      const start = Date.UTC(2026, 5, 1, 12);
      const ran: number[] = [];
      await using system = await createTestSystem({
        start,
        apps: [{ manifest, main: calendarApp('*-*-* 03:00:00', 'UTC', ran) }],
        profile: 'server',
      });
      await system.openApp(APP);
      await system.advanceTo(Date.UTC(2026, 5, 2, 4));
      assert.equal(ran.length, 1);
      const why = await system.why(APP, NIGHTLY);
      assert.match(
        why.summary,
        /It recurs: calendar "\*-\*-\* 03:00:00" \(UTC\), period 1, which begins 2026-06-03T03:00:00/,
      );
      system.clock.jumpWallClock(-2 * HOUR); // back before 03:00: the night that ran does not run again
      await system.advanceBy(3 * HOUR);
      assert.equal(ran.length, 1, 'no second run of the same night');
      system.clock.jumpWallClock(3 * DAY); // a machine asleep for three nights
      await system.advanceBy(2 * HOUR);
      const runs = await system.history({ identifier: NIGHTLY });
      const periods = runs.map((run) => run.recurrence?.period);
      assert.equal(new Set(periods).size, periods.length, `no period twice: ${periods.join()}`);
      assert.equal(runs.length, 2, 'one run on waking, not one per missed night');
      const skipped = await system.events({ types: ['skipped'] });
      assert.ok(skipped.length >= 2, `the nights slept through are recorded: ${skipped.length}`);
    },
  );

  it('refuses a malformed calendar with a typed error naming the field', async () => {
    const errors: unknown[] = [];
    const main = (scheduler: BGTaskScheduler) => {
      scheduler.register(NIGHTLY, () => {});
      const request = new BGAppRefreshTaskRequest(NIGHTLY);
      request.calendar = '*-*-* 24:00';
      return scheduler.submit(request).catch((error: unknown) => void errors.push(error));
    };
    await using system = await createTestSystem({ apps: [{ manifest, main }] });
    await system.openApp(APP);
    const [error] = errors;
    assert.ok(error instanceof BGTaskSchedulerError, String(error));
    assert.equal(error.code, 'invalidRequest');
    assert.equal(error.field, 'calendar');
    assert.match(error.message, /hour 24/);
  });
});
