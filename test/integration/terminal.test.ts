import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT, TestHome, run, until, type DaemonProcess, type EventWatcher } from '../support/daemonProcess.js';

/**
 * What a new user does from the terminal (issue 20), through the real `bgtasks` command, a real daemon
 * and a real app (test/fixtures/apps/dash-export: continued exports, processing work, a refresh):
 * `run` never hands a handler a task of another kind, `cancel` stops what the person started, `stop`
 * stops the daemon cleanly.
 */
const DASH_APP = join(ROOT, 'test', 'fixtures', 'apps', 'dash-export');
const APP = 'com.test.dash';

interface Handled {
  event: string;
  identifier: string;
  kind?: string;
  expirationReason?: string | null;
}

describe('the bgtasks command as a new user uses it', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let watcher: EventWatcher;
  const exporters: ChildProcess[] = [];

  const handled = (identifier: string): Handled[] =>
    home
      .probeEvents()
      .filter((event) => event.identifier === identifier && event.event === 'handler') as unknown as Handled[];
  const finished = (taskId: string) =>
    watcher.next(
      (event) => event.what === 'runUpdate' && event.taskId === taskId && event.state === 'finished',
      `task ${taskId} to finish`,
    );
  const exportApp = (...numbers: string[]): void => {
    exporters.push(
      spawn(process.execPath, ['main.mjs', 'export', ...numbers], {
        cwd: DASH_APP,
        env: { ...process.env, BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
        stdio: 'ignore',
      }),
    );
  };
  const runningTask = (identifier: string) =>
    until(`${identifier} to run`, async () => {
      const snapshot = (await home.cli('top', '--once', '--json')).json<{
        running: { taskId: string; identifier: string; state: string }[];
      }>();
      return snapshot.running.find((task) => task.identifier === identifier && task.state === 'running');
    });

  before(async () => {
    daemon = await home.startDaemon(['--option', 'maxContinuedTasks=1', '--option', 'appIdleTimeoutMs=1000']);
    watcher = await daemon.watch();
    const installed = await home.cli('install', DASH_APP);
    assert.equal(installed.code, 0, installed.stderr);
  });

  after(async () => {
    for (const exporter of exporters) exporter.kill('SIGKILL');
    await watcher?.[Symbol.asyncDispose]();
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  it(
    'run: an identifier that never ran needs --kind; then it runs as what it is, ' + 'and another --kind is refused',
    async () => {
      const unknown = await home.cli('run', APP, 'com.test.dash.work.a');
      assert.equal(unknown.code, 1);
      assert.match(
        unknown.stderr,
        /never ran, so its kind is unknown: give --kind refresh or --kind processing \(field: kind\) \[notPending\]/,
      );
      assert.deepEqual(handled('com.test.dash.work.a'), [], 'no handler was handed anything');

      const first = await home.cli('run', APP, 'com.test.dash.work.a', '--kind', 'processing', '--json');
      assert.equal(first.code, 0, first.stderr);
      await finished(first.json<{ taskId: string }>().taskId);
      const again = await home.cli('run', APP, 'com.test.dash.work.a', '--json');
      assert.equal(again.code, 0, again.stderr);
      await finished(again.json<{ taskId: string }>().taskId);
      assert.deepEqual(
        handled('com.test.dash.work.a').map((event) => event.kind),
        ['processing', 'processing'],
        'run as what it last ran as',
      );

      const wrong = await home.cli('run', APP, 'com.test.dash.work.a', '--kind', 'refresh');
      assert.equal(wrong.code, 1);
      assert.match(
        wrong.stderr,
        /is a processing task \(it last ran as processing\); it cannot run as refresh \(field: kind\) \[wrongKind\]/,
      );
      assert.equal(handled('com.test.dash.work.a').length, 2);
    },
  );

  it(
    'cancel: a queued continued task, a running one by identifier (its expiration ' + 'handler runs) and by task id',
    async () => {
      exportApp('1', '2');
      await runningTask('com.test.dash.export.1');
      // maxContinuedTasks=1: export 2 waits in line; the person takes it out.
      await until('export 2 in line', async () =>
        (await home.cli('pending', APP, '--json'))
          .json<{ identifier: string }[]>()
          .find((request) => request.identifier === 'com.test.dash.export.2'),
      );
      const queued = await home.cli('cancel', APP, 'com.test.dash.export.2');
      assert.equal(queued.code, 0, queued.stderr);
      assert.match(queued.stdout, /com\.test\.dash\.export\.2: pending continued request removed/);

      const byIdentifier = await home.cli('cancel', APP, 'com.test.dash.export.1', '--json');
      assert.equal(byIdentifier.code, 0, byIdentifier.stderr);
      const [cancelled] = byIdentifier.json<{ cancelled: { what: string; taskId: string; kind: string }[] }>()
        .cancelled;
      assert.deepEqual([cancelled?.what, cancelled?.kind], ['task', 'continued']);
      const expired = await until('the expiration handler', () =>
        home.probeEvents().find((event) => event.event === 'expired' && event.identifier === 'com.test.dash.export.1'),
      );
      assert.equal(expired.expirationReason, 'userCancelled');
      await finished(cancelled!.taskId);
      const [history] = (await home.cli('history', APP, 'com.test.dash.export.1', '--json')).json<
        { expirationReason: string }[]
      >();
      assert.equal(history?.expirationReason, 'userCancelled');
      // The table shows why it expired too (folded into REASON), not only --json.
      assert.match(
        (await home.cli('history', APP, 'com.test.dash.export.1')).stdout,
        /^com\.test\.dash\s.*expired: userCancelled/m,
      );
      assert.equal(
        (await home.cli('pending', APP, '--json')).json<unknown[]>().length,
        0,
        'export 2 is gone from the line',
      );

      exportApp('3');
      const task = await runningTask('com.test.dash.export.3');
      const byTaskId = await home.cli('cancel', APP, task.taskId);
      assert.equal(byTaskId.code, 0, byTaskId.stderr);
      assert.match(byTaskId.stdout, new RegExp(`task ${task.taskId} cancelled \\(continued`));
      await finished(task.taskId);

      const nothing = await home.cli('cancel', APP, 'com.test.dash.export.9');
      assert.equal(nothing.code, 1);
      assert.match(
        nothing.stderr,
        /no running task or pending request com\.test\.dash\.export\.9.*\[nothingToCancel\]/,
      );
      assert.equal((await home.cli('cancel', 'com.test.nothere')).code, 1);
      assert.equal((await home.cli('cancel', 'not an app')).code, 2);
    },
  );

  it('run refuses a continued identifier with nothing pending, and a --kind that is not its kind', async () => {
    const continued = await home.cli('run', APP, 'com.test.dash.export.1');
    assert.equal(continued.code, 1);
    assert.match(continued.stderr, /is a continued processing task and none is pending.*\[notPending\]/);
    const asProcessing = await home.cli('run', APP, 'com.test.dash.export.1', '--kind', 'processing');
    assert.equal(asProcessing.code, 1);
    assert.match(asProcessing.stderr, /\[wrongKind\]/);
    assert.equal(handled('com.test.dash.export.1').length, 1, 'only the export the person started reached the handler');
  });

  it('cancel: a pending request, and with no target every pending request of the app', async () => {
    assert.equal((await home.cli('conditions', 'set', 'power=battery')).code, 0);
    const work = await run(process.execPath, ['main.mjs', 'work'], {
      cwd: DASH_APP,
      env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
    });
    assert.equal(work.code, 0, work.stderr);
    const one = await home.cli('cancel', APP, 'com.test.dash.work.power');
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /com\.test\.dash\.work\.power: pending processing request removed/);
    const pending = (await home.cli('pending', APP, '--json'))
      .json<{ identifier: string }[]>()
      .map((request) => request.identifier);
    assert.ok(!pending.includes('com.test.dash.work.power'), pending.join(', '));
    const rerun = await run(process.execPath, ['main.mjs', 'work'], {
      cwd: DASH_APP,
      env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
    });
    assert.equal(rerun.code, 0, rerun.stderr);
    const all = await home.cli('cancel', APP, '--json');
    assert.equal(all.code, 0, all.stderr);
    assert.ok(
      all
        .json<{ cancelled: { identifier: string }[] }>()
        .cancelled.some((item) => item.identifier === 'com.test.dash.work.power'),
    );
    assert.deepEqual((await home.cli('pending', APP, '--json')).json<unknown[]>(), []);
    assert.equal((await home.cli('conditions', 'set', 'power=ac')).code, 0); // not reset: the pinned pressures stay
  });

  it(
    'a refresh that ran once and never again is shown by apps, why --app and ' +
      'doctor, with the fix, until it is pending again',
    async () => {
      const work = () =>
        run(process.execPath, ['main.mjs', 'work'], {
          cwd: DASH_APP,
          env: { BGTASKS_HOME: home.home, PROBE_DIR: home.probeDir },
        });
      const refreshes = async (): Promise<number> =>
        (await home.cli('history', APP, 'com.test.dash.refresh', '--json'))
          .json<{ outcome: string | null }[]>()
          .filter((each) => each.outcome === 'success').length;
      const before = await refreshes();
      assert.equal((await work()).code, 0);
      // Its earliestBeginDate is 1.5 s away; its handler submits nothing.
      await until('the refresh to run', async () => ((await refreshes()) > before ? true : undefined), 20_000).catch(
        async (error: unknown) => {
          throw new Error(
            `${String(error)}\n${(await home.cli('why', APP, 'com.test.dash.refresh')).stdout}\n${(await home.cli('history', APP)).stdout}`,
          );
        },
      );
      const apps = await home.cli('apps');
      assert.match(
        apps.stdout,
        /WARNING com\.test\.dash: com\.test\.dash\.refresh ran once and will not run again: it has no interval, nothing is pending, and its handler did not submit it again while it ran \(last run .*\); fix: submit the next request from the handler \(the Apple pattern\), or give the request an interval/,
      );
      const [listed] = (await home.cli('apps', '--json')).json<{ ranOnce: { identifier: string; code: string }[] }[]>();
      assert.deepEqual(
        listed?.ranOnce.map((warning) => [warning.code, warning.identifier]),
        [['ranOnce', 'com.test.dash.refresh']],
      );
      assert.match(
        (await home.cli('why', '--app', APP)).stdout,
        /WARNING com\.test\.dash: com\.test\.dash\.refresh ran once and will not run again/,
      );
      const doctor = await home.cli('doctor', '--json');
      const check = doctor
        .json<{ checks: { id: string; status: string; fix: string }[] }>()
        .checks.find((each) => each.id === 'apps.com.test.dash.ranOnce.com.test.dash.refresh');
      assert.equal(check?.status, 'warn', doctor.stdout);
      assert.match(
        check!.fix,
        /in com\.test\.dash's handler for com\.test\.dash\.refresh: submit the next request from the handler/,
      );
      // Submitted again (the person opens the app): pending (held by CPU pressure, so it stays so), nothing to warn
      // about.
      assert.equal((await home.cli('conditions', 'set', 'cpuPressure=critical')).code, 0);
      assert.equal((await work()).code, 0);
      assert.deepEqual((await home.cli('apps', '--json')).json<{ ranOnce: unknown[] }[]>()[0]?.ranOnce, []);
      assert.doesNotMatch((await home.cli('why', '--app', APP)).stdout, /WARNING/);
      assert.equal((await home.cli('cancel', APP)).code, 0);
      assert.equal((await home.cli('conditions', 'set', 'cpuPressure=nominal')).code, 0);
    },
  );
});

describe('bgtasks stop', () => {
  const home = new TestHome();
  after(() => home.cleanup());

  it('stops a running daemon cleanly through its socket, and says so when none runs', async () => {
    const daemon = await home.startDaemon();
    const stopped = await home.cli('stop');
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, new RegExp(`stopped the bgtasks daemon \\(pid ${daemon.child.pid}\\)`));
    assert.equal(await daemon.exited, 0, 'a clean exit');
    assert.match(daemon.log, /bgtasks daemon stopped/);
    assert.equal((await home.cli('status')).code, 3);
    const none = await home.cli('stop');
    assert.equal(none.code, 3);
    assert.match(none.stderr, /no bgtasks daemon is running at .*: nothing to stop \[daemonNotRunning\]/);
    // It starts again on the same home: nothing was left behind.
    const again = await home.startDaemon();
    assert.equal((await home.cli('stop', '--json')).json<{ stopped: boolean }>().stopped, true);
    assert.equal(await again.exited, 0);
  });
});
