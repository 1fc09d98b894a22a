import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { homePaths } from '../../src/shared/paths.js';
import { ROOT, TestHome, run, until, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * Issue 17, item 3, on one machine (SQLite), with a real daemon and real app processes: the daemon is
 * SIGKILLed at the worst moment of a chain, while step 0's handler still runs after it submitted step 1,
 * and step 1 (and step 2 after it) have already run. The restarted daemon recovers step 0 as interrupted
 * and runs it again; its handler submits step 1 again, which is taken as already done: step 1 and step 2
 * run once each.
 */
const APP_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'chain-steps');
const APP_ID = 'com.test.chainsteps';
const step = (n: number) => `com.test.chainsteps.step.${n}`;

interface RunRow {
  readonly identifier: string;
  readonly task_id: string;
  readonly request_id: string;
  readonly started_at: number | null;
  readonly outcome: string | null;
  readonly reason: string | null;
}

describe('a chain whose daemon is killed mid-step (real daemon, SQLite)', () => {
  const home = new TestHome();
  let daemon: DaemonProcess | undefined;
  after(async () => {
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  const runs = (): RunRow[] => {
    const db = new Database(homePaths(home.home).storeFile, { readonly: true, fileMustExist: true });
    try {
      const columns = 'identifier, task_id, request_id, started_at, outcome, reason';
      return db.prepare<[string], RunRow>(`SELECT ${columns} FROM runs WHERE app_id = ? ORDER BY seq`).all(APP_ID);
    } finally {
      db.close();
    }
  };
  const log = (): string[] => {
    const file = join(home.probeDir, 'tasks.log');
    return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
  };
  const startDaemon = () => home.startDaemon(['--option', 'profile=server'], { PROBE_DIR: home.probeDir });

  it('runs the re-run step again, but not the successors it had submitted before the kill', async () => {
    daemon = await startDaemon();
    assert.equal((await home.cli('install', APP_DIR)).code, 0);
    const hold = join(home.probeDir, 'hold');
    writeFileSync(hold, '');
    const env = { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir };
    const started = await run(process.execPath, ['main.mjs', 'start'], { cwd: APP_DIR, env });
    assert.equal(started.code, 0, started.stderr);

    // The worst moment: step 0 holds after submitting step 1; step 1 and step 2 have finished.
    await until('steps 1 and 2 to succeed while step 0 holds', () => {
      const rows = runs();
      const done = [1, 2].every((n) => rows.some((row) => row.identifier === step(n) && row.outcome === 'success'));
      return done && rows.some((row) => row.identifier === step(0) && row.outcome === null) ? true : undefined;
    });
    await daemon.kill('SIGKILL');
    const firstRun = runs().find((row) => row.identifier === step(0) && row.outcome === null);
    rmSync(hold);

    daemon = await startDaemon();
    const rows = await until('step 0 to run again and succeed', () => {
      const now = runs();
      return now.some((row) => row.identifier === step(0) && row.outcome === 'success') ? now : undefined;
    });
    // What the re-run submitted is written before its completion: the daemon has it by now.
    const submissionsOfStep1 = () => log().filter((line) => line.startsWith(`submitted ${step(1)} `)).length;
    await until('the re-run to have submitted step 1 again', () => (submissionsOfStep1() >= 2 ? true : undefined));

    // Runs that began (one handed to the `start` process as it exited is put back unstarted: not a run).
    const ofStep = (n: number) => runs().filter((row) => row.identifier === step(n) && row.started_at !== null);
    assert.deepEqual(
      ofStep(0).map((row) => row.outcome),
      ['interrupted', 'success'],
      'step 0 was cut off, ran again',
    );
    assert.equal(ofStep(0)[1]!.request_id, firstRun!.request_id, 'the recovered step 0 is the same request');
    const evidence = () => {
      const db = new Database(homePaths(home.home).storeFile, { readonly: true, fileMustExist: true });
      try {
        const events = db.prepare('SELECT identifier, task_id, type, reason, detail FROM events ORDER BY seq').all();
        return JSON.stringify({ runs: runs(), events, log: log() });
      } finally {
        db.close();
      }
    };
    assert.equal(ofStep(1).length, 1, `step 1 ran once: ${evidence()}`);
    assert.equal(ofStep(2).length, 1, 'step 2 ran once');
    assert.equal(log().filter((line) => line.startsWith(`begin ${step(1)} `)).length, 1, "step 1's handler began once");
    assert.ok(rows.length >= 4);

    const history = await home.cli('history', '--events', '--limit', '200', '--json', APP_ID);
    assert.equal(history.code, 0, history.stderr);
    assert.match(history.stdout, /submittedByEarlierAttempt/, 'history says why the repeat changed nothing');
    const why = await home.cli('why', APP_ID, step(1));
    assert.match(why.stdout, /submitted +submittedByEarlierAttempt: .*already submitted by an earlier attempt/);
  });
});
