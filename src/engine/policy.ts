import type { Conditions } from './conditions.js';
import type { PrerequisiteStatus } from './dependencies.js';
import type { SchedulingOptions } from './options.js';
import type { TaskRequest } from './types.js';

/** Use of one budget over the rolling day. */
export interface BudgetUse {
  /** Charged in the last 24 hours (launches, seconds or CPU ms). */
  readonly used: number;
  /** The app's allowance over 24 hours (after its usage bonus); `Infinity` for no limit. */
  readonly limit: number;
  /** Wall-clock ms at which enough of the charges age out of the window for the use to drop below the limit. */
  readonly freesAt: number | null;
}

/**
 * What a policy knows about the app a request belongs to. The daemon (or the testing kit) keeps this
 * state; policies only read it.
 */
export interface AppSchedulingState {
  /** The app's own Background App Refresh switch. */
  readonly enabled: boolean;
  /** Tasks of the app that are dispatched and not finished. */
  readonly runningCount: number;
  /** Whether a task with this identifier is dispatched and not finished. */
  isRunning(identifier: string): boolean;
  /** Wall-clock ms until which the app is not launched again after failed launches, or null. */
  readonly launchBackoffUntil: number | null;
  /** True when a process of the app is connected, so no launch is needed. */
  readonly connected: boolean;
  /** True when a process the user opened is connected: the app is in the foreground, budgets do not apply. */
  readonly inForeground: boolean;
  /** True while a process of the app is starting. */
  readonly launching: boolean;
  /** Wall-clock ms of the user's force-quit, while it stands (until the user opens the app again). */
  readonly forceQuitAt: number | null;
  /** Wall-clock ms the user last opened the app (or installed it, if never opened). */
  readonly lastOpenedAt: number;
  /** Wall-clock ms until which the app is throttled for overrunning its deadlines, or null. */
  readonly throttledUntil: number | null;
  readonly launches: BudgetUse;
  readonly backgroundSeconds: BudgetUse;
  readonly backgroundCpuMs: BudgetUse;
}

export interface PolicyContext {
  readonly request: TaskRequest;
  /** Wall-clock ms. */
  readonly now: number;
  readonly conditions: Conditions;
  readonly app: AppSchedulingState;
  /**
   * Slots taken by the tasks of all apps that are dispatched and not finished (a block counts as its app's concurrency
   * at most).
   */
  readonly systemRunningCount: number;
  /** Processes the daemon launched in the background and has not seen exit. */
  readonly backgroundProcessCount: number;
  /** The global Background App Refresh switch. */
  readonly backgroundAppRefresh: boolean;
  /** Continued processing tasks running on the machine. */
  readonly continuedRunningCount: number;
  /** For a continued request: its place in line among the pending ones, from 1 (oldest submission first). */
  readonly continuedPosition: number | null;
  /** Hardware this machine has for `requiredResources`. */
  readonly supportedResources: readonly string[];
  readonly options: SchedulingOptions;
  /**
   * Handing this request over adds it to a block (src/engine/blocks.ts) of an app whose leased tasks
   * already fill its concurrency, and the block has room: it takes no slot of its own, so the
   * concurrency limits do not hold it.
   */
  readonly joinsBlock?: boolean;
  /** Where each of a request's prerequisites (`dependsOn`) stands; absent where nothing tracks them. */
  readonly prerequisites?: (request: TaskRequest) => readonly PrerequisiteStatus[];
}

/**
 * Why a request waits. The table in docs/scheduling.md lists every code; each belongs to one policy.
 */
export type ReasonCode =
  | 'earliestBeginDate'
  | 'waitsForFileChange'
  | 'appDisabled'
  | 'backgroundAppRefreshOff'
  | 'forceQuit'
  | 'appNotRecentlyUsed'
  | 'throttled'
  | 'launchBudgetExhausted'
  | 'backgroundTimeBudgetExhausted'
  | 'cpuBudgetExhausted'
  | 'criticalBattery'
  | 'lowBattery'
  | 'lowPowerMode'
  | 'requiresExternalPower'
  | 'requiresNetworkConnectivity'
  | 'requiresUnmeteredNetwork'
  | 'userActive'
  | 'userRecentlyActive'
  | 'cpuPressure'
  | 'memoryPressure'
  | 'ioPressure'
  | 'thermalState'
  | 'launchBackoff'
  | 'backgroundProcessLimit'
  | 'identifierRunning'
  | 'appConcurrencyLimit'
  | 'systemConcurrencyLimit'
  | 'resourceUnavailable'
  | 'continuedQueue'
  | 'waitingForPrerequisites'
  | 'prerequisiteFailed';

/** What a request waits for, so the scheduler knows when to look at it again. */
export type WaitsFor =
  /** A time: look again at `until`. */
  | 'time'
  /** A change in the device's conditions. */
  | 'conditions'
  /** A running task of the app (or of the system) to finish, or a process to exit. */
  | 'capacity'
  /** Something only the person at the machine does: open the app, switch it on. */
  | 'user';

/** A verdict that holds a request back: `defer` waits for a time or an event, `deny` for the user. */
export interface Blocker {
  readonly outcome: 'defer' | 'deny';
  readonly policy: string;
  readonly reason: ReasonCode;
  /** One sentence for a person: what holds it back. */
  readonly message: string;
  readonly waitsFor: WaitsFor;
  /** Wall-clock ms at which the verdict may change, when `waitsFor` is `time`. */
  readonly until: number | null;
  /** What would unblock it, for a person: "the device connects to external power". */
  readonly unblockedBy: string;
}

export type Verdict = { readonly outcome: 'allow'; readonly policy: string } | Blocker;

/** One factor of the scheduling decision. Each lives in its own module under `policies/`. */
export interface Policy {
  readonly name: string;
  /** Whether a verdict depends only on the app, not the request (so one deferral defers all of the app's requests). */
  readonly scope: 'request' | 'app';
  /**
   * Whether the policy is asked again about running processing tasks when the conditions change: a
   * `conditions` deferral then expires the task (the power cable pulled, the user back at the keyboard).
   */
  readonly enforcedWhileRunning?: boolean;
  /**
   * Whether the policy is the system's discretion (budgets, throttling, the device's condition) rather
   * than the user's intent or capacity. A priority-10 push is exempt from these: it goes now, held only by
   * the user (a force-quit, a switch) and by free slots.
   */
  readonly discretionary?: boolean;
  evaluate(context: PolicyContext): Verdict;
}

export function allow(policy: string): Verdict {
  return { outcome: 'allow', policy };
}

export interface BlockerInput {
  readonly reason: ReasonCode;
  readonly message: string;
  readonly waitsFor: WaitsFor;
  readonly until?: number | null;
  readonly unblockedBy: string;
}

export function defer(policy: string, input: BlockerInput): Blocker {
  return { outcome: 'defer', policy, until: null, ...input };
}

export function deny(policy: string, input: Omit<BlockerInput, 'waitsFor' | 'until'>): Blocker {
  return { outcome: 'deny', policy, waitsFor: 'user', until: null, ...input };
}

export function isBlocker(verdict: Verdict): verdict is Blocker {
  return verdict.outcome !== 'allow';
}

/** An ISO time for messages; the engine formats but never reads the clock. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
