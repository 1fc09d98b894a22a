import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { homePaths } from '../../src/shared/paths.js';
import { ROOT, run, TestHome, until, type DaemonProcess } from '../support/daemonProcess.js';

const CITIZEN_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'chaos');

/**
 * The store does not only grow (issue 17, item 10): a real daemon told to keep 2 runs per app and to
 * prune every half second drops the older runs of an app that ran 5, and `status` and `doctor` show it.
 */
describe('history pruning (real daemon)', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;

  before(async () => {
    daemon = await home.startDaemon(['--option', 'profile=server'], {
      BGTASKS_HISTORY_PRUNE_INTERVAL_MS: '500',
      BGTASKS_HISTORY_MAX_RUNS_PER_APP: '2',
    });
    assert.equal((await home.cli('install', CITIZEN_DIR)).code, 0);
  });
  after(async () => {
    await daemon[Symbol.asyncDispose]();
    home.cleanup();
  });

  const finishedRuns = (): number => {
    const db = new Database(homePaths(home.home).storeFile, { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare<[], { n: number }>(
          `SELECT COUNT(*) AS n FROM runs WHERE app_id = 'com.test.chaos' AND state = ` + `'finished'`,
        )
        .get()!.n;
    } finally {
      db.close();
    }
  };
  const ended = (): number => {
    const file = join(home.probeDir, 'tasks.log');
    return existsSync(file)
      ? readFileSync(file, 'utf8')
          .split('\n')
          .filter((line) => line.startsWith('end ')).length
      : 0;
  };

  it('keeps at most maxRunsPerApp finished runs, and status and doctor say so', async () => {
    for (let n = 0; n < 5; n++) {
      const submitted = await run(process.execPath, ['main.mjs', 'one', `com.test.chaos.job.prune-${n}`], {
        cwd: CITIZEN_DIR,
        env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
      });
      assert.equal(submitted.code, 0, submitted.stderr);
      await until(`task ${n} to run`, () => (ended() > n ? true : undefined));
    }
    await until('the older runs to be pruned', () => (finishedRuns() <= 2 ? true : undefined));
    const status = await until('status to show a pass that pruned', async () => {
      const reply = (await home.cli('status', '--json')).json<{
        history: { runs: number; maxRunsPerApp: number; lastPrunedAt: number | null };
      }>();
      return reply.history.lastPrunedAt !== null && reply.history.runs <= 2 ? reply : undefined;
    });
    assert.equal(status.history.maxRunsPerApp, 2);
    const text = await home.cli('status');
    assert.match(text.stdout, /history: \d+ runs, \d+ events, [\d.]+ MB; kept 30 days or 2 runs per app/);
    const doctor = await home.cli('doctor');
    assert.match(doctor.stdout, /history: \d+ runs/);
  });
});
