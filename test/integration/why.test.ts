/**
 * `bgtasks why` against a real daemon: for each policy in turn, a blocked request names the blocking
 * policy, its reason code and the earliest time it could run (or the event that would unblock it); the
 * SDK's `scheduler.explain()` returns the same data to the app. Conditions are forced with
 * `bgtasks conditions set`, the way a developer would reproduce a situation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PROBE_APP, TestHome, type DaemonProcess } from '../support/daemonProcess.js';

const APP = 'com.test.probe';
const WORK = 'com.test.probe.work.0';

interface Explanation {
  state: string;
  blockers: { policy: string; reason: string; outcome: string; until: number | null; unblockedBy: string }[];
  earliestAt: number | null;
  waitingFor: string[];
  history: { type: string; reason: string | null }[];
}

describe('bgtasks why', () => {
  const home = new TestHome();
  let daemon: DaemonProcess;

  async function cli(...args: string[]) {
    const result = await home.cli(...args);
    assert.equal(result.code, 0, `bgtasks ${args.join(' ')} failed: ${result.stderr}`);
    return result;
  }

  async function why(): Promise<{ text: string; json: Explanation }> {
    const text = (await cli('why', APP, WORK)).stdout;
    const json = (await cli('why', APP, WORK, '--json')).json<Explanation>();
    return { text, json };
  }

  /** The request is held by exactly this policy and reason, and the text says so on its blocking line. */
  async function expectBlocked(policy: string, reason: string, outcome = 'defer'): Promise<Explanation> {
    const { text, json } = await why();
    assert.equal(json.state, 'pending', text);
    const first = json.blockers[0];
    assert.deepEqual(first && [first.policy, first.reason, first.outcome], [policy, reason, outcome], text);
    // The first policy line is the one that decides.
    const line = text.split('\n').find((candidate) => /^\s+(WAIT|DENY|ok) /.test(candidate));
    assert.ok(
      line?.includes(` ${policy} `) && line.includes(`${reason}:`) && /(WAIT|DENY)/.test(line),
      `the first policy line names ${policy} and ${reason}:\n${text}`,
    );
    assert.match(text, /earliest start: /);
    return json;
  }

  before(async () => {
    // The device profile, whatever this machine looks like, so every heuristic is in play.
    daemon = await home.startDaemon(['--option', 'profile=device']);
    await cli('install', PROBE_APP);
  });

  after(async () => {
    await daemon?.[Symbol.asyncDispose]();
    home.cleanup();
  });

  it(
    'names each blocking policy in turn, with its reason code and the earliest ' + 'time or the unblocking event',
    async () => {
      const submitted = await home.probe('submitWork', '1', 'true', '3600000');
      assert.deepEqual(JSON.parse(submitted.stdout), [{ ok: true }]);
      const dated = await expectBlocked('earliestBeginDate', 'earliestBeginDate');
      assert.ok(
        dated.earliestAt !== null && dated.earliestAt > Date.now() + 3_500_000,
        'the earliest time is the earliestBeginDate',
      );

      // Due now from here on, held by one condition at a time.
      await cli('conditions', 'set', 'lowPowerMode=on');
      await home.probe('submitWork', '1', 'true', '0');
      const lowPower = await expectBlocked('lowPowerMode', 'lowPowerMode');
      assert.equal(lowPower.earliestAt, null);
      assert.deepEqual(lowPower.waitingFor, ['Low Power Mode is turned off']);

      const steps: [string[], string, string][] = [
        [['lowPowerMode=off', 'thermalState=critical'], 'thermal', 'thermalState'],
        [['thermalState=nominal', 'cpuPressure=critical'], 'systemPressure', 'cpuPressure'],
        [['cpuPressure=nominal', 'power=battery', 'batteryLevel=5'], 'battery', 'criticalBattery'],
        [['batteryLevel=15'], 'battery', 'lowBattery'],
        [['batteryLevel=80'], 'externalPower', 'requiresExternalPower'],
        [['power=ac', 'userActivity=active'], 'deviceIdle', 'userActive'],
      ];
      for (const [assignments, policy, reason] of steps) {
        await cli('conditions', 'set', ...assignments);
        await expectBlocked(policy, reason);
      }
      // Each switch is thrown before the previous one is released, so the request never runs in between.
      await cli('apps', 'disable', APP);
      await cli('conditions', 'set', 'userActivity=idle');
      const disabled = await expectBlocked('appEnabled', 'appDisabled', 'deny');
      assert.match(disabled.waitingFor[0] ?? '', /apps enable/);
      await cli('apps', 'disable', '--all');
      await cli('apps', 'enable', APP);
      await expectBlocked('appEnabled', 'backgroundAppRefreshOff', 'deny');
      const refused = JSON.parse((await home.probe('submitRefresh')).stdout) as { code: string };
      assert.equal(refused.code, 'unavailable', 'submissions are refused while the global switch is off');
      await cli('quit', APP);
      await cli('apps', 'enable', '--all');
      const quit = await expectBlocked('forceQuit', 'forceQuit', 'deny');
      assert.match(quit.waitingFor[0] ?? '', /opens the app/);

      // The decision history shows each change of reason, newest first.
      const reasons = (await why()).json.history
        .filter((event) => event.type === 'deferred')
        .map((event) => event.reason);
      for (const reason of [
        'forceQuit',
        'backgroundAppRefreshOff',
        'appDisabled',
        'userActive',
        'lowBattery',
        'criticalBattery',
        'cpuPressure',
        'thermalState',
        'lowPowerMode',
      ]) {
        assert.ok(reasons.includes(reason), `history records ${reason}: ${reasons.join()}`);
      }
    },
  );

  it('gives the app the same explanation through the SDK, and summarises the app', async () => {
    const result = JSON.parse((await home.probe('explain', WORK)).stdout) as { ok: boolean; explanation: Explanation };
    // The probe itself is a user launch: it ends the force-quit, so the task is no longer held for it.
    assert.equal(result.ok, true);
    assert.equal(
      result.explanation.state === 'pending' ||
        result.explanation.state === 'running' ||
        result.explanation.state === 'none',
      true,
    );
    const bad = JSON.parse((await home.probe('explain', 'not an id!')).stdout) as {
      ok: boolean;
      code: string;
      field: string;
    };
    assert.deepEqual([bad.ok, bad.code, bad.field], [false, 'invalidRequest', 'identifier']);

    const summary = (await cli('why', '--app', APP)).stdout;
    assert.match(summary, /budgets today: launches/);
    assert.match(summary, /profile: device/);
    const apps = (await cli('apps', '--json')).json<{ appId: string; usage: { opensThisWeek: number } }[]>();
    assert.ok(apps[0]!.usage.opensThisWeek >= 1, 'the probe run counted as the user opening the app');
  });
});
