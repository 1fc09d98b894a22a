import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { CLI, ROOT, run, type RunResult } from '../support/daemonProcess.js';

/** Whether a process is gone (or a zombie waiting for its new parent to reap it) within a few seconds. */
async function gone(pid: number): Promise<boolean> {
  for (const end = Date.now() + 5000; Date.now() < end; await new Promise((resolve) => setTimeout(resolve, 50))) {
    try {
      process.kill(pid, 0);
      if (/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))) return true;
    } catch {
      return true; // ESRCH, or it vanished between the two calls
    }
  }
  return false;
}

const FIXTURES = join(ROOT, 'test', 'fixtures', 'apps');
const SDK = pathToFileURL(join(ROOT, 'dist', 'sdk', 'index.js')).href;

interface CheckJson {
  appId: string;
  registered: string[];
  submitted: { identifier: string; kind: string }[];
  findings: { code: string; identifier: string | null; message: string }[];
}

/** `bgtasks check` needs no daemon: nothing here starts one. */
describe('bgtasks check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bgt-check-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  function check(...args: string[]): Promise<RunResult> {
    return run(process.execPath, [CLI, 'check', ...args]);
  }

  /** An app in the temporary directory; it imports the SDK by URL, as it is outside this package. */
  function appDir(name: string, manifest: unknown, main: string): string {
    const app = join(dir, name);
    mkdirSync(app, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name, type: 'module', bgtasks: manifest }));
    writeFileSync(join(app, 'main.mjs'), main.replaceAll('SDK', SDK));
    return app;
  }

  const manifest = (appId: string): unknown => ({
    appId,
    launch: ['node', 'main.mjs'],
    permittedIdentifiers: [`${appId}.refresh`],
    backgroundModes: ['fetch'],
  });

  it('finds nothing wrong with an app that matches its manifest, and touches no real home', async () => {
    const home = join(dir, 'real-home');
    const result = await run(process.execPath, [CLI, 'check', join(FIXTURES, 'check-good'), '--json'], {
      env: { BGTASKS_HOME: home, XDG_STATE_HOME: home },
    });
    assert.equal(result.code, 0, result.stderr);
    const report = result.json<CheckJson>();
    assert.deepEqual(report, {
      appId: 'com.test.checkgood',
      registered: ['com.test.checkgood.refresh', 'com.test.checkgood.export.*'],
      submitted: [
        { identifier: 'com.test.checkgood.refresh', kind: 'refresh' },
        { identifier: 'com.test.checkgood.export.2024', kind: 'processing' },
      ],
      findings: [],
    });
    assert.equal(existsSync(home), false);
    const text = await check(join(FIXTURES, 'check-good'));
    assert.equal(text.code, 0);
    assert.match(text.stdout, /com\.test\.checkgood: no problems found/);
  });

  it(
    'takes a push handler as permitted by the remote-notification mode, and ' +
      'reports one that is missing or refused',
    async () => {
      const modes = (appId: string, backgroundModes: string[]): unknown => ({
        appId,
        launch: ['node', 'main.mjs'],
        permittedIdentifiers: [],
        backgroundModes,
      });
      const handled = await check(
        appDir(
          'push-ok',
          modes('com.test.pushok', ['remote-notification']),
          "import { BGTaskScheduler } from 'SDK'; " +
            "BGTaskScheduler.shared.onRemoteNotification(async () => 'noData');\n",
        ),
        '--json',
      );
      assert.equal(handled.code, 0, handled.stdout + handled.stderr);
      assert.deepEqual(handled.json<CheckJson>().findings, []);
      const unhandled = await check(
        appDir(
          'push-none',
          modes('com.test.pushnone', ['remote-notification']),
          "import { BGTaskScheduler } from 'SDK'; void " + 'BGTaskScheduler.shared.launchReason;\n',
        ),
        '--json',
      );
      assert.deepEqual(
        unhandled.json<CheckJson>().findings.map((f) => [f.code, f.identifier]),
        [['unhandledIdentifier', 'bgtasks.remote-notification']],
      );
      const noMode = await check(
        appDir(
          'push-nomode',
          { ...(manifest('com.test.pushnomode') as object) },
          "import { BGTaskScheduler } from 'SDK'; " +
            "BGTaskScheduler.shared.register('com.test.pushnomode.refresh', () => {}); " +
            "BGTaskScheduler.shared.onRemoteNotification(async () => 'noData');\n",
        ),
        '--json',
      );
      const findings = noMode.json<CheckJson>().findings;
      assert.deepEqual(
        findings.map((f) => [f.code, f.identifier]),
        [['missingBackgroundMode', 'bgtasks.remote-notification']],
      );
      assert.match(findings[0]!.message, /backgroundModes lacks "remote-notification"/);
    },
  );

  it('reports every mismatch with its code, the identifier and the fix', async () => {
    const result = await check(join(FIXTURES, 'check-bad'), '--json');
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /5 problems found in com\.test\.checkbad \[checkFailed\]/);
    const { findings } = result.json<CheckJson>();
    assert.deepEqual(
      findings.map(({ code, identifier }) => [code, identifier]),
      [
        ['unhandledIdentifier', 'com.test.checkbad.orphan'],
        ['handlerNotPermitted', 'com.test.checkbad.rogue'],
        ['registrationRefused', 'com.test.checkbad.orphan'],
        ['missingBackgroundMode', 'com.test.checkbad.clean'],
        ['submitNotPermitted', 'com.test.checkbad.elsewhere'],
      ],
    );
    const message = (code: string): string => findings.find((finding) => finding.code === code)?.message ?? '';
    assert.match(message('missingBackgroundMode'), /add "processing" to backgroundModes/);
    assert.match(message('handlerNotPermitted'), /add "com\.test\.checkbad\.rogue" to permittedIdentifiers/);
    assert.match(message('registrationRefused'), /before the first await/);

    const text = await check(join(FIXTURES, 'check-bad'));
    assert.equal(text.code, 1);
    for (const code of ['unhandledIdentifier', 'handlerNotPermitted', 'missingBackgroundMode', 'submitNotPermitted'])
      assert.match(text.stdout, new RegExp(`${code} {2}com\\.test\\.checkbad\\.`));
  });

  it('reports an app that throws at start-up, with the end of its stderr', async () => {
    const result = await check(join(FIXTURES, 'check-crash'), '--json');
    assert.equal(result.code, 1);
    const { findings } = result.json<CheckJson>();
    assert.deepEqual(
      findings.map((finding) => finding.code),
      ['appCrashed'],
    );
    assert.match(findings[0]!.message, /exited with code 1/);
    assert.match(findings[0]!.message, /the configuration file is missing/);
  });

  it('reports an app that crashes after registering, with what it registered', async () => {
    const app = appDir(
      'latecrash',
      manifest('com.test.latecrash'),
      `
      import { BGTaskScheduler } from 'SDK';
      BGTaskScheduler.shared.register('com.test.latecrash.other', async () => {});
      setTimeout(() => { throw new Error('crashed in the window'); }, 50);
    `,
    );
    const { findings } = (await check(app, '--json')).json<CheckJson>();
    assert.deepEqual(
      findings.map(({ code, identifier }) => [code, identifier]),
      [
        ['unhandledIdentifier', 'com.test.latecrash.refresh'],
        ['handlerNotPermitted', 'com.test.latecrash.other'],
        ['appCrashed', null],
      ],
    );
    assert.match(findings[2]!.message, /after registering its handlers[\s\S]*crashed in the window/);
  });

  it('reports an app that never uses the SDK', async () => {
    const result = await check(join(FIXTURES, 'check-nosdk'), '--json');
    assert.equal(result.code, 1);
    const { findings, registered } = result.json<CheckJson>();
    assert.deepEqual(
      findings.map((finding) => finding.code),
      ['noReport'],
    );
    assert.match(findings[0]!.message, /without using BGTaskScheduler\.shared/);
    assert.deepEqual(registered, []);
  });

  it('stops an app that never reports at the timeout, with its process group', async () => {
    const pidFile = join(dir, 'hang.pid');
    const app = appDir(
      'hang',
      manifest('com.test.hang'),
      `
      import { spawn } from 'node:child_process';
      import { writeFileSync } from 'node:fs';
      const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
      writeFileSync(${JSON.stringify(pidFile)}, JSON.stringify([process.pid, child.pid]));
      setInterval(() => {}, 1000);
    `,
    );
    const result = await check(app, '--json', '--timeout', '1500');
    assert.equal(result.code, 1);
    assert.deepEqual(
      result.json<CheckJson>().findings.map((finding) => finding.code),
      ['noReport'],
    );
    for (const pid of JSON.parse(readFileSync(pidFile, 'utf8')) as number[])
      assert.ok(await gone(pid), `process ${pid} is still alive`);
  });

  it('reports an app whose start-up never ends, with what it registered', async () => {
    const app = appDir(
      'blocked',
      manifest('com.test.blocked'),
      `
      import { BGTaskScheduler } from 'SDK';
      BGTaskScheduler.shared.register('com.test.blocked.refresh', async () => {});
      setTimeout(() => { for (const end = Date.now() + 10_000; Date.now() < end;); }, 20);
    `,
    );
    const result = await check(app, '--json', '--timeout', '1500');
    assert.equal(result.code, 1);
    const report = result.json<CheckJson>();
    assert.deepEqual(report.registered, ['com.test.blocked.refresh']);
    assert.deepEqual(
      report.findings.map((finding) => finding.code),
      ['appTimedOut'],
    );
  });

  it('reports a bad manifest as install does, and bad arguments with exit code 2', async () => {
    const bad = appDir(
      'badmanifest',
      {
        appId: 'com.test.bad',
        launch: ['node', 'main.mjs'],
        permittedIdentifiers: ['com.test.bad.x'],
        backgroundModes: ['fetch', 'teleport'],
      },
      '',
    );
    const result = await check(bad);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /field: bgtasks\.backgroundModes\.1/);
    assert.match(result.stderr, /invalidManifest/);
    const missing = await check(join(dir, 'no-such-app'));
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /manifestNotFound/);
    assert.equal((await check(join(FIXTURES, 'check-good'), '--timeout', 'soon')).code, 2);
    assert.equal((await check()).code, 2);
  });

  // The examples are rewritten from time to time: whatever they become, they must pass the check.
  for (const example of ['feeds', 'cleanup']) {
    it(`finds nothing wrong with examples/${example}`, async () => {
      const result = await check(join(ROOT, 'examples', example), '--json');
      assert.deepEqual(result.json<CheckJson>().findings, []);
      assert.equal(result.code, 0, result.stderr);
    });
  }
});
