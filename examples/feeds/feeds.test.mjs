// Tests of the feed reader's background behaviour, in virtual time, with the testing kit: a day takes
// milliseconds. Run with `node --test examples/feeds/feeds.test.mjs` (after `npm run build`).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { createTestSystem } from 'bgtasks/testing';
import { REFRESH, startFeeds } from './app.mjs';

const APP = 'com.example.feeds';
const DIR = fileURLToPath(new URL('.', import.meta.url));
const MINUTE = 60_000;

/** The app with a stand-in download that counts, and honours the task's signal. */
function feedsApp(downloads, { hang = false } = {}) {
  return {
    dir: DIR, // the manifest comes from this directory's package.json, checked as `bgtasks install` does
    main: (scheduler) =>
      startFeeds(scheduler, {
        intervalMs: 15 * MINUTE,
        refresh: ({ signal }) =>
          new Promise((resolve, reject) => {
            signal.addEventListener(
              'abort',
              () => {
                downloads.aborted++;
                reject(signal.reason);
              },
              { once: true },
            );
            if (!hang) {
              downloads.done++;
              resolve();
            }
          }),
      }),
  };
}

describe('feeds', () => {
  it('refreshes every 15 minutes for a whole day: it never "runs once and never again"', async (t) => {
    const downloads = { done: 0, aborted: 0 };
    const system = await createTestSystem({ apps: [feedsApp(downloads)] });
    t.after(() => system.close());
    await system.openApp(APP);
    await system.advanceBy(24 * 60 * MINUTE);
    // One refresh per 15 minutes, each asking for the next (a refresh that forgot would stop at 1).
    assert.ok(downloads.done >= 90, `expected about 96 refreshes, got ${downloads.done}`);
    const runs = await system.history({ identifier: REFRESH });
    assert.ok(runs.every((run) => run.outcome === 'success'));
  });

  it('stops a download when the system expires the refresh', async (t) => {
    const downloads = { done: 0, aborted: 0 };
    const system = await createTestSystem({ apps: [feedsApp(downloads, { hang: true })] });
    t.after(() => system.close());
    await system.openApp(APP);
    await system.next('started', REFRESH);
    await system.simulateExpiration(APP, REFRESH);
    const run = await system.next('completed', REFRESH);
    assert.equal(run.outcome, 'expired');
    assert.equal(downloads.aborted, 1, 'the signal stopped the download');
  });
});
