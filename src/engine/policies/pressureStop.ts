import { levelAtLeast, type Conditions, type LoadLevel } from '../conditions.js';
import type { SchedulingOptions } from '../options.js';
import type { TaskRun } from '../types.js';

/**
 * When the machine's pressure stops a running task (issue 17): a task is stopped only for pressure that
 * is sustained and not of the system's own making, and it runs again once the pressure clears.
 *
 * - Pressure is judged on {@link SustainedPressure}: PSI `avg60` with hysteresis (a level is entered at
 *   its bound and left well below it), not a burst of `avg10`. Deferring a task that has not started
 *   still uses the quick reading (the `systemPressure` policy): not starting costs nothing.
 * - CPU pressure never stops a task on the `server` profile (a server exists to run the work), and
 *   elsewhere only when most of the machine's busy CPU is not the system's own tasks' (`ownCpuShare`
 *   below {@link OWN_LOAD_SHARE}): tasks that fill the CPU must not be stopped by the load they make.
 * - A continued task, which a person started and watches, is stopped only at critical memory pressure or
 *   a critical thermal state, the least advanced first (the caller picks which).
 */

/** The reasons a stop for pressure records (the run's `expirationReason`). */
export const PRESSURE_STOP_REASONS = {
  cpu: 'machineNeededCpu',
  memory: 'machineNeededMemory',
  io: 'machineNeededIo',
  thermal: 'machineTooHot',
  /** A continued task that gave way (reason kept from before issue 17). */
  continued: 'systemPressure',
} as const;

export type PressureStopReason = (typeof PRESSURE_STOP_REASONS)[keyof typeof PRESSURE_STOP_REASONS];

const STOP_REASONS: ReadonlySet<string> = new Set(Object.values(PRESSURE_STOP_REASONS));

/** Whether a run's expiration reason is a stop for pressure (it runs again when the pressure clears). */
export function isPressureStop(reason: string | null | undefined): reason is PressureStopReason {
  return reason !== null && reason !== undefined && STOP_REASONS.has(reason);
}

/** What a person reads for a stop for pressure: "stopped: the machine needed its CPU". */
export function pressureStopLabel(reason: string): string | null {
  switch (reason) {
    case PRESSURE_STOP_REASONS.cpu:
      return 'stopped: the machine needed its CPU';
    case PRESSURE_STOP_REASONS.memory:
    case PRESSURE_STOP_REASONS.continued:
      return 'stopped: the machine needed its memory';
    case PRESSURE_STOP_REASONS.io:
      return 'stopped: the machine needed its disk';
    case PRESSURE_STOP_REASONS.thermal:
      return 'stopped: the machine was too hot';
    default:
      return null;
  }
}

/** Below this share of the machine's busy CPU time, the rest is someone else's load. */
export const OWN_LOAD_SHARE = 0.5;

/** Pressure as the stop rule sees it. */
export interface SustainedPressure {
  /** PSI `some avg60` levels, with hysteresis; where not measured, the quick levels of the conditions. */
  readonly cpu: LoadLevel;
  readonly memory: LoadLevel;
  readonly io: LoadLevel;
  /**
   * The share (0–1) of the machine's busy CPU time over the last minute spent by the processes the
   * daemon runs tasks in; null where it cannot be measured.
   */
  readonly ownCpuShare: number | null;
}

/** The sustained pressure when only the conditions are known (virtual time, a machine without PSI). */
export function pressureFromConditions(conditions: Conditions): SustainedPressure {
  return {
    cpu: conditions.cpuPressure,
    memory: conditions.memoryPressure,
    io: conditions.ioPressure,
    ownCpuShare: null,
  };
}

export interface PressureStop {
  readonly reason: PressureStopReason;
  readonly message: string;
}

/** Whether pressure stops this running processing or continued task now; null to let it run. */
export function pressureStop(
  run: TaskRun,
  conditions: Conditions,
  pressure: SustainedPressure,
  options: SchedulingOptions,
): PressureStop | null {
  if (run.forced) return null;
  if (run.kind === 'continued') {
    if (pressure.memory === 'critical')
      return { reason: PRESSURE_STOP_REASONS.continued, message: 'memory pressure is critical' };
    if (conditions.thermalState === 'critical')
      return { reason: PRESSURE_STOP_REASONS.continued, message: 'the device is critically hot' };
    return null;
  }
  if (run.kind !== 'processing') return null;
  const at = options.pressureDefersProcessingAt;
  if (levelAtLeast(pressure.memory, at))
    return {
      reason: PRESSURE_STOP_REASONS.memory,
      message: `memory pressure has been ${pressure.memory} for a minute`,
    };
  if (levelAtLeast(pressure.io, at))
    return { reason: PRESSURE_STOP_REASONS.io, message: `IO pressure has been ${pressure.io} for a minute` };
  if (levelAtLeast(conditions.thermalState, options.thermalDefersProcessingAt)) {
    return {
      reason: PRESSURE_STOP_REASONS.thermal,
      message: `the device is hot (thermal state ${conditions.thermalState})`,
    };
  }
  if (options.profile === 'server' || !levelAtLeast(pressure.cpu, at)) return null;
  if (pressure.ownCpuShare !== null && pressure.ownCpuShare >= OWN_LOAD_SHARE) return null;
  return {
    reason: PRESSURE_STOP_REASONS.cpu,
    message: `CPU pressure has been ${pressure.cpu} for a minute, mostly from other work`,
  };
}
