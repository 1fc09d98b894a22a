/**
 * The scheduling options, with every default in one place. The daemon's config and flags compile into
 * these (see src/daemon/options.ts); the testing kit passes them through.
 */
export interface SchedulingOptions {
  /** Time a refresh task gets before it expires, in milliseconds. @default 30_000 (Apple's 30 s) */
  readonly refreshTimeLimitMs: number;
  /** The longest a processing task may run before it expires, in milliseconds. @default 1_800_000 (30 min) */
  readonly processingMaxRunMs: number;
  /** After expiration, how long the app has to complete before the daemon kills it, in ms. @default 5_000 */
  readonly expirationGraceMs: number;
  /** Pending processing requests an app may have at once; more is `tooManyPendingTaskRequests`. @default 10 */
  readonly maxPendingProcessingPerApp: number;
  /** Tasks of one app that may run at the same time. @default 4 */
  readonly maxConcurrentTasksPerApp: number;
  /** Tasks of all apps that may run at the same time. @default 16 */
  readonly maxConcurrentTasks: number;
  /** A background-launched app with no task for this long is terminated, in ms. @default 10_000 */
  readonly appIdleTimeoutMs: number;
  /** A launched app must connect within this time, or the launch has failed, in ms. @default 15_000 */
  readonly launchTimeoutMs: number;
  /** First wait after a failed launch before the app is launched again, in ms; doubles each time. @default 30_000 */
  readonly launchBackoffMs: number;
  /** The longest wait between failed launches, in ms. @default 1_800_000 (30 min) */
  readonly launchBackoffMaxMs: number;
  /** SIGTERM to SIGKILL when the daemon stops an idle app, in ms. @default 5_000 */
  readonly stopGraceMs: number;
  /**
   * The longest the scheduler sleeps without looking again, in ms. It wakes earlier for any due time or
   * event; this bound only catches wall-clock jumps. @default 60_000
   */
  readonly maxSleepMs: number;
}

export function defaultSchedulingOptions(): SchedulingOptions {
  return {
    refreshTimeLimitMs: 30_000,
    processingMaxRunMs: 30 * 60_000,
    expirationGraceMs: 5_000,
    maxPendingProcessingPerApp: 10,
    maxConcurrentTasksPerApp: 4,
    maxConcurrentTasks: 16,
    appIdleTimeoutMs: 10_000,
    launchTimeoutMs: 15_000,
    launchBackoffMs: 30_000,
    launchBackoffMaxMs: 30 * 60_000,
    stopGraceMs: 5_000,
    maxSleepMs: 60_000,
  } satisfies SchedulingOptions;
}

const MINIMUMS: Readonly<Record<keyof SchedulingOptions, number>> = {
  refreshTimeLimitMs: 1,
  processingMaxRunMs: 1,
  expirationGraceMs: 0,
  maxPendingProcessingPerApp: 1,
  maxConcurrentTasksPerApp: 1,
  maxConcurrentTasks: 1,
  appIdleTimeoutMs: 0,
  launchTimeoutMs: 1,
  launchBackoffMs: 0,
  launchBackoffMaxMs: 0,
  stopGraceMs: 0,
  maxSleepMs: 10,
};

/**
 * Merges `options` over the defaults and checks each value, throwing a TypeError that names the option:
 * "Expected `refreshTimeLimitMs` to be an integer >= 1, got `0` (number)".
 */
export function compileSchedulingOptions(options: Partial<SchedulingOptions> = {}): SchedulingOptions {
  const compiled = { ...defaultSchedulingOptions(), ...stripUndefined(options) };
  for (const [name, minimum] of Object.entries(MINIMUMS) as [keyof SchedulingOptions, number][]) {
    if (!(name in compiled)) continue;
    const value: unknown = compiled[name];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < minimum) {
      throw new TypeError(`Expected \`${name}\` to be an integer >= ${minimum}, got \`${String(value)}\` (${typeof value})`);
    }
  }
  for (const name of Object.keys(options)) {
    if (!(name in MINIMUMS)) throw new TypeError(`Unknown scheduling option \`${name}\``);
  }
  return Object.freeze(compiled);
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
