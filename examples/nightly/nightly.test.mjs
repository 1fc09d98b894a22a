// A week of a weekday calendar schedule in virtual time: it runs in milliseconds.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createTestSystem } from 'bgtasks/testing';
import { BACKUP, startNightly } from './app.mjs';

const APP = 'com.example.nightly';
const DIR = fileURLToPath(new URL('.', import.meta.url));
const DAY = 24 * 60 * 60_000;

describe('nightly', () => {
  it('backs up at 03:00 each weekday of a week, and not at the weekend', async (t) => {
    const backups = [];
    const start = Date.UTC(2026, 2, 2, 12); // a Monday, noon
    const system = await createTestSystem({
      start,
      apps: [
        {
          dir: DIR,
          main: (scheduler) =>
            startNightly(scheduler, { timeZone: 'UTC', backup: async () => backups.push(scheduler.now()) }),
        },
      ],
    });
    t.after(() => system.close());
    await system.openApp(APP);
    await system.advanceTo(start + 7 * DAY);
    assert.deepEqual(
      backups.map((at) => at.toISOString()),
      [
        '2026-03-03T03:00:00.000Z',
        '2026-03-04T03:00:00.000Z',
        '2026-03-05T03:00:00.000Z',
        '2026-03-06T03:00:00.000Z',
        '2026-03-09T03:00:00.000Z',
      ],
    );
    const [pending] = system.pending(APP);
    assert.equal(pending.request.earliestBeginAt, Date.UTC(2026, 2, 10, 3), 'next: Tuesday 03:00');
    const runs = await system.history({ identifier: BACKUP });
    assert.deepEqual(runs.map((run) => run.recurrence.period).sort(), [0, 1, 2, 3, 4]);
  });
});
