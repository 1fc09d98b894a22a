import { levelAtLeast, type Conditions } from '../conditions.js';
import type { LoadThreshold } from '../options.js';
import { allow, defer, type Policy, type ReasonCode, type Verdict } from '../policy.js';

const PRESSURES: readonly {
  readonly field: 'cpuPressure' | 'memoryPressure' | 'ioPressure';
  readonly reason: ReasonCode;
  readonly what: string;
}[] = [
  { field: 'memoryPressure', reason: 'memoryPressure', what: 'memory' },
  { field: 'ioPressure', reason: 'ioPressure', what: 'IO' },
  { field: 'cpuPressure', reason: 'cpuPressure', what: 'CPU' },
];

/**
 * Processing tasks wait while the machine is under pressure (Linux PSI: tasks stalled on CPU, memory or
 * IO) at `pressureDefersProcessingAt` or worse; every task waits at `pressureDefersAllAt`. Whether
 * pressure stops a task that already runs is decided by `pressureStop` (sustained pressure, not the
 * system's own load), not here.
 */
export const systemPressurePolicy: Policy = {
  name: 'systemPressure',
  scope: 'request',
  discretionary: true,
  evaluate({ request, conditions, options }) {
    for (const { field, reason, what } of PRESSURES) {
      const threshold = thresholdFor(
        request.kind,
        options.pressureDefersProcessingAt,
        options.pressureDefersAllAt,
        conditions[field],
      );
      if (threshold)
        return blocked(
          this.name,
          reason,
          `${what} pressure is ${conditions[field]}`,
          threshold,
          `${what} pressure falls below ${threshold}`,
        );
    }
    return allow(this.name);
  },
};

/** Like {@link systemPressurePolicy}, for the thermal state (`/sys/class/thermal`, `pmset -g therm`). */
export const thermalPolicy: Policy = {
  name: 'thermal',
  scope: 'request',
  discretionary: true,
  evaluate({ request, conditions, options }) {
    const state = conditions.thermalState;
    const threshold = thresholdFor(request.kind, options.thermalDefersProcessingAt, options.thermalDefersAllAt, state);
    if (!threshold) return allow(this.name);
    return blocked(
      this.name,
      'thermalState',
      `the device is hot (thermal state ${state})`,
      threshold,
      `the thermal state falls below ${threshold}`,
    );
  },
};

/** The threshold the level reaches for this kind of task, or null. */
function thresholdFor(
  kind: string,
  processingAt: LoadThreshold,
  allAt: LoadThreshold,
  level: Conditions['thermalState'],
): LoadThreshold | null {
  if (levelAtLeast(level, allAt)) return allAt;
  if (kind === 'processing' && levelAtLeast(level, processingAt)) return processingAt;
  return null;
}

function blocked(
  policy: string,
  reason: ReasonCode,
  what: string,
  threshold: LoadThreshold,
  unblockedBy: string,
): Verdict {
  return defer(policy, {
    reason,
    message: `${what} (tasks of this kind wait at ${threshold})`,
    waitsFor: 'conditions',
    unblockedBy,
  });
}
