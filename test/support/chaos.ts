/**
 * The daemon killed with SIGKILL at random moments while the chaos fixture app submits and runs tasks;
 * then what the store and the app's logs say, checked against the promises of docs/reliability.md. Used
 * by test/integration/chaos.test.ts (20 kills, bounded) and bench/soak.ts (an hour at sustained load).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { homePaths } from '../../src/shared/paths.js';
import { ROOT, type DaemonProcess, type TestHome } from './daemonProcess.js';

export const CHAOS_APP_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'chaos');
const APP = 'com.test.chaos';

export interface ChaosOptions {
  /** How many times to kill the daemon; or, with `durationMs`, at most this many. */
  readonly kills: number;
  /** Keep killing until this much time has passed (the soak); without it, `kills` kills. */
  readonly durationMs?: number;
  /** Tasks the submitter submits, in chunks of 25, one chunk every `paceMs`. */
  readonly tasks: number;
  readonly paceMs: number;
  /** A handler works a random time under this. */
  readonly workMs: number;
  /** The time between a restart and the next kill is random in [minGapMs, maxGapMs). */
  readonly minGapMs: number;
  readonly maxGapMs: number;
  /** How long the system may take to settle after the last kill (a failure guard, not a measure). */
  readonly settleGuardMs: number;
}

interface RunRow {
  readonly taskId: string;
  readonly identifier: string;
  readonly state: string;
  readonly outcome: string | null;
  readonly reason: string | null;
}

/** What a chaos run found; every list is empty when the promises held. */
export interface ChaosReport {
  readonly kills: number;
  /** Kills that found tasks running (so they cut something off). */
  readonly killsThatCut: number;
  readonly acknowledged: number;
  readonly runs: number;
  readonly interrupted: number;
  /** Handler starts beyond the first, per request: each must be a run the store recorded as cut off. */
  readonly handlerRepeats: number;
  readonly integrityFailures: readonly string[];
  /** Acknowledged requests missing from the store right after a kill. */
  readonly missingAfterKill: readonly string[];
  /** Acknowledged requests that did not succeed exactly once in the end. */
  readonly lost: readonly string[];
  readonly succeededTwice: readonly string[];
  /** Handler starts whose run is not in the store. */
  readonly untraced: readonly string[];
  readonly interruptedNotRerun: readonly string[];
  readonly otherOutcomes: readonly string[];
  readonly unexplainedRepeats: readonly string[];
}

interface StoreView {
  readonly integrity: string;
  readonly pending: Set<string>;
  readonly runs: RunRow[];
  /** Blocks of tasks handed to the app and not finished (their runs are written when they finish). */
  readonly leases: number;
}

function readStore(home: TestHome): StoreView {
  const db = new Database(homePaths(home.home).storeFile, { readonly: true, fileMustExist: true });
  try {
    const integrity = String(db.pragma('integrity_check', { simple: true }));
    const pending = new Set(
      db
        .prepare<[string], { identifier: string }>('SELECT identifier FROM requests WHERE app_id = ?')
        .all(APP)
        .map((row) => row.identifier),
    );
    const runs = db
      .prepare<[string], RunRow>(
        'SELECT task_id AS taskId, identifier, state, outcome, reason FROM runs WHERE ' + 'app_id = ? ORDER BY seq',
      )
      .all(APP);
    const leases = db.prepare<[string], { n: number }>('SELECT COUNT(*) AS n FROM leases WHERE app_id = ?').get(APP)!.n;
    return { integrity, pending, runs, leases };
  } finally {
    db.close();
  }
}

function lines(home: TestHome, file: string): string[] {
  const path = join(home.probeDir, file);
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

function randomBetween(min: number, max: number): number {
  return min + Math.floor(Math.random() * (max - min));
}

/**
 * Runs the chaos on a daemon started with `start` (called again after each kill), with the chaos app
 * installed; returns the final daemon (still running) and the report.
 */
export async function runChaos(
  home: TestHome,
  start: () => Promise<DaemonProcess>,
  options: ChaosOptions,
  onKill?: (kill: number) => void,
): Promise<{ daemon: DaemonProcess; report: ChaosReport }> {
  let daemon = await start();
  const installed = await home.cli('install', CHAOS_APP_DIR);
  if (installed.code !== 0) throw new Error(`install failed: ${installed.stderr}`);
  const submitter = spawn(process.execPath, ['main.mjs', 'submit', '0', String(options.tasks)], {
    cwd: CHAOS_APP_DIR,
    env: {
      ...process.env,
      BGTASKS_HOME: home.home,
      PROBE_DIR: home.probeDir,
      CHAOS_PACE_MS: String(options.paceMs),
      CHAOS_WORK_MS: String(options.workMs),
    },
    stdio: 'ignore',
  });
  const submitterDone = new Promise<void>((resolve) => submitter.once('exit', () => resolve()));
  const startedAt = Date.now();
  const integrityFailures: string[] = [];
  const missingAfterKill = new Set<string>();
  let kills = 0;
  let killsThatCut = 0;
  try {
    while (kills < options.kills && (options.durationMs === undefined || Date.now() - startedAt < options.durationMs)) {
      await sleep(randomBetween(options.minGapMs, options.maxGapMs));
      await daemon.kill('SIGKILL');
      kills++;
      const store = readStore(home);
      if (store.integrity !== 'ok') integrityFailures.push(`after kill ${kills}: ${store.integrity}`);
      const withRun = new Set(store.runs.map((run) => run.identifier));
      for (const identifier of lines(home, 'acked.log'))
        if (!store.pending.has(identifier) && !withRun.has(identifier)) missingAfterKill.add(identifier);
      if (store.leases > 0 || store.runs.some((run) => run.state !== 'finished')) killsThatCut++;
      onKill?.(kills);
      daemon = await start();
    }
    // A soak stops submitting at its end (SIGTERM: the app finishes the handlers it runs, then exits when
    // idle); the bounded test lets the submitter finish its count.
    if (options.durationMs !== undefined) submitter.kill('SIGTERM');
    await settle(home, submitterDone, options.settleGuardMs);
  } finally {
    submitter.kill('SIGKILL');
  }
  return {
    daemon,
    report: check(home, { kills, killsThatCut, integrityFailures, missingAfterKill: [...missingAfterKill] }),
  };
}

/** Waits until the submitter is done and nothing is pending or running. */
async function settle(home: TestHome, submitterDone: Promise<void>, guardMs: number): Promise<void> {
  const deadline = Date.now() + guardMs;
  let done = false;
  void submitterDone.then(() => (done = true));
  for (;;) {
    const store = readStore(home);
    if (done && store.pending.size === 0 && store.leases === 0 && store.runs.every((run) => run.state === 'finished'))
      return;
    if (Date.now() > deadline)
      throw new Error(
        `the system did not settle: ${store.pending.size} pending, ` +
          `${store.runs.filter((run) => run.state !== 'finished').length} running`,
      );
    await sleep(200);
  }
}

function check(
  home: TestHome,
  during: Pick<ChaosReport, 'kills' | 'killsThatCut' | 'integrityFailures' | 'missingAfterKill'>,
): ChaosReport {
  const store = readStore(home);
  const integrityFailures =
    store.integrity === 'ok'
      ? [...during.integrityFailures]
      : [...during.integrityFailures, `at the end: ${store.integrity}`];
  const acknowledged = lines(home, 'acked.log');
  const successes = new Map<string, number>();
  for (const run of store.runs)
    if (run.outcome === 'success') successes.set(run.identifier, (successes.get(run.identifier) ?? 0) + 1);
  const byTask = new Map(store.runs.map((run) => [run.taskId, run]));
  const begins = lines(home, 'tasks.log')
    .filter((line) => line.startsWith('begin '))
    .map((line) => line.split(' '));
  const beginsPer = new Map<string, number>();
  for (const [, identifier] of begins) beginsPer.set(identifier!, (beginsPer.get(identifier!) ?? 0) + 1);
  const runsPer = new Map<string, number>();
  // A task handed to the submitter as it exited, before its handler began, is put back: not a run that ran.
  for (const run of store.runs)
    if (run.reason !== 'exitedBeforeStart') runsPer.set(run.identifier, (runsPer.get(run.identifier) ?? 0) + 1);
  const interrupted = store.runs.filter((run) => run.outcome === 'interrupted');
  return {
    ...during,
    integrityFailures,
    acknowledged: acknowledged.length,
    runs: store.runs.length,
    interrupted: interrupted.length,
    handlerRepeats: [...beginsPer.values()].reduce((sum, count) => sum + count - 1, 0),
    lost: acknowledged.filter((identifier) => successes.get(identifier) !== 1),
    succeededTwice: [...successes].filter(([, count]) => count > 1).map(([identifier]) => identifier),
    untraced: begins
      .filter(([, , taskId]) => !byTask.has(taskId!))
      .map(([, identifier, taskId]) => `${identifier} ${taskId}`),
    interruptedNotRerun: interrupted.filter((run) => successes.get(run.identifier) !== 1).map((run) => run.identifier),
    // Issue 17: a run whose process exited mid-handler is put back and runs again too (`exitedWhileRunning`).
    otherOutcomes: store.runs
      .filter(
        (run) =>
          run.outcome !== 'success' &&
          run.outcome !== 'interrupted' &&
          run.reason !== 'exitedBeforeStart' &&
          run.reason !== 'exitedWhileRunning',
      )
      .map((run) => `${run.identifier}: ${run.outcome} (${run.reason})`),
    unexplainedRepeats: [...beginsPer]
      .filter(([identifier, count]) => count > (runsPer.get(identifier) ?? 0))
      .map(([identifier, count]) => `${identifier}: ${count} starts`),
  };
}
