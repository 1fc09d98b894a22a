/**
 * The scheduling options, with every default in one place. The daemon's flags compile into these (see
 * src/daemon/options.ts); the testing kit passes them through. docs/scheduling.md has the same table.
 *
 * Two profiles set the defaults: `device` (laptops and desktops: every heuristic) and `server` (no
 * usage, idle or battery heuristics, and no budgets). Any option given explicitly wins over the profile.
 */
import type { LoadLevel } from './conditions.js';

export type SchedulingProfile = 'device' | 'server';
export const SCHEDULING_PROFILES: readonly SchedulingProfile[] = ['device', 'server'];

/** A load level a threshold can name: `unknown` is never a threshold. */
export type LoadThreshold = Exclude<LoadLevel, 'unknown'>;

export interface SchedulingOptions {
  /** Which defaults apply. @default 'device' */
  readonly profile: SchedulingProfile;
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
  /** Processes launched in the background that may live at the same time. @default 4 (server 16) */
  readonly maxBackgroundProcesses: number;
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
  /** On battery at or below this percent, no task starts. 0 turns it off. @default 10 (server 0) */
  readonly criticalBatteryLevel: number;
  /** On battery below this percent, processing tasks wait. 0 turns it off. @default 20 (server 0) */
  readonly lowBatteryLevel: number;
  /** In Low Power Mode, refresh and processing tasks wait, as on iOS. @default true (server false) */
  readonly lowPowerModeDefers: boolean;
  /**
   * Processing tasks wait until there has been no user input for this long, in ms; a machine with no
   * seat is idle. 0 turns it off. @default 300_000 (5 min; server 0)
   */
  readonly deviceIdleRequiredMs: number;
  /** Pressure (Linux PSI) at or above which processing tasks wait. @default 'serious' */
  readonly pressureDefersProcessingAt: LoadThreshold;
  /** Pressure at or above which every task waits. @default 'critical' */
  readonly pressureDefersAllAt: LoadThreshold;
  /** Thermal state at or above which processing tasks wait. @default 'serious' */
  readonly thermalDefersProcessingAt: LoadThreshold;
  /** Thermal state at or above which every task waits. @default 'critical' */
  readonly thermalDefersAllAt: LoadThreshold;
  /**
   * An app the user has not opened for this long gets no processing time, in ms. 0 turns it off. @default 7 days
   * (server 0)
   */
  readonly recentUseWindowMs: number;
  /** Background launches per app per rolling day (before the usage bonus). 0 means no limit. @default 144 (server 0) */
  readonly backgroundLaunchesPerDay: number;
  /** Seconds of background task time per app per rolling day. 0 means no limit. @default 3_600 (server 0) */
  readonly backgroundSecondsPerDay: number;
  /** Seconds of background CPU time per app per rolling day. 0 means no limit. @default 900 (server 0) */
  readonly backgroundCpuSecondsPerDay: number;
  /**
   * Apps the user opens often get up to 3x the budgets (1 + opens in the last week / 7, at most 3). @default true
   * (server false)
   */
  readonly usageBonus: boolean;
  /**
   * An app that overruns a deadline is throttled this long, in ms; doubles with each offence in a day. @default 900_000
   * (15 min)
   */
  readonly throttleMs: number;
  /** The longest throttle, in ms. @default 14_400_000 (4 h) */
  readonly throttleMaxMs: number;
  /** The shortest `interval` of a periodic refresh, in ms. @default 60_000 */
  readonly minRefreshIntervalMs: number;
  /** Continued processing tasks that may run at once on the machine; the others wait in line. @default 2 */
  readonly maxContinuedTasks: number;
  /**
   * A continued processing task that reports no progress for this long is expired as stalled, in ms. @default 60_000
   */
  readonly continuedStallMs: number;
  /**
   * Deliveries of one push that may end without the app's handler completing (a crash, a kill) before it is recorded as
   * failed. @default 5
   */
  readonly pushMaxAttempts: number;
  /** The wait before delivering such a push again, in ms; doubles with each attempt. @default 1_000 */
  readonly pushRetryDelayMs: number;
  /** The longest such wait, in ms. @default 300_000 (5 min) */
  readonly pushMaxRetryDelayMs: number;
}

/**
 * What values an option takes: `compileSchedulingOptions` checks them, and the config file's schema is made of them.
 */
export type OptionRule =
  | { readonly kind: 'int'; readonly min: number; readonly max?: number }
  | { readonly kind: 'bool' }
  | { readonly kind: 'enum'; readonly values: readonly string[] };

const THRESHOLDS: readonly LoadThreshold[] = ['fair', 'serious', 'critical'];
const int = (min: number, max?: number): OptionRule => ({ kind: 'int', min, ...(max === undefined ? {} : { max }) });
const BOOL: OptionRule = { kind: 'bool' };
const LOAD_THRESHOLD: OptionRule = { kind: 'enum', values: THRESHOLDS };

/**
 * The table of the scheduling options: each option's rule and the one line a person reads about it (the
 * config file's schema, `bgtasks config`, docs/configuration.md). The defaults are in
 * {@link defaultSchedulingOptions}.
 */
export const SCHEDULING_OPTION_TABLE: Readonly<Record<keyof SchedulingOptions, readonly [OptionRule, string]>> = {
  profile: [
    { kind: 'enum', values: ['device', 'server'] },
    'Which defaults apply: `device` (laptops and desktops: every heuristic) or ' +
      '`server` (no usage, idle or battery heuristics, no budgets). Unset, the ' +
      'daemon picks one at first start and keeps it.',
  ],
  refreshTimeLimitMs: [int(1), 'Time a refresh task gets before it expires, in ms.'],
  processingMaxRunMs: [int(1), 'The longest a processing task may run before it expires, in ms.'],
  expirationGraceMs: [int(0), 'After expiration, how long the app has to complete before the daemon kills it, in ms.'],
  maxPendingProcessingPerApp: [
    int(1),
    'Pending processing requests an app may have at once; more is ' + '`tooManyPendingTaskRequests`.',
  ],
  maxConcurrentTasksPerApp: [int(1), 'Tasks of one app that may run at the same time.'],
  maxConcurrentTasks: [int(1), 'Tasks of all apps that may run at the same time.'],
  maxBackgroundProcesses: [int(1), 'Processes launched in the background that may live at the same time.'],
  appIdleTimeoutMs: [int(0), 'A background-launched app with no task for this long is terminated, in ms.'],
  launchTimeoutMs: [int(1), 'A launched app must connect within this time, or the launch has failed, in ms.'],
  launchBackoffMs: [
    int(0),
    'First wait after a failed launch before the app is launched again, in ms; ' + 'doubles each time.',
  ],
  launchBackoffMaxMs: [int(0), 'The longest wait between failed launches, in ms.'],
  stopGraceMs: [int(0), 'SIGTERM to SIGKILL when the daemon stops an idle app, in ms.'],
  maxSleepMs: [int(10), 'The longest the scheduler sleeps without looking again, in ms (catches wall-clock jumps).'],
  criticalBatteryLevel: [int(0, 100), 'On battery at or below this percent, no task starts. 0 turns it off.'],
  lowBatteryLevel: [int(0, 100), 'On battery below this percent, processing tasks wait. 0 turns it off.'],
  lowPowerModeDefers: [BOOL, 'In Low Power Mode, refresh and processing tasks wait, as on iOS.'],
  deviceIdleRequiredMs: [
    int(0),
    'Processing tasks wait until there has been no user input for this long, in ' + 'ms. 0 turns it off.',
  ],
  pressureDefersProcessingAt: [LOAD_THRESHOLD, 'Pressure (Linux PSI) at or above which processing tasks wait.'],
  pressureDefersAllAt: [LOAD_THRESHOLD, 'Pressure at or above which every task waits.'],
  thermalDefersProcessingAt: [LOAD_THRESHOLD, 'Thermal state at or above which processing tasks wait.'],
  thermalDefersAllAt: [LOAD_THRESHOLD, 'Thermal state at or above which every task waits.'],
  recentUseWindowMs: [
    int(0),
    'An app the user has not opened for this long gets no processing time, in ms. ' + '0 turns it off.',
  ],
  backgroundLaunchesPerDay: [
    int(0),
    'Background launches per app per rolling day (before the usage bonus). 0 ' + 'means no limit.',
  ],
  backgroundSecondsPerDay: [int(0), 'Seconds of background task time per app per rolling day. 0 means no limit.'],
  backgroundCpuSecondsPerDay: [int(0), 'Seconds of background CPU time per app per rolling day. 0 means no limit.'],
  usageBonus: [BOOL, 'Apps the user opens often get up to 3x the budgets.'],
  throttleMs: [
    int(0),
    'An app that overruns a deadline is throttled this long, in ms; doubles with ' + 'each offence in a day.',
  ],
  throttleMaxMs: [int(0), 'The longest throttle, in ms.'],
  minRefreshIntervalMs: [int(1), 'The shortest `interval` of a periodic refresh, in ms.'],
  maxContinuedTasks: [
    int(1),
    'Continued processing tasks that may run at once on the machine; the others ' + 'wait in line.',
  ],
  continuedStallMs: [
    int(1),
    'A continued processing task that reports no progress for this long is ' + 'expired as stalled, in ms.',
  ],
  pushMaxAttempts: [
    int(1),
    'Deliveries of one push that may end without the handler completing before it ' + 'is recorded as failed.',
  ],
  pushRetryDelayMs: [int(0), 'The wait before delivering such a push again, in ms; doubles with each attempt.'],
  pushMaxRetryDelayMs: [int(0), 'The longest such wait, in ms.'],
};

const RULES = Object.fromEntries(
  Object.entries(SCHEDULING_OPTION_TABLE).map(([name, [rule]]) => [name, rule]),
) as Readonly<Record<keyof SchedulingOptions, OptionRule>>;

const DAY_MS = 24 * 60 * 60_000;

export function defaultSchedulingOptions(profile: SchedulingProfile = 'device'): SchedulingOptions {
  const device = profile === 'device';
  return {
    profile,
    refreshTimeLimitMs: 30_000,
    processingMaxRunMs: 30 * 60_000,
    expirationGraceMs: 5_000,
    maxPendingProcessingPerApp: 10,
    maxConcurrentTasksPerApp: 4,
    maxConcurrentTasks: 16,
    maxBackgroundProcesses: device ? 4 : 16,
    appIdleTimeoutMs: 10_000,
    launchTimeoutMs: 15_000,
    launchBackoffMs: 30_000,
    launchBackoffMaxMs: 30 * 60_000,
    stopGraceMs: 5_000,
    maxSleepMs: 60_000,
    criticalBatteryLevel: device ? 10 : 0,
    lowBatteryLevel: device ? 20 : 0,
    lowPowerModeDefers: device,
    deviceIdleRequiredMs: device ? 5 * 60_000 : 0,
    pressureDefersProcessingAt: 'serious',
    pressureDefersAllAt: 'critical',
    thermalDefersProcessingAt: 'serious',
    thermalDefersAllAt: 'critical',
    recentUseWindowMs: device ? 7 * DAY_MS : 0,
    backgroundLaunchesPerDay: device ? 144 : 0,
    backgroundSecondsPerDay: device ? 3_600 : 0,
    backgroundCpuSecondsPerDay: device ? 900 : 0,
    usageBonus: device,
    throttleMs: 15 * 60_000,
    throttleMaxMs: 4 * 60 * 60_000,
    minRefreshIntervalMs: 60_000,
    maxContinuedTasks: 2,
    continuedStallMs: 60_000,
    pushMaxAttempts: 5,
    pushRetryDelayMs: 1_000,
    pushMaxRetryDelayMs: 5 * 60_000,
  } satisfies SchedulingOptions;
}

/** The option names, for `--option name=value` and documentation. */
export const SCHEDULING_OPTION_NAMES = Object.keys(RULES) as readonly (keyof SchedulingOptions)[];

/**
 * Merges `options` over the defaults of their profile and checks each value, throwing a TypeError that
 * names the option: "Expected `refreshTimeLimitMs` to be an integer >= 1, got `0` (number)".
 */
export function compileSchedulingOptions(options: Partial<SchedulingOptions> = {}): SchedulingOptions {
  for (const name of Object.keys(options)) {
    if (!Object.hasOwn(RULES, name)) throw new TypeError(`Unknown scheduling option \`${name}\``);
  }
  const given = stripUndefined(options);
  const profile = given.profile ?? 'device';
  if (!SCHEDULING_PROFILES.includes(profile)) {
    throw new TypeError(
      `Expected \`profile\` to be one of device, server, got \`${String(profile)}\` ` + `(${typeof profile})`,
    );
  }
  const compiled = { ...defaultSchedulingOptions(profile), ...given };
  for (const [name, rule] of Object.entries(RULES) as [keyof SchedulingOptions, OptionRule][]) {
    const problem = checkRule(rule, compiled[name]);
    if (problem)
      throw new TypeError(
        `Expected \`${name}\` to be ${problem}, got \`${String(compiled[name])}\` ` + `(${typeof compiled[name]})`,
      );
  }
  return Object.freeze(compiled);
}

/** Parses the text form of one option (`--option lowBatteryLevel=15`); throws a TypeError naming it. */
export function parseSchedulingOption(name: string, text: string): Partial<SchedulingOptions> {
  const rule = (RULES as Record<string, OptionRule | undefined>)[name];
  if (!rule || !Object.hasOwn(RULES, name)) throw new TypeError(`Unknown scheduling option \`${name}\``);
  let value: unknown = text;
  if (rule.kind === 'int') value = /^-?\d+$/.test(text) ? Number(text) : text;
  if (rule.kind === 'bool')
    value = text === 'true' || text === 'on' ? true : text === 'false' || text === 'off' ? false : text;
  const problem = checkRule(rule, value);
  if (problem) throw new TypeError(`Expected \`${name}\` to be ${problem}, got \`${text}\``);
  return { [name]: value } as Partial<SchedulingOptions>;
}

function checkRule(rule: OptionRule, value: unknown): string | null {
  switch (rule.kind) {
    case 'int': {
      const ok =
        typeof value === 'number' &&
        Number.isInteger(value) &&
        value >= rule.min &&
        (rule.max === undefined || value <= rule.max);
      return ok ? null : `an integer >= ${rule.min}${rule.max === undefined ? '' : ` and <= ${rule.max}`}`;
    }
    case 'bool':
      return typeof value === 'boolean' ? null : 'true or false';
    case 'enum':
      return typeof value === 'string' && rule.values.includes(value) ? null : `one of ${rule.values.join(', ')}`;
  }
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
