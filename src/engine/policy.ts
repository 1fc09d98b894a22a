import type { Conditions } from './conditions.js';
import type { SchedulingOptions } from './options.js';
import type { TaskRequest } from './types.js';

/**
 * What a policy knows about the app a request belongs to. The daemon (or the testing kit) keeps this
 * state; policies only read it.
 */
export interface AppSchedulingState {
  readonly enabled: boolean;
  /** Tasks of the app that are dispatched and not finished. */
  readonly runningCount: number;
  /** Whether a task with this identifier is dispatched and not finished. */
  isRunning(identifier: string): boolean;
  /** Wall-clock ms until which the app is not launched again after failed launches, or null. */
  readonly launchBackoffUntil: number | null;
  /** True when a process of the app is connected, so no launch is needed. */
  readonly connected: boolean;
}

export interface PolicyContext {
  readonly request: TaskRequest;
  /** Wall-clock ms. */
  readonly now: number;
  readonly conditions: Conditions;
  readonly app: AppSchedulingState;
  /** Tasks of all apps that are dispatched and not finished. */
  readonly systemRunningCount: number;
  readonly options: SchedulingOptions;
}

/**
 * Why a request waits. The table in docs/scheduling.md lists every code; each belongs to one policy.
 */
export type ReasonCode =
  | 'earliestBeginDate'
  | 'requiresExternalPower'
  | 'requiresNetworkConnectivity'
  | 'appDisabled'
  | 'launchBackoff'
  | 'identifierRunning'
  | 'appConcurrencyLimit'
  | 'systemConcurrencyLimit';

/** What a request waits for, so the scheduler knows when to look at it again. */
export type WaitsFor =
  /** A time: look again at `until`. */
  | 'time'
  /** A change in the device's conditions. */
  | 'conditions'
  /** A running task of the app (or of the system) to finish. */
  | 'capacity';

export type Verdict =
  | { readonly outcome: 'allow'; readonly policy: string }
  | {
      readonly outcome: 'defer';
      readonly policy: string;
      readonly reason: ReasonCode;
      /** One sentence for a person: what is waited for. */
      readonly message: string;
      readonly waitsFor: WaitsFor;
      /** Wall-clock ms at which the verdict may change, when `waitsFor` is `time`. */
      readonly until: number | null;
    };

export type DeferVerdict = Extract<Verdict, { outcome: 'defer' }>;

/** One factor of the scheduling decision. Each lives in its own module under `policies/`. */
export interface Policy {
  readonly name: string;
  /** Whether a verdict depends only on the app, not the request (so one deferral defers all of the app's requests). */
  readonly scope: 'request' | 'app';
  evaluate(context: PolicyContext): Verdict;
}

export function allow(policy: string): Verdict {
  return { outcome: 'allow', policy };
}

export function defer(
  policy: string,
  reason: ReasonCode,
  message: string,
  waitsFor: WaitsFor,
  until: number | null = null,
): DeferVerdict {
  return { outcome: 'defer', policy, reason, message, waitsFor, until };
}
