/**
 * Sustained pressure, for deciding whether pressure stops a task that already runs (issue 17): PSI
 * `some avg60` rather than `avg10` (a minute, not a burst), with a wide hysteresis (a level is entered at
 * its bound and left only below {@link LEAVE_FACTOR} of it), and the share of the machine's busy CPU time
 * that the processes running the system's own tasks used over the last minute, so the load those tasks
 * make is not held against them.
 *
 * Cheap: one sample reads `/proc/stat`, the three pressure files and `/proc/<pid>/stat` of each connected
 * app process (not per task), at each read of the sensors (`sensorPollIntervalMs`, 5 s by default).
 * Never throws: what cannot be read is left to the quick readings (`null`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { ConditionsSnapshot, LoadLevel } from '../engine/conditions.js';
import type { SustainedPressure } from '../engine/policies/pressureStop.js';
import { settleLevel } from './levels.js';
import { PRESSURE_THRESHOLDS, pressureLevel, type PressureResource } from './linuxPressure.js';

/** The window of the own-CPU share, matching `avg60`. */
const WINDOW_MS = 60_000;
/** A level is left only once the stall share is below this fraction of the level's bound. */
export const LEAVE_FACTOR = 0.6;

/** The `some avg60` value of a pressure file, or null. */
export function parseSomeAvg60(text: string): number | null {
  const line = text.split('\n').find((candidate) => candidate.startsWith('some '));
  const match = line === undefined ? null : /(?:^|\s)avg60=([0-9]+(?:\.[0-9]+)?)(?:\s|$)/.exec(line);
  if (!match) return null;
  const value = Number(match[1]);
  return value >= 0 && value <= 100 ? value : null;
}

/** Busy clock ticks of the whole machine (every field of the `cpu` line but idle and iowait), or null. */
export function parseBusyTicks(procStat: string): number | null {
  const line = procStat.split('\n').find((candidate) => candidate.startsWith('cpu '));
  if (!line) return null;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 4 || fields.some((value) => !Number.isFinite(value))) return null;
  const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
  return user + nice + system + irq + softirq + steal;
}

/** utime + stime + cutime + cstime of `/proc/<pid>/stat` (fields after the last `)`), or null. */
function processTicks(stat: string): number | null {
  const fields = stat
    .slice(stat.lastIndexOf(')') + 1)
    .trim()
    .split(/\s+/);
  const ticks = fields.slice(11, 15).map(Number);
  return ticks.length === 4 && ticks.every(Number.isFinite) ? ticks.reduce((a, b) => a + b, 0) : null;
}

export interface SustainedReading {
  readonly cpu: LoadLevel | null;
  readonly memory: LoadLevel | null;
  readonly io: LoadLevel | null;
  /** 0–1, or null when not measured (no `/proc`, or too little time or load to tell). */
  readonly ownCpuShare: number | null;
}

interface Sample {
  readonly at: number;
  readonly busy: number;
  /** Ticks the own processes used since the previous sample. */
  readonly own: number;
}

export class SustainedPressureMeter {
  readonly #procRoot: string;
  readonly #pids: () => Iterable<number>;
  readonly #levels = new Map<PressureResource, LoadLevel>();
  readonly #lastTicks = new Map<number, number>();
  #samples: Sample[] = [];

  /** @param pids the processes that run the system's tasks (the connected apps). */
  constructor(pids: () => Iterable<number>, procRoot = '/proc') {
    this.#pids = pids;
    this.#procRoot = procRoot;
  }

  /** Takes a sample at monotonic time `at` (ms). */
  sample(at: number): void {
    for (const resource of ['cpu', 'memory', 'io'] as const) {
      const percent = parseSomeAvg60(this.#read(join('pressure', resource)) ?? '');
      if (percent === null) {
        this.#levels.delete(resource);
        continue;
      }
      const thresholds = PRESSURE_THRESHOLDS[resource];
      this.#levels.set(
        resource,
        settleLevel(
          this.#levels.get(resource),
          pressureLevel(percent, thresholds),
          pressureLevel(percent / LEAVE_FACTOR, thresholds),
        ),
      );
    }
    const busy = parseBusyTicks(this.#read('stat') ?? '');
    if (busy === null) return;
    let own = 0;
    const seen = new Set<number>();
    for (const pid of this.#pids()) {
      if (!Number.isSafeInteger(pid) || pid <= 0 || seen.has(pid)) continue;
      seen.add(pid);
      const ticks = processTicks(this.#read(join(String(pid), 'stat')) ?? '');
      if (ticks === null) continue;
      const last = this.#lastTicks.get(pid);
      if (last !== undefined) own += Math.max(0, ticks - last);
      this.#lastTicks.set(pid, ticks);
    }
    for (const pid of this.#lastTicks.keys()) if (!seen.has(pid)) this.#lastTicks.delete(pid);
    this.#samples.push({ at, busy, own });
    this.#samples = this.#samples.filter((sample) => sample.at >= at - WINDOW_MS);
  }

  read(): SustainedReading {
    return {
      cpu: this.#levels.get('cpu') ?? null,
      memory: this.#levels.get('memory') ?? null,
      io: this.#levels.get('io') ?? null,
      ownCpuShare: this.#ownShare(),
    };
  }

  #ownShare(): number | null {
    if (this.#samples.length < 2) return null;
    const first = this.#samples[0]!;
    const last = this.#samples[this.#samples.length - 1]!;
    const busy = last.busy - first.busy;
    if (busy <= 0) return null;
    const own = this.#samples.slice(1).reduce((sum, sample) => sum + sample.own, 0);
    return Math.min(1, own / busy);
  }

  #read(path: string): string | null {
    try {
      return readFileSync(join(this.#procRoot, path), 'utf8');
    } catch {
      return null;
    }
  }
}

/**
 * The pressure the stop rule judges: the sustained levels where measured, except where the conditions
 * are overridden (`bgtasks conditions set`: a pinned level is what the person or test asked for), and
 * the conditions' quick levels where nothing was measured.
 */
export function sustainedPressure(reading: SustainedReading, snapshot: ConditionsSnapshot): SustainedPressure {
  const { conditions, origins } = snapshot;
  const pick = (measured: LoadLevel | null, name: 'cpuPressure' | 'memoryPressure' | 'ioPressure'): LoadLevel =>
    origins[name] === 'override' || measured === null ? conditions[name] : measured;
  return {
    cpu: pick(reading.cpu, 'cpuPressure'),
    memory: pick(reading.memory, 'memoryPressure'),
    io: pick(reading.io, 'ioPressure'),
    ownCpuShare: origins.cpuPressure === 'override' ? null : reading.ownCpuShare,
  };
}
