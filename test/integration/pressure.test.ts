import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { homePaths } from '../../src/shared/paths.js';
import { ROOT, TestHome, run, until, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * Issue 17, item 4, with a real daemon reading this machine's real PSI: three CPU-bound processing tasks
 * (what processing tasks are for) on a 2-core machine under the server profile run to the end, not
 * expired by the CPU pressure they make themselves.
 */
const APP_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'relaunch');
const APP_ID = 'com.test.relaunch';
const CPU_MS = 12_000;

describe('CPU-bound processing tasks under the server profile (real daemon, real PSI)', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;

  before(async () => {
    daemon = await home.startDaemon(['--option', 'profile=server']);
    assert.equal((await home.cli('install', APP_DIR)).code, 0);
  });
  after(async () => {
    await daemon[Symbol.asyncDispose]();
    home.cleanup();
  });

  it('runs three of them to the end', async () => {
    const submitted = await run(process.execPath, ['main.mjs', 'burn', '3', String(CPU_MS)], {
      cwd: APP_DIR,
      env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
    });
    assert.equal(submitted.code, 0, submitted.stderr);
    const rows = (): {
      identifier: string;
      outcome: string | null;
      reason: string | null;
      expiration_reason: string | null;
    }[] => {
      const db = new Database(homePaths(home.home).storeFile, { readonly: true, fileMustExist: true });
      try {
        return db
          .prepare<
            [string],
            { identifier: string; outcome: string | null; reason: string | null; expiration_reason: string | null }
          >('SELECT identifier, outcome, reason, expiration_reason FROM runs WHERE app_id = ? ORDER BY seq')
          .all(APP_ID);
      } finally {
        db.close();
      }
    };
    // They start with the pressure pinned (the machine may be loaded by others: a task that has not
    // started rightly waits), then run under the real sensors: their own load, and everyone else's.
    await until('the three tasks to start', () =>
      home.probeEvents().filter((event) => event['event'] === 'handler').length >= 3 ? true : undefined,
    );
    assert.equal((await home.cli('conditions', 'reset')).code, 0);
    const done = await until(
      'the three tasks to end',
      () => {
        const ended = rows().filter((row) => row.outcome !== null && row.reason !== 'exitedBeforeStart');
        return ended.length >= 3 ? ended : undefined;
      },
      240_000,
    );
    const status = await home.cli('conditions', '--json');
    assert.deepEqual(
      done.map((row) => [row.outcome, row.expiration_reason]),
      [
        ['success', null],
        ['success', null],
        ['success', null],
      ],
      `ended: ${JSON.stringify(done)}; conditions now: ${status.stdout}`,
    );
    assert.equal(
      home.probeEvents().filter((event) => event['event'] === 'expired').length,
      0,
      'no task was told to expire',
    );
  });
});
