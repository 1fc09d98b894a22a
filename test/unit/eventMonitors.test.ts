import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';

import {
  IP_MONITOR,
  resolveCommand,
  startLineMonitor,
  UDEV_POWER_MONITOR,
  type LineMonitorSpec,
} from '../../src/conditions/eventMonitors.js';

/** A callback that must not be called. */
function unexpected(value?: unknown): never {
  assert.fail(`unexpected call${value === undefined ? '' : `: ${String(value)}`}`);
}

/** A child process double: stdout is writable by the test, kill and unref are recorded. */
class FakeChild extends EventEmitter {
  readonly stdout = new PassThrough();
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  killed: string[] = [];
  unrefs = 0;
  kill(signal: NodeJS.Signals = 'SIGTERM'): boolean {
    this.killed.push(signal);
    return true;
  }
  unref(): void {
    this.unrefs++;
  }
  print(text: string): Promise<void> {
    this.stdout.write(text);
    return new Promise((resolve) => setImmediate(resolve));
  }
}

function fakeSpawn() {
  const calls: { file: string; args: readonly string[] }[] = [];
  const child = new FakeChild();
  const spawnMonitor = (file: string, args: readonly string[]) => {
    calls.push({ file, args });
    return child as unknown as ChildProcess;
  };
  return { child, calls, spawnMonitor };
}

const TEST_SPEC: LineMonitorSpec = { ...UDEV_POWER_MONITOR, candidates: [] };

describe('startLineMonitor', () => {
  it('calls onEvent for event lines only, once per chunk, joining lines split across chunks', async () => {
    const { child, calls, spawnMonitor } = fakeSpawn();
    let events = 0;
    const monitor = startLineMonitor(TEST_SPEC, () => events++, unexpected, spawnMonitor);
    assert.deepEqual(calls, [{ file: 'udevadm', args: ['monitor', '--kernel', '--subsystem-match=power_supply'] }]);

    await child.print('monitor will print the received events for:\nKERNEL - the kernel uevent\n\n');
    assert.equal(events, 0, 'the banner is not an event');
    await child.print(
      'KERNEL[4521.123456] change   /devices/LNXSYSTM:00/LNXSYBUS:00/ACPI0003:00/power_supply/AC ' + '(power_supply)\n',
    );
    assert.equal(events, 1);
    await child.print(
      'KERNEL[4522.0] change   /devices/.../BAT0 (power_supply)\nKERNEL[4522.1] ' +
        'change   /devices/.../BAT0 (power_supply)\n',
    );
    assert.equal(events, 2, 'a burst in one chunk is one event');
    await child.print('KERNEL[4523.0] chan');
    assert.equal(events, 2);
    await child.print('ge /devices/.../AC (power_supply)\n');
    assert.equal(events, 3);
    monitor.dispose();
  });

  it('unrefs the process and kills it on dispose, without reporting that as a failure', async () => {
    const { child, spawnMonitor } = fakeSpawn();
    const monitor = startLineMonitor(IP_MONITOR, unexpected, unexpected, spawnMonitor);
    assert.equal(child.unrefs, 1);
    monitor.dispose();
    monitor.dispose();
    assert.deepEqual(child.killed, ['SIGTERM']);
    child.signalCode = 'SIGTERM';
    child.emit('exit', null, 'SIGTERM');
    await child.print('2: eth0 inet 192.0.2.7/24\n');
  });

  it('reports once when the program is missing or exits, and stops delivering events', async () => {
    const { child, spawnMonitor } = fakeSpawn();
    const errors: Error[] = [];
    const monitor = startLineMonitor(
      IP_MONITOR,
      () => {},
      (error) => errors.push(error),
      spawnMonitor,
    );
    child.emit('error', Object.assign(new Error('spawn ip ENOENT'), { code: 'ENOENT' }));
    child.emit('exit', 255, null);
    assert.equal(errors.length, 1);
    assert.match(
      errors[0]!.message,
      /^network events \(ip monitor\) unavailable: spawn ip ENOENT; changes are picked up by the regular poll$/,
    );
    monitor.dispose();
  });

  it('reports an exit with its code', () => {
    const { child, spawnMonitor } = fakeSpawn();
    const errors: Error[] = [];
    startLineMonitor(
      TEST_SPEC,
      () => {},
      (error) => errors.push(error),
      spawnMonitor,
    );
    child.emit('exit', 1, null);
    assert.match(errors[0]!.message, /udevadm exited with code 1/);
  });

  it('reports a spawn that throws instead of throwing', () => {
    const errors: Error[] = [];
    const monitor = startLineMonitor(
      TEST_SPEC,
      () => {},
      (error) => errors.push(error),
      () => {
        throw new Error('EACCES');
      },
    );
    assert.match(errors[0]!.message, /EACCES/);
    assert.doesNotThrow(() => monitor.dispose());
  });

  it('survives a throwing onEvent and a throwing onError', async () => {
    const { child, spawnMonitor } = fakeSpawn();
    const monitor = startLineMonitor(
      TEST_SPEC,
      () => {
        throw new Error('listener bug');
      },
      () => {
        throw new Error('hook bug');
      },
      spawnMonitor,
    );
    await child.print('KERNEL[1.0] change /x (power_supply)\n');
    assert.doesNotThrow(() => child.emit('exit', 1, null));
    monitor.dispose();
  });

  it('reports a real missing program (ENOENT) through the error event', async () => {
    const spec: LineMonitorSpec = { ...IP_MONITOR, command: 'bgtasks-no-such-monitor', candidates: [] };
    const error = await new Promise<Error>((resolve) => startLineMonitor(spec, unexpected, resolve));
    assert.match(error.message, /ENOENT/);
  });

  it('kills a real process on dispose', async () => {
    const spec: LineMonitorSpec = {
      name: 'test events',
      command: process.execPath,
      candidates: [],
      args: ['-e', "console.log('EVENT'); setInterval(() => {}, 1000)"],
      isEvent: (line) => line === 'EVENT',
    };
    let child: ChildProcess | undefined;
    const monitorSpawn = (file: string, args: readonly string[]) =>
      (child = spawn(file, args, { stdio: ['ignore', 'pipe', 'ignore'] }));
    let monitor: { dispose(): void } | undefined;
    await new Promise<void>((resolve) => {
      monitor = startLineMonitor(spec, resolve, unexpected, monitorSpawn);
      // The monitor unrefs its process and pipe (it must not keep a daemon alive); the test has nothing
      // else keeping the event loop running while it waits, so it refs them back.
      child!.ref();
      (child!.stdout as unknown as { ref(): void }).ref();
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child!.once('exit', (_code, signal) => resolve(signal)),
    );
    monitor!.dispose();
    assert.equal(await exited, 'SIGTERM');
  });
});

describe('startLineMonitor when its daemon dies', () => {
  it(
    'leaves no orphan: the kernel kills the monitor when the daemon is killed ' + '(setpriv --pdeathsig)',
    { skip: process.platform !== 'linux' || !existsSync('/usr/bin/setpriv') },
    async () => {
      // A stand-in daemon: starts a monitor (a sleep that would outlive it), prints the monitor's pid.
      const script = `
      import { startLineMonitor } from ${JSON.stringify(new URL('../../src/conditions/eventMonitors.ts', import.meta.url).href)};
      startLineMonitor({ name: 't', command: 'sleep', candidates: ['/bin/sleep', '/usr/bin/sleep'], args: ['600'], isEvent: () => false }, () => {}, () => {});
      setInterval(() => {}, 1000);`;
      const daemon = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const monitorPid = await new Promise<number>((resolve, reject) => {
        const timer = setInterval(() => {
          const children = readChildren(daemon.pid!);
          if (children.length > 0) {
            clearInterval(timer);
            resolve(children[0]!);
          }
        }, 20);
        daemon.once('exit', () => reject(new Error('the stand-in daemon exited')));
      });
      daemon.kill('SIGKILL');
      await new Promise((resolve) => daemon.once('exit', resolve));
      for (let i = 0; i < 100 && alive(monitorPid); i++) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.equal(alive(monitorPid), false, 'the monitor died with its daemon');
    },
  );
});

/** The pids whose parent is `pid`, from /proc. */
function readChildren(pid: number): number[] {
  const children: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) children.push(Number(name));
    } catch {
      // gone already
    }
  }
  return children;
}

function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2, state.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('resolveCommand', () => {
  it('takes the first executable candidate, else the bare name for PATH', () => {
    assert.equal(
      resolveCommand(IP_MONITOR, (path) => path === '/usr/bin/ip' || path === '/bin/ip'),
      '/usr/bin/ip',
    );
    assert.equal(
      resolveCommand(IP_MONITOR, () => false),
      'ip',
    );
  });
});
