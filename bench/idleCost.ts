/**
 * Idle cost with work pending: a daemon (profile server) holding N requests due tomorrow, measured over a
 * window from /proc: CPU time (utime + stime), wake-ups (voluntary context switches: each time a thread
 * slept and was woken; the main thread's and all threads'), and resident memory. Side by side, in the same
 * window: the same daemon with nothing pending, and the floor, a bare `node` that only wakes at the
 * daemon's sensor poll interval (the approach of bench/idle.ts). The requests come from a one-shot user
 * process (idleApp.mjs) that submits them and exits, so no app is connected during the window.
 */
import { execFileSync, execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { compileDaemonOptions } from '../src/daemon/options.js';
import { rssMb, type BenchOptions, type BenchReport } from './support/report.js';
import { APP_ID, startSystem, type BenchSystem } from './support/system.js';

const IDLE_APP = join(import.meta.dirname, 'support', 'idleApp.mjs');
const exec = promisify(execFile);
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const FIVE_MINUTES_MS = 5 * 60_000;
const CPU_TARGET_MS = 1_000;
/** The window starts once the loaded daemon has used no CPU for QUIET_MS, and SETTLE_MIN_MS after the submission. */
const QUIET_MS = 10_000;
const SETTLE_MIN_MS = 30_000;
const SETTLE_MAX_MS = 90_000;
/** Busy polling, whatever its mechanism, would wake the main thread far more often than the floor's timer. */
const WAKEUP_FACTOR = 10;

function clockTicks(): number {
  try {
    const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(ticks) && ticks > 0) return ticks;
  } catch {
    // no getconf: Linux's USER_HZ is 100 everywhere it matters
  }
  return 100;
}
const TICKS = clockTicks();

interface ProcSample {
  readonly cpuMs: number;
  readonly mainWakeups: number;
  readonly allWakeups: number;
  readonly threads: number;
}

const voluntary = (status: string): number => Number(/voluntary_ctxt_switches:\s+(\d+)/.exec(status)?.[1] ?? NaN);

function procSample(pid: number): ProcSample {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime cover every thread of the process.
  const cpuMs = ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
  const tids = readdirSync(`/proc/${pid}/task`);
  let allWakeups = 0;
  for (const tid of tids) {
    try {
      allWakeups += voluntary(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return {
    cpuMs,
    mainWakeups: voluntary(readFileSync(`/proc/${pid}/status`, 'utf8')),
    allWakeups,
    threads: tids.length,
  };
}

async function status(system: BenchSystem): Promise<{ pending: number; wakeups: number }> {
  return JSON.parse(await system.cli('status', '--json')) as { pending: number; wakeups: number };
}

/**
 * Waits until the process has used no CPU for QUIET_MS (at least SETTLE_MIN_MS after `since`, at most SETTLE_MAX_MS).
 */
async function settleQuietly(pid: number, since: number): Promise<{ quiet: boolean; ms: number }> {
  let last = procSample(pid).cpuMs;
  let quietSince = performance.now();
  for (;;) {
    await sleep(250);
    const now = performance.now();
    const cpu = procSample(pid).cpuMs;
    if (cpu !== last) {
      last = cpu;
      quietSince = now;
    }
    if (now - quietSince >= QUIET_MS && now - since >= SETTLE_MIN_MS) return { quiet: true, ms: now - since };
    if (now - since >= SETTLE_MAX_MS) return { quiet: false, ms: now - since };
  }
}

interface Measured {
  readonly name: string;
  readonly pid: number;
  readonly cpuMs: number;
  readonly cpuMsPer5Min: number;
  readonly mainWakeupsPerMinute: number;
  readonly allWakeupsPerMinute: number;
  readonly threads: number;
  readonly rssMb: number;
  /** The daemon's own count of timers that fired in the window (`bgtasks status`); null for the floor. */
  readonly timerWakeups: number | null;
  readonly timerWakeupsPerMinute: number | null;
}

export async function run(options: BenchOptions): Promise<BenchReport> {
  const requests = 10_000;
  const windowMs = options.quick ? 20_000 : FIVE_MINUTES_MS;
  const pollMs = compileDaemonOptions({}).sensorPollIntervalMs;
  const minutes = windowMs / 60_000;

  let floor: ChildProcess | null = null;
  try {
    await using loaded = await startSystem({ profile: 'server', maxPendingProcessingPerApp: requests });
    await using empty = await startSystem({ profile: 'server' });
    floor = spawn(process.execPath, ['-e', `setInterval(() => {}, ${pollMs})`], { stdio: 'ignore' });
    const submittedAt = performance.now();
    const cpuBeforeSubmission = procSample(loaded.daemon.pid!).cpuMs;
    const { stdout } = await exec(process.execPath, [IDLE_APP, String(requests)], {
      cwd: join(dirname(loaded.home), 'app'),
      env: { ...process.env, BGTASKS_HOME: loaded.home, BGTASKS_APP_ID: APP_ID },
    });
    const submission = JSON.parse(stdout) as {
      submitted: number;
      submitMs: number;
      firstDueAt: number;
      lastDueAt: number;
    };
    const pendingBefore = (await status(loaded)).pending;
    if (pendingBefore !== requests)
      throw new Error(`the daemon holds ${pendingBefore} pending requests, expected ${requests}`);
    // The submission leaves one-off work behind: the store, and V8's memory reducer, which shrinks the heap
    // with a few full GCs some 20 s later. That is the submission's cost, not idling's: it is measured
    // here and reported apart, and the window starts once the daemon has been quiet for a while.
    const settle = await settleQuietly(loaded.daemon.pid!, submittedAt);

    // The daemons' own timer counts, read just before the window (the status call's work ends with its reply).
    const processes = [
      {
        name: `daemon, ${requests.toLocaleString('en-US')} pending (due tomorrow)`,
        pid: loaded.daemon.pid!,
        system: loaded,
        timers: (await status(loaded)).wakeups,
      },
      { name: 'daemon, nothing pending', pid: empty.daemon.pid!, system: empty, timers: (await status(empty)).wakeups },
      { name: `bare node, one ${pollMs / 1000} s timer (floor)`, pid: floor.pid!, system: null, timers: 0 },
    ];
    const start = processes.map((entry) => procSample(entry.pid));
    const settleCpuMs = start[0]!.cpuMs - cpuBeforeSubmission;
    const startedAt = performance.now();
    await sleep(windowMs);
    const end = processes.map((entry) => procSample(entry.pid));
    const elapsedMs = performance.now() - startedAt;
    const elapsedMinutes = elapsedMs / 60_000;
    const measured: Measured[] = [];
    for (const [i, entry] of processes.entries()) {
      const cpuMs = end[i]!.cpuMs - start[i]!.cpuMs;
      const timersAfter = entry.system ? (await status(entry.system)).wakeups : null;
      measured.push({
        name: entry.name,
        pid: entry.pid,
        cpuMs,
        cpuMsPer5Min: (cpuMs * FIVE_MINUTES_MS) / elapsedMs,
        mainWakeupsPerMinute: (end[i]!.mainWakeups - start[i]!.mainWakeups) / elapsedMinutes,
        allWakeupsPerMinute: (end[i]!.allWakeups - start[i]!.allWakeups) / elapsedMinutes,
        threads: end[i]!.threads,
        rssMb: await rssMb(entry.pid),
        // The status call after the window is counted after the window: it cannot inflate the figure.
        timerWakeups: timersAfter === null ? null : timersAfter - entry.timers,
        timerWakeupsPerMinute: timersAfter === null ? null : (timersAfter - entry.timers) / elapsedMinutes,
      });
    }
    const [ours, idle, bare] = measured as [Measured, Measured, Measured];
    const pendingAfter = (await status(loaded)).pending;

    // Busy polling would wake the daemon far more often than its sensor poll and its longest sleep need:
    // one timer per poll plus one per maxSleepMs. Its own timer count checks exactly that; the /proc
    // wake-ups (every thread, every I/O completion) are reported next to the floor's.
    // Allowed: a timer per whole sensor-poll interval and per whole maxSleepMs in the window, plus one of
    // each for the partial intervals at its edges.
    const maxSleepMs = compileDaemonOptions({}).scheduling.maxSleepMs;
    const timerBudget = Math.floor(elapsedMs / pollMs) + Math.floor(elapsedMs / maxSleepMs) + 2;
    const timers = ours.timerWakeups ?? Infinity;
    const wakeupLimit = WAKEUP_FACTOR * bare.mainWakeupsPerMinute;
    const settleRow = {
      process: `  before the window: the submission and ${(settle.ms / 1000).toFixed(0)} s of settling`,
      'CPU ms': Math.round(settleCpuMs),
      'CPU ms / 5 min': '',
      'wake-ups/min (main)': '',
      'wake-ups/min (all threads)': '',
      'timers/min': '',
      'RSS MB': '',
    };
    return {
      name: 'Idle cost',
      method:
        `${(windowMs / 1000).toFixed(0)} s window, side by side, starting once the ` +
        `loaded daemon used no CPU for ${QUIET_MS / 1000} s (and ≥ ` +
        `${SETTLE_MIN_MS / 1000} s after the submission), from /proc (CPU: ` +
        `utime+stime at ${TICKS} ticks/s; wake-ups: voluntary context switches) and ` +
        `the daemon's own timer count; ${requests.toLocaleString('en-US')} requests ` +
        `submitted by a one-shot process, due from tomorrow`,
      columns: [
        'process',
        'CPU ms',
        'CPU ms / 5 min',
        'wake-ups/min (main)',
        'wake-ups/min (all threads)',
        'timers/min',
        'RSS MB',
      ],
      rows: [
        measured.map((entry) => ({
          process: entry.name,
          'CPU ms': Math.round(entry.cpuMs),
          'CPU ms / 5 min': Math.round(entry.cpuMsPer5Min),
          'wake-ups/min (main)': Math.round(entry.mainWakeupsPerMinute),
          'wake-ups/min (all threads)': Math.round(entry.allWakeupsPerMinute),
          'timers/min': entry.timerWakeupsPerMinute === null ? '' : Math.round(entry.timerWakeupsPerMinute * 10) / 10,
          'RSS MB': Math.round(entry.rssMb * 10) / 10,
        })),
        settleRow,
      ].flat(),
      results: {
        windowMs: Math.round(elapsedMs),
        minutes,
        sensorPollIntervalMs: pollMs,
        maxSleepMs,
        requests,
        submission,
        settle: { ...settle, ms: Math.round(settle.ms), cpuMs: settleCpuMs },
        pendingBefore,
        pendingAfter,
        clockTicksPerSecond: TICKS,
        processes: measured,
        cpuRatioToFloor: bare.cpuMs > 0 ? ours.cpuMs / bare.cpuMs : null,
        wakeupRatioToFloor:
          bare.mainWakeupsPerMinute > 0 ? ours.mainWakeupsPerMinute / bare.mainWakeupsPerMinute : null,
        pendingCostCpuMs: ours.cpuMs - idle.cpuMs,
      },
      targets: [
        {
          target:
            `under ${CPU_TARGET_MS / 1000} s of CPU in five minutes with ` +
            `${requests.toLocaleString('en-US')} pending`,
          measured:
            `${Math.round(ours.cpuMs)} ms (CPU time counts in ${1000 / TICKS} ms ticks) ` +
            `in ${(elapsedMs / 1000).toFixed(0)} ` +
            `s${windowMs === FIVE_MINUTES_MS ? '' : ` (${Math.round(ours.cpuMsPer5Min)} ms per 5 min, extrapolated)`}; ` +
            `nothing pending: ${Math.round(idle.cpuMs)} ms; floor: ` +
            `${Math.round(bare.cpuMs)} ms; the submission and settling before the ` +
            `window: ${Math.round(settleCpuMs)} ms`,
          met: ours.cpuMsPer5Min < CPU_TARGET_MS && pendingAfter === requests,
        },
        {
          target:
            `no busy polling: the daemon's timers fire only per sensor poll ` +
            `(${pollMs / 1000} s) and per maxSleepMs (${maxSleepMs / 1000} s), and its ` +
            `main thread wakes < ${WAKEUP_FACTOR}x as often as the floor`,
          measured:
            `${timers} timers in ${(elapsedMs / 1000).toFixed(0)} s (at most ` +
            `${timerBudget} allowed); /proc wake-ups ` +
            `${Math.round(ours.mainWakeupsPerMinute)}/min on the main thread ` +
            `(${Math.round(ours.allWakeupsPerMinute)}/min all threads) vs the floor's ` +
            `${Math.round(bare.mainWakeupsPerMinute)}/min ` +
            `(${Math.round(bare.allWakeupsPerMinute)})`,
          met: timers <= timerBudget && ours.mainWakeupsPerMinute < wakeupLimit,
        },
      ],
    };
  } finally {
    if (floor && floor.exitCode === null) {
      const exited = new Promise((resolve) => floor!.once('exit', resolve));
      floor.kill('SIGTERM');
      await exited;
    }
  }
}
