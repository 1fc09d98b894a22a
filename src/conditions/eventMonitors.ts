/**
 * Change events from the kernel, through one long-lived child process each: `ip monitor` for links,
 * addresses and routes (rtnetlink), `udevadm monitor` for power-supply uevents. Node core has no
 * netlink sockets, and sysfs/procfs never fire inotify for kernel-made changes, so a monitor process
 * that prints a line per event is the cheapest way to hear of them: it sleeps in the kernel until
 * something happens.
 *
 * The events are only triggers ("re-read now"): the values are always read from sysfs/procfs, so a
 * missed, duplicated or unparsable event costs nothing but latency. A monitor that cannot start or
 * exits is reported once and not restarted: the regular poll still sees every change.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

import type { Disposable } from '../engine/clock.js';

export interface LineMonitorSpec {
  /** What the events are about, for the one log line when the monitor is unavailable. */
  readonly name: string;
  /** The program's name, looked up on PATH when none of `candidates` exists. */
  readonly command: string;
  /**
   * Absolute paths tried first: `ip` and `udevadm` live in sbin directories on some distributions, and
   * a user service's PATH often has no sbin.
   */
  readonly candidates: readonly string[];
  readonly args: readonly string[];
  /** Whether a line of output announces an event (banners and continuation lines do not). */
  readonly isEvent: (line: string) => boolean;
}

/**
 * `ip -o monitor link address route`: one line per rtnetlink message (`-o` keeps each on one line), e.g.
 * `2: eth0    inet 192.0.2.7/24 brd 192.0.2.255 scope global eth0 ...` or `Deleted default via ...`. It
 * prints nothing at start, so every non-empty line is an event.
 */
export const IP_MONITOR: LineMonitorSpec = Object.freeze({
  name: 'network events (ip monitor)',
  command: 'ip',
  candidates: ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'],
  args: ['-o', 'monitor', 'link', 'address', 'route'],
  isEvent: (line: string) => line.trim() !== '',
});

/**
 * `udevadm monitor --kernel --subsystem-match=power_supply`: a header line per uevent, e.g.
 * `KERNEL[4521.123456] change   /devices/LNXSYSTM:00/.../power_supply/BAT0 (power_supply)`, after a
 * banner. Kernel events rather than udev's: they come straight from the kernel, also where no udevd
 * runs, and sysfs already has the new values when they are sent.
 */
export const UDEV_POWER_MONITOR: LineMonitorSpec = Object.freeze({
  name: 'power-supply events (udevadm monitor)',
  command: 'udevadm',
  candidates: ['/usr/bin/udevadm', '/bin/udevadm', '/usr/sbin/udevadm', '/sbin/udevadm'],
  args: ['monitor', '--kernel', '--subsystem-match=power_supply'],
  isEvent: (line: string) => /^(?:KERNEL|UDEV)\s*\[/.test(line),
});

/** Starts a process with stdin and stderr ignored and stdout piped; the seam tests replace. */
export type SpawnMonitor = (file: string, args: readonly string[]) => ChildProcess;

/**
 * `setpriv --pdeathsig KILL` (util-linux) makes the kernel kill the monitor when the daemon dies, even by
 * SIGKILL; without it an orphaned monitor would live until its next event. Looked up once.
 */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((path) => executable(path)) ?? null;

const defaultSpawn: SpawnMonitor = (file, args) =>
  // Only for a program known to exist: a missing one must still fail as ENOENT from spawn itself,
  // not as an exit code from setpriv.
  SETPRIV && file.startsWith('/') && executable(file)
    ? spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', file, ...args], { stdio: ['ignore', 'pipe', 'ignore'] })
    : spawn(file, args, { stdio: ['ignore', 'pipe', 'ignore'] });

/** A line longer than this is not a monitor event; the buffer is dropped rather than grown without bound. */
const MAX_LINE = 64 * 1024;

/** The first candidate that exists and is executable, else the bare command for a PATH lookup. */
export function resolveCommand(spec: LineMonitorSpec, isExecutable: (path: string) => boolean = executable): string {
  return spec.candidates.find((path) => isExecutable(path)) ?? spec.command;
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs a monitor and calls `onEvent` for each event line. `onError` is called at most once, when the
 * program cannot be started (ENOENT: not installed) or exits on its own (no netlink access in a
 * sandbox, killed). Disposing kills the process; it is never reported then.
 *
 * The process and its pipe are unref'd: a monitor is a listener, not work, and must not keep a process
 * alive that has nothing else to do. If the daemon dies without disposing it, the kernel kills it
 * (`setpriv --pdeathsig`), or where setpriv is missing it dies by itself (SIGPIPE) at its next event.
 */
export function startLineMonitor(
  spec: LineMonitorSpec,
  onEvent: () => void,
  onError: (error: Error) => void,
  spawnMonitor: SpawnMonitor = defaultSpawn,
): Disposable {
  let disposed = false;
  let reported = false;
  const report = (reason: string, cause?: unknown) => {
    if (disposed || reported) return;
    reported = true;
    const error = new Error(`${spec.name} unavailable: ${reason}; changes are picked up by the regular ` + `poll`, {
      cause,
    });
    try {
      onError(error);
    } catch {
      // The error hook's own failure has nowhere left to go.
    }
  };

  const file = resolveCommand(spec);
  let child: ChildProcess;
  try {
    child = spawnMonitor(file, spec.args);
  } catch (error) {
    // spawn() throws synchronously for some failures (EACCES on some platforms, bad arguments).
    report(error instanceof Error ? error.message : String(error), error);
    return { dispose: () => void (disposed = true) };
  }

  child.on('error', (error) => report(error.message, error));
  child.on('exit', (code, signal) =>
    report(code === null ? `${file} was killed by ${String(signal)}` : `${file} exited with code ${code}`),
  );

  let partial = '';
  const stdout = child.stdout;
  stdout?.setEncoding('utf8');
  stdout?.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    if (partial.length > MAX_LINE) partial = '';
    if (disposed) return;
    if (lines.some((line) => spec.isEvent(line))) {
      try {
        onEvent();
      } catch {
        // The listener guards itself; this only keeps the pipe reader alive.
      }
    }
  });
  // A read error on the pipe ends with 'exit' too; without a listener it would be thrown.
  stdout?.on('error', () => {});

  child.unref();
  (stdout as { unref?: () => void } | null)?.unref?.();

  return {
    dispose: () => {
      if (disposed) return;
      disposed = true;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    },
  };
}
