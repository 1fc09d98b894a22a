/**
 * Linux pressure stall information (PSI, Documentation/accounting/psi.rst): the share of the last 10 s
 * in which at least one task was stalled waiting for CPU, memory or IO (`some avg10`), mapped to a
 * {@link LoadLevel}. The kernel recomputes the averages every 2 s, so reading them on each poll is
 * both cheap (a tiny procfs read) and as fresh as they get. Node cannot wait for PSI triggers (they
 * need poll() with POLLPRI), so there are no change events: pressure is polled.
 *
 * In a container these files are the host's, which is what matters for "is the machine busy".
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { LoadLevel } from '../engine/conditions.js';
import { settleLevel } from './levels.js';

export type PressureResource = 'cpu' | 'memory' | 'io';

/** Lower bounds (in % of wall time stalled, `some avg10`) of `fair`, `serious` and `critical`. */
export interface PressureThresholds {
  readonly fair: number;
  readonly serious: number;
  readonly critical: number;
}

/**
 * The thresholds. Policies defer processing tasks at `serious` and everything at `critical`.
 *
 * - CPU: some CPU waiting is normal on a busy desktop (a build, a browser), so `fair` starts at 10 %;
 *   at 40 % tasks wait for a CPU almost half the time (`serious`); 80 % is saturation.
 * - Memory: any memory stall means reclaim or swap-in is on the critical path, and it gets worse
 *   quickly (thrashing), so the bounds are far lower: 1 %, 5 %, 20 %. (systemd-oomd starts killing at
 *   60 % `full`, well past the point where background work should have stopped.)
 * - IO: between the two: a disk that is busy for someone else makes our IO slow and theirs slower.
 */
export const PRESSURE_THRESHOLDS: Readonly<Record<PressureResource, PressureThresholds>> = Object.freeze({
  cpu: Object.freeze({ fair: 10, serious: 40, critical: 80 }),
  memory: Object.freeze({ fair: 1, serious: 5, critical: 20 }),
  io: Object.freeze({ fair: 5, serious: 20, critical: 50 }),
});

/**
 * A level is left for a lower one only once the stall share is a fifth below the bound (relative, so
 * it scales from memory's 1 % to CPU's 80 %): avg10 moves in steps every 2 s and hovers around any bound.
 */
export const PRESSURE_HYSTERESIS = 0.2;

export interface PressureReading {
  readonly cpuPressure?: LoadLevel;
  readonly memoryPressure?: LoadLevel;
  readonly ioPressure?: LoadLevel;
}

/**
 * The `some avg10` value of a pressure file, e.g. `some avg10=3.28 avg60=0.98 avg300=0.79 total=241513315`,
 * or null when the text has no such line or the value is not a number from 0 to 100.
 */
export function parseSomeAvg10(text: string): number | null {
  const line = text.split('\n').find((candidate) => candidate.startsWith('some '));
  const match = line === undefined ? null : /(?:^|\s)avg10=([0-9]+(?:\.[0-9]+)?)(?:\s|$)/.exec(line);
  if (!match) return null;
  const value = Number(match[1]);
  return value >= 0 && value <= 100 ? value : null;
}

/** The level of a stall percentage against the given thresholds. */
export function pressureLevel(percent: number, thresholds: PressureThresholds): LoadLevel {
  if (percent >= thresholds.critical) return 'critical';
  if (percent >= thresholds.serious) return 'serious';
  if (percent >= thresholds.fair) return 'fair';
  return 'nominal';
}

/**
 * Reads `/proc/pressure/{cpu,memory,io}`. A resource whose file is missing (kernel without PSI, or
 * booted with `psi=0`, where reads fail with EOPNOTSUPP) or malformed is left out. Never throws.
 *
 * @param procRoot Where procfs is mounted; tests pass a fake tree with `pressure/*`.
 * @param previous The last reading; a drop from one of its levels waits for {@link PRESSURE_HYSTERESIS}.
 */
export function readLinuxPressure(procRoot = '/proc', previous: PressureReading = {}): PressureReading {
  const reading: { -readonly [K in keyof PressureReading]: PressureReading[K] } = {};
  for (const resource of ['cpu', 'memory', 'io'] as const) {
    let text: string;
    try {
      text = readFileSync(join(procRoot, 'pressure', resource), 'utf8');
    } catch {
      continue;
    }
    const percent = parseSomeAvg10(text);
    if (percent === null) continue;
    const thresholds = PRESSURE_THRESHOLDS[resource];
    const field = `${resource}Pressure` as const;
    reading[field] = settleLevel(
      previous[field],
      pressureLevel(percent, thresholds),
      pressureLevel(percent / (1 - PRESSURE_HYSTERESIS), thresholds),
    );
  }
  return reading;
}
