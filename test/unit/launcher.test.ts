import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import type { AppRecord } from '../../src/engine/types.js';
import { ChildProcessLauncher, type LaunchedChildProcess } from '../../src/daemon/launcher.js';
import type { ProcessExit } from '../../src/daemon/scheduler/ports.js';

const onLinux = process.platform === 'linux';
const base = mkdtempSync(join(tmpdir(), 'bgtasks-launcher-'));
const started: LaunchedChildProcess[] = [];
after(() => {
  for (const child of started) child.kill();
  rmSync(base, { recursive: true, force: true });
});

const hasIonice = spawnSync('sh', ['-c', 'command -v ionice'], { stdio: 'ignore' }).status === 0;
const node = realpathSync(process.execPath);
/** Spins for a few seconds; the tests kill it long before. */
const BUSY = ['-e', 'const end = Date.now() + 5000; while (Date.now() < end);'];

let apps = 0;
function app(launch: readonly string[]): AppRecord {
  const dir = mkdtempSync(join(base, 'app-'));
  return {
    appId: `com.test.app${apps++}`,
    dir,
    launch,
    permittedIdentifiers: [],
    backgroundModes: [],
    enabled: true,
    credentialHash: '',
    installedAt: 0,
  };
}

function launch(
  launcher: ChildProcessLauncher,
  record: AppRecord,
  reason: 'user' | 'background',
): LaunchedChildProcess {
  const child = launcher.launch(record, { launchId: `launch-${apps}`, reason });
  started.push(child);
  return child;
}

function exited(child: LaunchedChildProcess): Promise<ProcessExit> {
  return new Promise((resolve) => child.onExit(resolve));
}

/** /proc/<pid>/stat fields after the comm, so index 0 is field 3 (state). */
function statFields(pid: number, path = String(pid)): string[] | null {
  try {
    const stat = readFileSync(`/proc/${path}/stat`, 'utf8');
    return stat
      .slice(stat.lastIndexOf(')') + 1)
      .trim()
      .split(/\s+/);
  } catch {
    return null;
  }
}

async function until<T>(probe: () => T | null | undefined | false, what: string, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Waits until the wrappers have exec'd into the app: the pid's executable is node itself. */
async function appRunning(pid: number): Promise<void> {
  await until(() => {
    try {
      return readlinkSync(`/proc/${pid}/exe`) === node;
    } catch {
      return false;
    }
  }, `pid ${pid} to exec node`);
}

describe('ChildProcessLauncher priority', { skip: !onLinux && 'reads /proc' }, () => {
  const daemonNice = getPriority();

  it('starts a background launch at nice 10 and idle IO, and the pid is the app in its own group', async () => {
    const launcher = new ChildProcessLauncher(join(base, 'home'), { PATH: process.env.PATH });
    const child = launch(launcher, app([node, ...BUSY]), 'background');
    const pid = child.pid!;
    await appRunning(pid);
    const fields = statFields(pid)!;
    assert.equal(Number(fields[16]), Math.max(10, daemonNice), 'nice (field 19)');
    assert.equal(Number(fields[2]), pid, 'process group (field 5) is led by the app');
    // Set before exec, so every thread node started has it too (setPriority after spawn would miss them).
    const tids = await until(() => {
      const t = readdirSync(`/proc/${pid}/task`);
      return t.length > 1 && t;
    }, 'node to start its threads');
    const threads = tids.map((tid) =>
      Number(statFields(Number(tid), `${pid}/task/${tid}`)?.[16] ?? Math.max(10, daemonNice)),
    );
    assert.deepEqual(new Set(threads), new Set([Math.max(10, daemonNice)]));
    assert.equal(child.priority.nice, Math.max(10, daemonNice));
    if (hasIonice) {
      assert.equal(child.priority.ioClass, 'idle');
      assert.match(execFileSync('ionice', ['-p', String(pid)], { encoding: 'utf8' }), /^idle/);
    }
    // No user manager is reachable without XDG_RUNTIME_DIR: skipped, and said so.
    assert.equal(child.priority.cgroup, null);
    assert.match(child.priority.notes.join('\n'), /cgroup: skipped/);
    child.kill();
    assert.equal((await exited(child)).signal, 'SIGKILL');
  });

  it("starts a user launch at the daemon's own priority", async () => {
    const launcher = new ChildProcessLauncher(join(base, 'home'), { PATH: process.env.PATH });
    const child = launch(launcher, app([node, ...BUSY]), 'user');
    await appRunning(child.pid!);
    assert.equal(Number(statFields(child.pid!)![16]), daemonNice);
    assert.deepEqual(
      { nice: child.priority.nice, ioClass: child.priority.ioClass, cgroup: child.priority.cgroup },
      { nice: null, ioClass: null, cgroup: null },
    );
    child.kill();
    await exited(child);
  });

  it('takes the nice and IO class from its options, and runs without ionice when it is missing', async () => {
    const launcher = new ChildProcessLauncher(
      join(base, 'home'),
      { PATH: process.env.PATH },
      {
        backgroundPriority: { options: { nice: 15, io: 'best-effort-low' } },
      },
    );
    const child = launch(launcher, app([node, ...BUSY]), 'background');
    await appRunning(child.pid!);
    assert.equal(Number(statFields(child.pid!)![16]), Math.max(15, daemonNice));
    if (hasIonice)
      assert.match(execFileSync('ionice', ['-p', String(child.pid)], { encoding: 'utf8' }), /^best-effort: prio 7/);
    child.kill();

    const without = new ChildProcessLauncher(
      join(base, 'home'),
      { PATH: process.env.PATH },
      { backgroundPriority: { tools: { ionice: null } } },
    );
    const plain = launch(without, app([node, ...BUSY]), 'background');
    await appRunning(plain.pid!);
    assert.equal(plain.priority.ioClass, null);
    assert.match(plain.priority.notes.join('\n'), /ionice was not found/);
    plain.kill();
    await Promise.all([exited(child), exited(plain)]);
  });

  it("keeps the app's pid and group through a user scope wrapper (a stand-in systemd-run that execs)", async () => {
    const runtime = mkdtempSync(join(base, 'run-'));
    writeFileSync(join(runtime, 'bus'), '');
    const fake = join(base, 'systemd-run');
    writeFileSync(fake, '#!/bin/sh\nwhile [ "$1" != "--" ]; do shift; done; shift; exec "$@"\n');
    chmodSync(fake, 0o755);
    const launcher = new ChildProcessLauncher(
      join(base, 'home'),
      { PATH: process.env.PATH, XDG_RUNTIME_DIR: runtime },
      {
        backgroundPriority: { tools: { systemdRun: fake } },
      },
    );
    const child = launch(launcher, app([node, ...BUSY]), 'background');
    await appRunning(child.pid!);
    assert.match(child.priority.cgroup ?? '', /^bgtasks-com\.test\.app\d+-launch-\d+\.scope \(CPUWeight=20\)$/);
    assert.equal(Number(statFields(child.pid!)![2]), child.pid);
    child.kill();
    await exited(child);
  });

  it('stop() still kills the whole group, grandchildren included', async () => {
    const launcher = new ChildProcessLauncher(join(base, 'home'), { PATH: process.env.PATH });
    const spawner = `const c = require('node:child_process').spawn('sleep', ['30'], { stdio: 'ignore' });
      require('node:fs').writeFileSync('grandchild.pid', String(c.pid)); setInterval(() => {}, 1000);`;
    const record = app([node, '-e', spawner]);
    const child = launch(launcher, record, 'background');
    const pidFile = join(record.dir, 'grandchild.pid');
    const grandchild = await until(
      () => existsSync(pidFile) && Number(readFileSync(pidFile, 'utf8')),
      'the grandchild',
    );
    child.stop(200);
    assert.equal((await exited(child)).signal, 'SIGTERM');
    // Gone, or a zombie waiting for init to reap it: either way not running.
    await until(() => {
      const f = statFields(grandchild);
      return f === null || f[0] === 'Z';
    }, 'the grandchild to die');
  });

  it('runs the launch argv without a shell: metacharacters reach the app as plain text', async () => {
    const launcher = new ChildProcessLauncher(join(base, 'home'), { PATH: process.env.PATH });
    const record = app([
      node,
      '-e',
      'require("node:fs").writeFileSync("argv.json", ' + 'JSON.stringify(process.argv.slice(1)))',
      '$(touch subst)',
      '; touch chained',
      '`touch tick`',
      '| touch piped',
    ]);
    for (const reason of ['background', 'user'] as const) {
      const exit = await exited(launch(launcher, record, reason));
      assert.equal(exit.code, 0);
      assert.deepEqual(JSON.parse(readFileSync(join(record.dir, 'argv.json'), 'utf8')), [
        '$(touch subst)',
        '; touch chained',
        '`touch tick`',
        '| touch piped',
      ]);
      assert.deepEqual(readdirSync(record.dir).sort(), ['argv.json'], 'no shell ran any of it');
    }
  });

  it('still reports a command that does not exist as a spawn error', async () => {
    const launcher = new ChildProcessLauncher(join(base, 'home'), { PATH: process.env.PATH });
    for (const command of [join(base, 'no-such-app'), 'bgtasks-no-such-command']) {
      const child = launch(launcher, app([command]), 'background');
      const exit = await exited(child);
      assert.equal(exit.code, null);
      assert.equal((exit.error as NodeJS.ErrnoException | null)?.code, 'ENOENT');
      assert.match(child.priority.notes.join('\n'), /command not found/);
    }
  });
});
