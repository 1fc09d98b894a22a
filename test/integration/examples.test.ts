import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ROOT,
  TestHome,
  until,
  type DaemonProcess,
  type EventWatcher,
  type WatchedEvent,
} from '../support/daemonProcess.js';

const FEEDS = join(ROOT, 'examples', 'feeds');
const CLEANUP = join(ROOT, 'examples', 'cleanup');

/** The example apps, as a new user would run them: installed, opened once, then run in the background. */
describe('example apps', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let watcher: EventWatcher;

  before(async () => {
    // The daemon passes its environment to the apps it launches: short intervals for the test.
    process.env.FEEDS_REFRESH_INTERVAL_MS = '300';
    process.env.CLEANUP_FIRST_DELAY_MS = '0';
    daemon = await home.startDaemon(['--option', 'appIdleTimeoutMs=60000']);
    watcher = await daemon.watch();
  });

  after(async () => {
    delete process.env.FEEDS_REFRESH_INTERVAL_MS;
    delete process.env.CLEANUP_FIRST_DELAY_MS;
    await watcher?.[Symbol.asyncDispose]();
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  const finishedRuns = (identifier: string): WatchedEvent[] => {
    const taskIds = new Set(
      watcher.events
        .filter((event) => event.what === 'run' && event.identifier === identifier)
        .map((event) => event.taskId),
    );
    return watcher.events.filter(
      (event) => event.what === 'runUpdate' && event.state === 'finished' && taskIds.has(event.taskId),
    );
  };

  it('the feed refresher runs in the background again and again: it resubmits itself', async () => {
    assert.equal((await home.cli('install', FEEDS)).code, 0);
    assert.equal((await home.cli('open', 'com.example.feeds')).code, 0);
    await watcher.next(() => finishedRuns('com.example.feeds.refresh').length >= 3, 'three refreshes');
    assert.deepEqual(
      finishedRuns('com.example.feeds.refresh')
        .slice(0, 3)
        .map((event) => event.outcome),
      ['success', 'success', 'success'],
    );
    const runs = (await home.cli('history', 'com.example.feeds', '--json')).json<{ launch: string }[]>();
    assert.ok(
      runs.some((run) => run.launch === 'launched'),
      'the first refresh launched the app in the background',
    );
    assert.equal((await home.cli('apps', 'disable', 'com.example.feeds')).code, 0, 'stop the loop');
  });

  it(
    "off a terminal the daemon logs JSON lines, and each task's records carry " + 'its app, identifier and task id',
    async () => {
      const taskIds = watcher.events
        .filter((event) => event.what === 'run' && event.identifier === 'com.example.feeds.refresh')
        .map((event) => String(event.taskId));
      // The daemon's log is written asynchronously: wait for the first three tasks' last records, and read
      // whole lines only (the last one may still be arriving).
      const logged = (taskId: string): boolean => daemon.log.includes(`"taskId":"${taskId}","outcome"`);
      await until(
        'the first three refreshes to be logged',
        () => (taskIds.slice(0, 3).every(logged) ? true : undefined),
        10_000,
      );
      const whole = daemon.log.slice(0, daemon.log.lastIndexOf('\n') + 1);
      const records = whole
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            assert.fail(`a log line that is not JSON: ${line}`);
          }
        });
      for (const taskId of taskIds.slice(0, 3)) {
        const about = records.filter((record) => record.taskId === taskId);
        assert.deepEqual(
          about.map((record) => record.msg),
          [
            `started com.example.feeds.refresh of com.example.feeds`,
            `finished com.example.feeds.refresh of com.example.feeds: success`,
          ],
        );
        for (const record of about) {
          assert.equal(record.appId, 'com.example.feeds');
          assert.equal(record.identifier, 'com.example.feeds.refresh');
          assert.equal(typeof record.time, 'number');
        }
        assert.equal(about[1]!.outcome, 'success');
        assert.ok(
          typeof about[1]!.durationMs === 'number' && about[1]!.durationMs >= 0,
          'the finish says how long the handler ran',
        );
      }
    },
  );

  it(
    'the nightly clean-up (callback style) waits for external power, then runs ' + 'and asks for the next night',
    async () => {
      assert.equal((await home.cli('conditions', 'set', 'power=battery')).code, 0);
      assert.equal((await home.cli('install', CLEANUP)).code, 0);
      assert.equal((await home.cli('open', 'com.example.cleanup')).code, 0);
      await watcher.next(
        (event) => event.what === 'request' && event.identifier === 'com.example.cleanup.nightly',
        'the clean-up request',
      );
      const why = (await home.cli('why', 'com.example.cleanup', 'com.example.cleanup.nightly', '--json')).json<{
        blockers: { reason: string }[];
      }>();
      assert.deepEqual(
        why.blockers.map((blocker) => blocker.reason),
        ['requiresExternalPower'],
      );
      assert.equal((await home.cli('conditions', 'set', 'power=ac')).code, 0);
      await watcher.next(() => finishedRuns('com.example.cleanup.nightly').length >= 1, 'the clean-up to run');
      assert.equal(finishedRuns('com.example.cleanup.nightly')[0]?.outcome, 'success');
      const [next] = (await home.cli('pending', 'com.example.cleanup', '--json')).json<{ earliestBeginAt: number }[]>();
      assert.equal(new Date(next!.earliestBeginAt).getHours(), 3, 'the next one is at 03:00');
    },
  );
});
