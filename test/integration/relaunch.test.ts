import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { homePaths } from '../../src/shared/paths.js';
import { ROOT, TestHome, run, until, type DaemonProcess } from '../support/daemonProcess.js';

/**
 * Issue 17, items 1 and 2, with a real daemon, real app processes and a real SQLite store: work handed to
 * a process that then goes away is not lost. An app that submits and calls process.exit() has all its
 * tasks run (in background launches); a chain of self-resubmitting tasks survives repeated SIGKILLs of
 * the app and a SIGKILL of the daemon (the successor's submit() does not throw); a task that kills its
 * process every time is still given up after three.
 */
const APP_DIR = join(ROOT, 'test', 'fixtures', 'apps', 'relaunch');
const APP_ID = 'com.test.relaunch';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface RunRow {
  readonly identifier: string;
  readonly outcome: string | null;
  readonly reason: string | null;
}

describe('runs whose process goes away run again (real daemon)', () => {
  let home: TestHome;
  let daemon: DaemonProcess;
  const homes: TestHome[] = [];

  const runs = (): RunRow[] => {
    const db = new Database(homePaths(home.home).storeFile, { readonly: true, fileMustExist: true });
    try {
      return db
        .prepare<[string], RunRow>('SELECT identifier, outcome, reason FROM runs WHERE app_id = ? ORDER BY seq')
        .all(APP_ID);
    } finally {
      db.close();
    }
  };
  const succeeded = (identifier: string): boolean =>
    runs().some((row) => row.identifier === identifier && row.outcome === 'success');
  const events = (): Record<string, unknown>[] => home.probeEvents();
  const app = (...args: string[]) =>
    run(process.execPath, ['main.mjs', ...args], {
      cwd: APP_DIR,
      env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
    });
  const startDaemon = async (options: string[] = []): Promise<DaemonProcess> =>
    home.startDaemon(['--option', 'profile=server', ...options]);

  beforeEach(async () => {
    home = new TestHome();
    homes.push(home);
    daemon = await startDaemon();
    assert.equal((await home.cli('install', APP_DIR)).code, 0);
  });
  afterEach(async () => {
    await daemon[Symbol.asyncDispose]();
  });
  after(() => {
    for (const each of homes) each.cleanup();
  });

  it('runs every task of an app that submits processing requests and calls process.exit() right after', async () => {
    writeFileSync(join(home.probeDir, 'config.json'), JSON.stringify({ workMs: 1500 }));
    const tool = await app('submit', '5', '300');
    assert.equal(tool.code, 0, tool.stderr);
    const identifiers = Array.from({ length: 5 }, (_, index) => `com.test.relaunch.job.${index}`);
    await until('every job to succeed', () => (identifiers.every(succeeded) ? true : undefined));
    const cut = runs().filter((row) => row.outcome === 'appExited');
    assert.ok(cut.length > 0, 'the tool took tasks and exited with them (else this test tests nothing)');
    assert.ok(
      cut.every((row) => row.reason === 'exitedWhileRunning' || row.reason === 'exitedBeforeStart'),
      JSON.stringify(cut),
    );
    const relaunched = events().filter((event) => event['event'] === 'start' && event['launchReason'] === 'background');
    assert.ok(relaunched.length >= 1, 'relaunched in the background');
    for (const identifier of identifiers)
      assert.equal(
        runs().filter((row) => row.identifier === identifier && row.outcome === 'success').length,
        1,
        `${identifier} succeeded once`,
      );
    const why = await home.cli('history', '--events', '--limit', '500', '--json', APP_ID);
    assert.match(why.stdout, /requeued/, 'history says the tasks were run again');
  });

  it('finishes every step of a chain of self-resubmitting tasks through repeated SIGKILLs of the app', async () => {
    const LENGTH = 12;
    writeFileSync(join(home.probeDir, 'config.json'), JSON.stringify({ workMs: 600 }));
    assert.equal((await app('chain', String(LENGTH))).code, 0);
    const step = (index: number): string => `com.test.relaunch.chain.${LENGTH}.${index}`;
    let kills = 0;
    for (let round = 0; round < 5; round++) {
      // Kill the process that holds a step mid-handler, then wait for a step to finish before the next
      // kill, so no step dies with three processes in a row (that is the crash-loop rule, tested below).
      const doneBefore = events().filter((event) => event['event'] === 'done').length;
      const handler = await until('a step to be in hand', () => {
        const all = events();
        const last = all.findLast((event) => event['event'] === 'handler');
        const finished =
          last &&
          all.some(
            (event) =>
              event['event'] === 'done' && event['pid'] === last['pid'] && event['identifier'] === last['identifier'],
          );
        return last && !finished && isAlive(Number(last['pid'])) ? last : undefined;
      });
      if (String(handler['identifier']) === step(LENGTH - 1)) break;
      try {
        process.kill(Number(handler['pid']), 'SIGKILL');
        kills++;
      } catch {
        continue; // it had already finished
      }
      await until('a step to finish after the kill', () =>
        events().filter((event) => event['event'] === 'done').length > doneBefore ? true : undefined,
      );
    }
    await until('the last step to succeed', () => (succeeded(step(LENGTH - 1)) ? true : undefined), 120_000);
    assert.ok(kills >= 3, `the app was killed mid-step ${kills} times`);
    for (let index = 0; index < LENGTH; index++) assert.ok(succeeded(step(index)), `${step(index)} finished`);
    assert.ok(
      runs().some((row) => row.reason === 'exitedWhileRunning'),
      'a killed step ran again',
    );
    assert.deepEqual(
      events().filter((event) => event['event'] === 'submitError'),
      [],
      'no successor submission failed',
    );
  });

  it(
    'continues a chain after the daemon is SIGKILLed mid-step: a put-back step ' +
      "does not count against the app's limit",
    async () => {
      const LENGTH = 4;
      await daemon[Symbol.asyncDispose]();
      // One pending processing request per app: the interrupted step, put back, and its successor would be two.
      const options = ['--option', 'maxPendingProcessingPerApp=1'];
      daemon = await startDaemon(options);
      writeFileSync(join(home.probeDir, 'config.json'), JSON.stringify({ workMs: 1500 }));
      assert.equal((await app('chain', String(LENGTH))).code, 0);
      const step = (index: number): string => `com.test.relaunch.chain.${LENGTH}.${index}`;
      // Step 1 has submitted step 2 (due after step 1's work) and is working. Processing is held from now
      // on (a pinned CPU pressure; it does not stop a running task on the server profile), so that after
      // the restart step 1 stays pending, put back, next to step 2, as it would behind other work.
      await until('step 1 to submit its successor', () =>
        events().some((event) => event['event'] === 'submitted' && event['identifier'] === step(2)) ? true : undefined,
      );
      assert.equal((await home.cli('conditions', 'set', 'cpuPressure=critical')).code, 0);
      await daemon.kill('SIGKILL');
      daemon = await home.startDaemon(['--option', 'profile=server', ...options], {}, { pinConditions: false });
      const pending = await home.cli('pending', '--json');
      assert.match(pending.stdout, new RegExp(step(1)), 'step 1 is pending again');
      // Step 1 runs again and submits its successor again, as its handler does: accepted.
      assert.equal((await app('step', String(LENGTH), '2')).code, 0);
      const submitErrors = events().filter((event) => event['event'] === 'submitError');
      assert.deepEqual(submitErrors, [], "the successor's submit() did not throw tooManyPendingTaskRequests");
      assert.equal((await home.cli('conditions', 'set', 'cpuPressure=nominal')).code, 0);
      await until('the last step to succeed', () => (succeeded(step(LENGTH - 1)) ? true : undefined), 120_000);
      for (let index = 0; index < LENGTH; index++) assert.ok(succeeded(step(index)), `${step(index)} finished`);
      assert.ok(
        runs().some((row) => row.identifier === step(1) && row.outcome === 'interrupted'),
        'the kill cut step 1 off',
      );
      assert.deepEqual(
        events().filter((event) => event['event'] === 'submitError'),
        [],
        'no submission failed',
      );
    },
  );

  it('still gives up a task that kills its process, after three processes in a row', async () => {
    assert.equal((await app('crash')).code, 0);
    const given = await until('the crashing task to be given up', () =>
      runs().find((row) => row.identifier === 'com.test.relaunch.crash' && row.reason === 'appExited'),
    );
    assert.equal(given.outcome, 'appExited');
    // A little longer: nothing more comes of it.
    await until('no more launches', async () => ((await home.cli('status')).code === 0 ? true : undefined));
    const attempts = runs().filter((row) => row.identifier === 'com.test.relaunch.crash');
    assert.equal(attempts.length, 3, JSON.stringify(attempts));
    // The first process is the person's, which exits right after submitting (perhaps before the start).
    assert.match(String(attempts[0]?.reason), /^exited(BeforeStart|WhileRunning)$/);
    assert.deepEqual(
      attempts.slice(1).map((row) => row.reason),
      ['exitedWhileRunning', 'appExited'],
    );
    assert.equal(daemon.child.exitCode, null);
  });
});
