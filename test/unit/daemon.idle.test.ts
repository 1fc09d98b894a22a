/**
 * An idle daemon must not drain the battery it protects: with nothing due it sleeps until its next
 * sensor read. The real daemon (store, socket, scheduler, sensors poller) on a virtual clock, so every
 * wake-up is counted exactly. Its CPU use over a real minute is measured by `npm run bench:idle`.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Sensors } from '../../src/conditions/sensors.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { VirtualClock } from '../../src/testing/virtualClock.js';

const quietLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
} as never;

describe('Daemon when idle', () => {
  it(
    'wakes no more often than its sensor interval over a minute with nothing due, ' +
      'and reads the sensors once per interval',
    async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bgt-idle-'));
      const clock = new VirtualClock();
      let reads = 0;
      const sensors: Sensors = { read: async () => (reads++, { power: 'ac', network: 'online' }) };
      try {
        await using daemon = await Daemon.start(
          { home: join(dir, 'h'), sensorPollIntervalMs: 5_000 },
          { clock, sensors, logger: quietLogger, cpuMeter: null },
        );
        await clock.advanceBy(1_000); // start-up settles
        const [wakeupsBefore, readsBefore] = [clock.wakeups, reads];
        await clock.advanceBy(60_000);
        const wakeups = clock.wakeups - wakeupsBefore;
        // 12 sensor reads in a minute, plus the scheduler's one bounded sleep (maxSleepMs, 60 s).
        assert.equal(reads - readsBefore, 12);
        assert.ok(wakeups <= 13, `woke ${wakeups} times in a virtual minute`);
        assert.ok(daemon.scheduler.queue.size === 0);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
