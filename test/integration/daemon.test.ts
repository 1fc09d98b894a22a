import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { PROBE_APP, TestHome, type DaemonProcess, type EventWatcher } from '../support/daemonProcess.js';

/**
 * The whole system with nothing simulated: the daemon as a process on a temporary home, a real SQLite
 * file, the probe app launched by the daemon as a child process. Tests wait for the daemon's events.
 */
describe('daemon, end to end', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;
  let watcher: EventWatcher;

  before(async () => {
    daemon = await home.startDaemon(['--option', 'expirationGraceMs=500', '--option', 'appIdleTimeoutMs=1000']);
    watcher = await daemon.watch();
    const installed = await home.cli('install', PROBE_APP, '--json');
    assert.equal(installed.code, 0, installed.stderr);
  });

  after(async () => {
    await watcher?.[Symbol.asyncDispose]();
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  it('launches an app that is not running when its request is due, and history shows a background launch', async () => {
    const submitted = await home.probe('submitRefresh', '2000');
    assert.deepEqual(submitted.json(), { ok: true }, submitted.stderr);
    const finished = await watcher.next(
      (event) => event.what === 'runUpdate' && event.state === 'finished',
      'the refresh to finish',
    );
    assert.equal(finished.outcome, 'success');
    const history = await home.cli('history', 'com.test.probe', 'com.test.probe.refresh', '--json');
    const [run] = history.json<Record<string, unknown>[]>();
    assert.equal(run?.launch, 'launched');
    assert.equal(run?.outcome, 'success');
    assert.ok(Number(run?.earliestBeginAt) - Number(run?.submittedAt) > 1000, 'submitted with a delay');
    assert.ok(Number(run?.startedAt) >= Number(run?.earliestBeginAt), 'not started before earliestBeginDate');
    const handler = home
      .probeEvents()
      .find((event) => event.event === 'handler' && event.identifier === 'com.test.probe.refresh');
    assert.equal(handler?.launchReason, 'background');
    // The background-launched process is stopped once idle.
    await watcher.next(
      (event) => event.what === 'event' && event.type === 'appDisconnected',
      'the idle app to be stopped',
    );
  });

  it('holds a processing request that requires power on battery, says why, and runs it on AC', async () => {
    assert.equal((await home.cli('conditions', 'set', 'power=battery')).code, 0);
    const [result] = (await home.probe('submitWork', '1', 'true')).json<{ ok: boolean }[]>();
    assert.equal(result?.ok, true);
    const why = await home.cli('why', 'com.test.probe', 'com.test.probe.work.0', '--json');
    const explanation = why.json<{ state: string; blockers: { reason: string }[] }>();
    assert.equal(explanation.state, 'pending');
    assert.deepEqual(
      explanation.blockers.map((blocker) => blocker.reason),
      ['requiresExternalPower'],
    );
    const text = await home.cli('why', 'com.test.probe', 'com.test.probe.work.0');
    assert.match(text.stdout, /requiresExternalPower/);
    const marker = watcher.events.length;
    assert.equal((await home.cli('conditions', 'set', 'power=ac')).code, 0);
    const run = await watcher.next(
      (event) =>
        watcher.events.indexOf(event) >= marker && event.what === 'run' && event.identifier === 'com.test.probe.work.0',
      'the processing task to start',
    );
    assert.equal(run.forced, false);
    await home.resetConditions();
  });

  it(
    'kills a handler that ignores expiration after the grace period, and records ' + 'terminatedAfterExpiration',
    async () => {
      assert.deepEqual((await home.probe('submitStubborn')).json(), { ok: true });
      const started = await watcher.next(
        (event) =>
          event.what === 'runUpdate' &&
          event.state === 'running' &&
          watcher.events.some(
            (other) =>
              other.what === 'run' && other.taskId === event.taskId && other.identifier === 'com.test.probe.stubborn',
          ),
        'the stubborn task to start',
      );
      const expired = await home.cli('expire', 'com.test.probe', 'com.test.probe.stubborn', '--json');
      assert.equal(expired.code, 0, expired.stderr);
      const finished = await watcher.next(
        (event) => event.what === 'runUpdate' && event.taskId === started.taskId && event.state === 'finished',
        'the stubborn task to be terminated',
      );
      assert.equal(finished.outcome, 'terminatedAfterExpiration');
      const probe = home.probeEvents();
      assert.ok(
        probe.some((event) => event.event === 'aborted' && event.reason === 'expired'),
        'task.signal was aborted',
      );
      assert.ok(
        probe.some((event) => event.event === 'expirationHandler'),
        'the expirationHandler ran',
      );
      const [run] = (await home.cli('history', 'com.test.probe', 'com.test.probe.stubborn', '--json')).json<
        Record<string, unknown>[]
      >();
      assert.equal(run?.outcome, 'terminatedAfterExpiration');
      assert.equal(run?.expirationReason, 'manual');
    },
  );

  it('keeps every pending request across a SIGKILL of the daemon, and the store stays intact', async () => {
    await home.cli('conditions', 'set', 'power=battery');
    const results = (await home.probe('submitWork', '5', 'true', '3600000')).json<{ ok: boolean }[]>();
    assert.deepEqual(
      results.map((result) => result.ok),
      [true, true, true, true, true],
    );
    const before = (await home.cli('pending', 'com.test.probe', '--json')).json<{ requestId: string }[]>();
    assert.equal(before.length, 5);
    await watcher[Symbol.asyncDispose]();
    await daemon.kill('SIGKILL');

    // With no daemon, the SDK says so, and how to start one.
    const unreachable = (await home.probe('submitRefresh')).json<{ code: string; message: string }>();
    assert.equal(unreachable.code, 'systemUnreachable');
    assert.match(unreachable.message, /bgtasks daemon/);
    const cli = await home.cli('pending');
    assert.equal(cli.code, 3);
    assert.match(cli.stderr, /no bgtasks daemon is running/);

    const db = new Database(`${home.home}/store.sqlite`, { readonly: true });
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    db.close();

    daemon = await home.startDaemon(['--option', 'expirationGraceMs=500', '--option', 'appIdleTimeoutMs=1000']);
    watcher = await daemon.watch();
    const afterRestart = (await home.cli('pending', 'com.test.probe', '--json')).json<{ requestId: string }[]>();
    assert.deepEqual(
      afterRestart.map((request) => request.requestId).sort(),
      before.map((request) => request.requestId).sort(),
    );
    await home.resetConditions();
  });
});
