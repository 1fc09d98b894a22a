import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { homePaths } from '../../src/shared/paths.js';
import { CHAOS_APP_DIR } from '../support/chaos.js';
import { TestHome, until, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * Blocks of tasks with real processes: the app that holds a block is SIGKILLed in the middle of it. The
 * tasks it had not begun are in line again and run in the app's next process; the ones it had begun are
 * recorded as cut off by its exit and run again; every task succeeds exactly once, and none runs twice
 * unless a run of it was cut off.
 * (The daemon's SIGKILL in the middle of blocks is test/integration/chaos.test.ts: its app takes blocks.)
 */
const APP = 'com.test.chaos';
const TASKS = 400;

describe('blocks of tasks (real daemon, real app processes)', () => {
  const home = new TestHome();
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  it('loses nothing when the app holding a block is killed in the middle of it', async () => {
    const env = { PROBE_DIR: home.probeDir, CHAOS_WORK_MS: '60' };
    daemon = await home.startDaemon(
      [
        '--option',
        'profile=server',
        '--option',
        `maxPendingProcessingPerApp=${TASKS + 100}`,
        '--option',
        'maxConcurrentTasksPerApp=4',
      ],
      env,
    );
    await home.cli(
      'conditions',
      'set',
      'cpuPressure=nominal',
      'memoryPressure=nominal',
      'ioPressure=nominal',
      'thermalState=nominal',
    );
    assert.equal((await home.cli('install', CHAOS_APP_DIR)).code, 0);
    const lines = (file: string): string[] => {
      const path = join(home.probeDir, file);
      return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
    };
    const store = (): Database.Database =>
      new Database(homePaths(home.home).storeFile, { readonly: true, fileMustExist: true });

    // The person's process submits all of them at once (so they go in blocks) and runs them itself.
    const app = spawn(process.execPath, ['main.mjs', 'submit', '0', String(TASKS)], {
      cwd: CHAOS_APP_DIR,
      env: { ...process.env, BGTASKS_HOME: home.home, CHAOS_PACE_MS: '0', ...env },
      stdio: 'ignore',
    });
    await until('every submission acknowledged and a few tasks ended', () =>
      lines('acked.log').length === TASKS && lines('tasks.log').filter((line) => line.startsWith('end ')).length >= 20
        ? true
        : undefined,
    );
    app.kill('SIGKILL');
    await new Promise((resolve) => app.once('exit', resolve));
    const killedPid = app.pid;
    const begunInKilled = new Set(
      lines('tasks.log')
        .filter((line) => line.startsWith('begin '))
        .map((line) => line.split(' ')[2]!),
    );
    const endedInKilled = new Set(
      lines('tasks.log')
        .filter((line) => line.startsWith('end '))
        .map((line) => line.split(' ')[2]!),
    );
    assert.ok(lines('acked.log').length > 0);

    // The daemon launches the app in the background for what is left; wait until nothing is pending or held.
    await until(
      'every task to be done',
      () => {
        const db = store();
        try {
          const pending = (db.prepare('SELECT COUNT(*) AS n FROM requests WHERE app_id = ?').get(APP) as { n: number })
            .n;
          const leases = (db.prepare('SELECT COUNT(*) AS n FROM leases').get() as { n: number }).n;
          const active = (db.prepare("SELECT COUNT(*) AS n FROM runs WHERE state != 'finished'").get() as { n: number })
            .n;
          return pending === 0 && leases === 0 && active === 0 ? true : undefined;
        } finally {
          db.close();
        }
      },
      120_000,
    );

    const db = store();
    const runs = db
      .prepare('SELECT task_id AS taskId, identifier, outcome, reason FROM runs WHERE app_id ' + '= ?')
      .all(APP) as { taskId: string; identifier: string; outcome: string; reason: string | null }[];
    db.close();
    const acked = lines('acked.log');
    assert.equal(acked.length, TASKS, 'every submission was acknowledged');
    const succeeded = new Map<string, number>();
    for (const run of runs)
      if (run.outcome === 'success') succeeded.set(run.identifier, (succeeded.get(run.identifier) ?? 0) + 1);
    const cutOff = runs.filter((run) => run.outcome === 'appExited');
    // A run of the killed process is recorded as cut off by its exit only if it began there (a handler that
    // logged its end just before the kill may not have had its completion sent), or if it was handed over
    // singly and had not begun; either way it is put back.
    const cutRight = (run: { taskId: string; reason: string | null }): boolean =>
      run.reason === 'exitedWhileRunning'
        ? begunInKilled.has(run.taskId)
        : run.reason === 'exitedBeforeStart' && !begunInKilled.has(run.taskId);
    assert.deepEqual(
      cutOff.filter((run) => !cutRight(run)),
      [],
      'only what the killed process held is recorded as cut off by its exit, and ' + 'put back',
    );
    assert.ok(
      begunInKilled.size < TASKS,
      `the kill found tasks of the block not begun yet (${begunInKilled.size} ` + `begun of ${TASKS})`,
    );
    const cutIdentifiers = new Set(cutOff.map((run) => run.identifier));
    for (const identifier of acked) assert.equal(succeeded.get(identifier) ?? 0, 1, `${identifier} succeeded once`);
    assert.deepEqual(
      runs.filter((run) => !['success', 'appExited'].includes(run.outcome)),
      [],
      'no other ends, and no run for a task given back before it began',
    );
    const begins = new Map<string, number>();
    for (const line of lines('tasks.log').filter((l) => l.startsWith('begin ')))
      begins.set(line.split(' ')[1]!, (begins.get(line.split(' ')[1]!) ?? 0) + 1);
    for (const [identifier, count] of begins)
      assert.ok(
        count === 1 || cutIdentifiers.has(identifier),
        `${identifier} began ${count} times without a run cut off`,
      );
    assert.ok(
      runs.some((run) => run.outcome === 'success' && !endedInKilled.has(run.taskId)),
      `the app's next process (not ${killedPid}) ran the rest`,
    );
  });
});
