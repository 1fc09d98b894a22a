import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { runChaos } from '../support/chaos.js';
import { TestHome, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * The daemon killed with SIGKILL at random moments, 20 times, while an app submits and runs thousands of
 * tasks (real daemon, real SQLite file, real app processes). After each kill the store must pass SQLite's
 * integrity check and hold every acknowledged request (pending, or with a run); at the end every
 * acknowledged request has run to success exactly once, no request succeeded twice, every handler that
 * began left a run in the store, and every run a kill cut off is recorded `interrupted` and ran again.
 * bench/soak.ts is the long version.
 */
const KILLS = 20;
const TASKS = 3000;

describe('daemon crashes (SIGKILL at random moments)', () => {
  const home = new TestHome();
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  it(`loses no acknowledged request and completes none twice through ${KILLS} kills`, async () => {
    const options = [
      '--option',
      'profile=server',
      '--option',
      `maxPendingProcessingPerApp=${TASKS + 100}`,
      '--option',
      'maxConcurrentTasksPerApp=10',
    ];
    // 3,000 in chunks of 25, one chunk every 150 ms, handlers of up to 100 ms, a kill every 50-600 ms
    // after each restart: the work spans all the kills.
    const result = await runChaos(home, () => home.startDaemon(options), {
      kills: KILLS,
      tasks: TASKS,
      paceMs: 150,
      workMs: 100,
      minGapMs: 50,
      maxGapMs: 600,
      settleGuardMs: 180_000,
    });
    daemon = result.daemon;
    const { report } = result;
    console.log(
      `chaos: ${JSON.stringify({ kills: report.kills, killsThatCut: report.killsThatCut, acknowledged: report.acknowledged, runs: report.runs, interrupted: report.interrupted, handlerRepeats: report.handlerRepeats })}`,
    );
    assert.deepEqual(report.integrityFailures, [], 'integrity check after every kill');
    assert.deepEqual(
      report.missingAfterKill.slice(0, 10),
      [],
      'every acknowledged request is in the store after every kill',
    );
    assert.deepEqual(report.lost.slice(0, 10), [], 'every acknowledged request succeeds exactly once');
    assert.deepEqual(report.succeededTwice, [], 'no request succeeds twice');
    assert.deepEqual(report.untraced.slice(0, 10), [], 'every handler start has its run in the store');
    assert.deepEqual(report.interruptedNotRerun, [], 'every interrupted run ran again, to success');
    assert.deepEqual(report.otherOutcomes, [], 'no run ended otherwise (noHandler, launchFailed, appExited)');
    assert.deepEqual(
      report.unexplainedRepeats,
      [],
      'a handler runs again only for a run the store recorded as cut off',
    );
    assert.ok(report.killsThatCut >= KILLS / 4, `the kills cut off running tasks (${report.killsThatCut} of ${KILLS})`);
    assert.ok(report.interrupted > 0);
  });
});
