/**
 * `bgtasks doctor` as a person runs it (node dist/cli/main.js), against a real daemon with a real app
 * installed: healthy, then broken (home 0755, the app's directory removed), then with no daemon.
 */
import assert from 'node:assert/strict';
import { chmodSync, cpSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PROBE_APP, TestHome } from '../support/daemonProcess.js';

interface Report {
  checks: { id: string; group: string; status: 'ok' | 'warn' | 'fail'; detail: string; fix?: string }[];
  summary: { ok: number; warn: number; fail: number; status: string };
}

describe('bgtasks doctor (real daemon)', () => {
  it('passes a healthy system, fails what was broken with its fix, and still checks without a daemon', async () => {
    const home = new TestHome();
    try {
      const appDir = join(home.dir, 'probe-app');
      cpSync(PROBE_APP, appDir, { recursive: true });
      await using daemon = await home.startDaemon();
      assert.equal((await home.cli('install', appDir)).code, 0);

      const healthy = await home.cli('doctor', '--json');
      const report = healthy.json<Report>();
      assert.equal(healthy.code, 0, healthy.stderr);
      assert.equal(report.summary.fail, 0);
      // Sensors this machine cannot read are warnings, never failures; nothing else warns.
      assert.deepEqual(
        report.checks.filter((check) => check.status === 'warn' && check.group !== 'sensors'),
        [],
      );
      for (const id of [
        'daemon.running',
        'daemon.version',
        'permissions.home',
        'permissions.socket',
        'store.integrity',
        'store.schema',
        'apps.com.test.probe.manifest',
        'apps.com.test.probe.launch',
      ]) {
        assert.equal(report.checks.find((check) => check.id === id)?.status, 'ok', id);
      }
      const text = await home.cli('doctor');
      assert.equal(text.code, 0);
      assert.match(text.stdout, /^Daemon$/m);
      assert.match(text.stdout, /0 failures/);

      chmodSync(home.home, 0o755);
      rmSync(appDir, { recursive: true });
      const broken = await home.cli('doctor', '--json');
      assert.equal(broken.code, 1);
      assert.match(broken.stderr, /doctorFoundFailures/);
      const brokenReport = broken.json<Report>();
      const homeLine = brokenReport.checks.find((check) => check.id === 'permissions.home')!;
      assert.equal(homeLine.status, 'fail');
      assert.equal(homeLine.fix, `chmod 700 ${home.home}`);
      const appLine = brokenReport.checks.find((check) => check.id === 'apps.com.test.probe.dir')!;
      assert.equal(appLine.status, 'fail');
      assert.match(appLine.fix!, /bgtasks uninstall com\.test\.probe/);
      chmodSync(home.home, 0o700);

      await daemon[Symbol.asyncDispose]();
      const storeBefore = existsSync(`${home.home}/store.sqlite-wal`);
      const alone = await home.cli('doctor', '--json');
      assert.equal(alone.code, 1);
      const aloneReport = alone.json<Report>();
      const daemonLine = aloneReport.checks.find((check) => check.id === 'daemon.running')!;
      assert.equal(daemonLine.status, 'fail');
      assert.equal(daemonLine.fix, 'start it: bgtasks daemon, or bgtasks service install');
      assert.equal(aloneReport.checks.find((check) => check.id === 'store.integrity')?.status, 'ok');
      assert.match(aloneReport.checks.find((check) => check.id === 'apps.list')!.detail, /from the store, read-only/);
      assert.equal(aloneReport.checks.find((check) => check.id === 'apps.com.test.probe.dir')?.status, 'fail');
      assert.equal(
        existsSync(`${home.home}/store.sqlite-wal`),
        storeBefore,
        'the doctor left the store as it found it',
      );
    } finally {
      home.cleanup();
    }
  });

  it('rejects a bad option with exit 2, naming it', async () => {
    const home = new TestHome();
    try {
      const result = await home.cli('doctor', '--timeout', 'soon');
      assert.equal(result.code, 2);
      assert.match(result.stderr, /--timeout must be a whole number.*\(field: timeout\) \[invalidArgument\]/);
      const badUrl = await home.cli('doctor', '--store', 'postgres://u@h/db?schema=Bad-Name');
      assert.equal(badUrl.code, 2);
      assert.match(badUrl.stderr, /\(field: store\)/);
    } finally {
      home.cleanup();
    }
  });
});
