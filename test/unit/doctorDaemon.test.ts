/**
 * The doctor's daemon check (src/cli/doctor/daemonCheck.ts) and the whole run (src/cli/doctor/doctor.ts)
 * against a real daemon in this process (its socket, store and sensors), a stale socket left by a
 * killed process, and a home with nothing in it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkDaemon } from '../../src/cli/doctor/daemonCheck.js';
import { runDoctor } from '../../src/cli/doctor/doctor.js';
import { Daemon, VERSION } from '../../src/daemon/daemon.js';
import { homePaths } from '../../src/shared/paths.js';

const PROBE_APP = resolve(import.meta.dirname, '..', 'fixtures', 'apps', 'probe');
const quietLogger = {
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  debug: () => undefined,
} as never;
const base = mkdtempSync(join(tmpdir(), 'bgt-doctor-d-'));
after(() => rmSync(base, { recursive: true, force: true }));
let homes = 0;
const newHome = (): string => join(base, `h${homes++}`);

describe('doctor daemonCheck', () => {
  it('fails with how to start one when no socket exists', async () => {
    const { checks, facts } = await checkDaemon({ home: newHome(), cliVersion: VERSION, timeoutMs: 2000 });
    assert.equal(checks.length, 1);
    assert.equal(checks[0]!.status, 'fail');
    assert.match(checks[0]!.detail, /no daemon is running/);
    assert.equal(checks[0]!.fix, 'start it: bgtasks daemon, or bgtasks service install');
    assert.deepEqual(facts, {});
  });

  it('tells a stale socket (its process killed) from a missing one', async () => {
    const home = newHome();
    const { socket, runDir } = homePaths(home);
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    // A process that listens, then dies without closing: its socket file stays, with no listener.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `require('node:net').createServer().listen(${JSON.stringify(socket)}, () => ` + `process.stdout.write('up'))`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolvePromise) => child.stdout.once('data', () => resolvePromise()));
    child.kill('SIGKILL');
    await new Promise((resolvePromise) => child.once('exit', resolvePromise));
    assert.ok(existsSync(socket));
    const { checks } = await checkDaemon({ home, cliVersion: VERSION, timeoutMs: 2000 });
    assert.equal(checks[0]!.status, 'fail');
    assert.match(checks[0]!.detail, /stale socket/);
  });

  it('fails a socket path that is a plain file', async () => {
    const home = newHome();
    mkdirSync(homePaths(home).runDir, { recursive: true });
    writeFileSync(homePaths(home).socket, 'not a socket');
    const { checks } = await checkDaemon({ home, cliVersion: VERSION, timeoutMs: 2000 });
    assert.match(checks[0]!.detail, /is not a socket/);
    assert.match(checks[0]!.fix!, /^move it away/);
  });

  it('passes a running daemon of this version, and warns about one of another', async () => {
    const home = newHome();
    await using daemon = await Daemon.start(
      { home, httpPort: null },
      { logger: quietLogger, cpuMeter: null, desktop: null },
    );
    await daemon.control.run('install', { dir: PROBE_APP });
    const same = await checkDaemon({ home, cliVersion: VERSION, timeoutMs: 5000 });
    assert.deepEqual(
      same.checks.map((check) => `${check.id}=${check.status}`),
      ['daemon.running=ok', 'daemon.version=ok'],
    );
    assert.equal(same.facts.status?.store.location, homePaths(home).storeFile);
    assert.deepEqual(
      same.facts.apps?.map((app) => app.appId),
      ['com.test.probe'],
    );
    assert.ok(same.facts.conditions?.origins);
    const other = await checkDaemon({ home, cliVersion: '99.0.0', timeoutMs: 5000 });
    const version = other.checks.find((check) => check.id === 'daemon.version')!;
    assert.equal(version.status, 'warn');
    assert.match(
      version.detail,
      new RegExp(`runs bgtasks ${VERSION.replace(/\./g, '\\.')}, this command is 99\\.0\\.0`),
    );
  });
});

describe('doctor runDoctor', () => {
  it('with a daemon: its store, apps and conditions feed the other checks; nothing fails', async () => {
    const home = newHome();
    await using daemon = await Daemon.start(
      { home, httpPort: null },
      { logger: quietLogger, cpuMeter: null, desktop: null },
    );
    await daemon.control.run('install', { dir: PROBE_APP });
    const report = await runDoctor({ home, cliVersion: VERSION });
    const failures = report.checks.filter((check) => check.status === 'fail');
    assert.deepEqual(failures, []);
    const warnings = report.checks.filter((check) => check.status === 'warn');
    assert.ok(
      warnings.every((check) => check.group === 'sensors'),
      `only sensors may warn here: ${JSON.stringify(warnings)}`,
    );
    assert.match(report.checks.find((check) => check.id === 'store.open')!.detail, /from the running daemon/);
    assert.match(
      report.checks.find((check) => check.id === 'apps.list')!.detail,
      /1 app installed \(from the daemon\)/,
    );
    assert.equal(report.summary.fail, 0);
    assert.equal(report.summary.ok + report.summary.warn, report.checks.length);
  });

  it('without a daemon: the daemon check fails and the others still run, reading the store', async () => {
    const home = newHome();
    const daemon = await Daemon.start({ home, httpPort: null }, { logger: quietLogger, cpuMeter: null, desktop: null });
    await daemon.control.run('install', { dir: PROBE_APP });
    await daemon.close();
    const report = await runDoctor({ home, cliVersion: VERSION });
    assert.equal(report.checks[0]!.id, 'daemon.running');
    assert.equal(report.checks[0]!.status, 'fail');
    assert.equal(report.summary.status, 'fail');
    assert.match(report.checks.find((check) => check.id === 'store.open')!.detail, /from a copy in memory/);
    assert.match(
      report.checks.find((check) => check.id === 'apps.list')!.detail,
      /1 app installed \(from the store, read-only\)/,
    );
    assert.equal(report.checks.find((check) => check.id === 'apps.com.test.probe.launch')!.status, 'ok');
    for (const group of ['permissions', 'store', 'sensors', 'apps'])
      assert.ok(
        report.checks.some((check) => check.group === group),
        group,
      );
    assert.ok(!existsSync(`${homePaths(home).storeFile}-wal`), 'the doctor left no write-ahead log');
  });
});
