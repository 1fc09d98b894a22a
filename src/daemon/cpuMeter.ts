import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CpuMeter } from './scheduler/ports.js';

/**
 * CPU meters: how much CPU time a launched app has used so far, so the scheduler can charge each task
 * its share. They never throw: a process that is gone (or was never there) reads as null.
 */

/** Linux's USER_HZ on every mainstream architecture; used when `getconf` is unavailable. */
const DEFAULT_CLOCK_TICKS = 100;

function isPid(pid: number): boolean {
  // Guards the path we build: no /proc/0, /proc/-1 or /proc/NaN (and never /proc/self by accident).
  return Number.isSafeInteger(pid) && pid > 0;
}

/** `getconf CLK_TCK`, or 100 when it cannot be run or says something odd. */
export function readClockTicks(): number {
  try {
    const out = execFileSync('getconf', ['CLK_TCK'], {
      encoding: 'utf8',
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    const ticks = Number(out.trim());
    return Number.isInteger(ticks) && ticks > 0 ? ticks : DEFAULT_CLOCK_TICKS;
  } catch {
    return DEFAULT_CLOCK_TICKS;
  }
}

/**
 * utime + stime + cutime + cstime (fields 14–17 of proc(5)), in clock ticks, from the text of
 * `/proc/<pid>/stat`; null when it does not parse. Field 2 (comm) is in parentheses and may itself hold
 * spaces and `)`, so the fields are counted from after the LAST `)`: there, field 3 (state) is index 0
 * and utime is index 11.
 */
export function parseProcStatTicks(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat
    .slice(close + 1)
    .trim()
    .split(/\s+/);
  let total = 0;
  for (const index of [11, 12, 13, 14]) {
    const field = fields[index];
    // The kernel prints these as decimal integers (cutime/cstime are signed longs, never negative in practice).
    if (field === undefined || !/^-?\d+$/.test(field)) return null;
    total += Number(field);
  }
  return total >= 0 ? total : null;
}

export interface ProcCpuMeterOptions {
  /** Where procfs is mounted; a temp directory with fake `<pid>/stat` files in tests. @defaultValue '/proc' */
  readonly procRoot?: string;
  /** Clock ticks per second; read once from `getconf CLK_TCK` on first use when not given. */
  readonly clockTicks?: number;
}

/** Reads `/proc/<pid>/stat` (Linux). Cheap enough to call at every task start and finish. */
export class ProcCpuMeter implements CpuMeter {
  readonly #procRoot: string;
  #clockTicks: number | null;

  constructor(options: ProcCpuMeterOptions = {}) {
    this.#procRoot = options.procRoot ?? '/proc';
    this.#clockTicks = options.clockTicks ?? null;
  }

  cpuTimeMs(pid: number): number | null {
    if (!isPid(pid)) return null;
    let stat: string;
    try {
      stat = readFileSync(join(this.#procRoot, String(pid), 'stat'), 'utf8');
    } catch {
      return null; // ENOENT once the process has been reaped: normal, not an error
    }
    const ticks = parseProcStatTicks(stat);
    if (ticks === null) return null;
    this.#clockTicks ??= readClockTicks();
    return (ticks * 1000) / this.#clockTicks;
  }
}

/**
 * Milliseconds from ps's `cputime` column: `[[dd-]hh:]mm:ss[.frac]`. macOS prints `0:01.23` (minutes may
 * exceed 59), procps prints `00:00:01` or `1-02:03:04`. Null when it does not parse.
 */
export function parsePsCpuTime(text: string): number | null {
  const match = /^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (!match) return null;
  const [, days = '0', hours = '0', minutes = '0', seconds = '0'] = match;
  const totalSeconds = ((Number(days) * 24 + Number(hours)) * 60 + Number(minutes)) * 60 + Number(seconds);
  return Math.round(totalSeconds * 1000);
}

export interface PsCpuMeterOptions {
  /** The ps binary. @defaultValue 'ps' */
  readonly ps?: string;
}

/**
 * Asks `ps -o cputime= -p PID` (macOS, which has no procfs). A synchronous spawn per call: acceptable
 * because the scheduler reads CPU only when a task starts or finishes. ps reports user + system time of
 * the process itself; time of exited children is not included (unlike the Linux meter).
 */
export class PsCpuMeter implements CpuMeter {
  readonly #ps: string;

  constructor(options: PsCpuMeterOptions = {}) {
    this.#ps = options.ps ?? 'ps';
  }

  cpuTimeMs(pid: number): number | null {
    if (!isPid(pid)) return null;
    const result = spawnSync(this.#ps, ['-o', 'cputime=', '-p', String(pid)], {
      encoding: 'utf8',
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    // A missing ps (result.error), a gone pid (exit 1, empty output) and odd output all read as null.
    if (result.error || result.status !== 0) return null;
    return parsePsCpuTime(result.stdout);
  }
}

/** For platforms with neither procfs nor a known ps format: CPU is simply not measured. */
export class NullCpuMeter implements CpuMeter {
  cpuTimeMs(_pid: number): number | null {
    return null;
  }
}

/** The meter for this platform: procfs on Linux, ps on macOS, none elsewhere. */
export function createCpuMeter(platform: NodeJS.Platform = process.platform): CpuMeter {
  switch (platform) {
    case 'linux':
      return new ProcCpuMeter();
    case 'darwin':
      return new PsCpuMeter();
    default:
      return new NullCpuMeter();
  }
}
