/**
 * `bgtasks/testing`: test background code in virtual time, with the real scheduler.
 *
 * ```ts
 * import { createTestSystem } from 'bgtasks/testing';
 * await using system = await createTestSystem({ profile: 'device', apps: [{ dir: './my-app', main: startMyApp }] });
 * await system.openApp('com.example.app');
 * const run = await system.next('completed', 'com.example.app.refresh');
 * ```
 *
 * See docs/testing.md.
 */
export {
  createTestSystem,
  TestSystem,
  type NextKind,
  type NextOptions,
  type RunKind,
  type TestSystemOptions,
} from './testSystem.js';
export type { AppLogLine, TestApp } from './inProcessApps.js';
export { ScriptedConditions, ConditionsValueError } from './scriptedConditions.js';
export {
  TraceConditions,
  scriptedTimeline,
  loadTrace,
  parseTrace,
  TraceError,
  type ConditionsTrace,
  type TimelineEntry,
  type TraceSample,
} from './traceConditions.js';
export { VirtualClock, VirtualClockOverrunError, flushMicrotasks, type VirtualClockOptions } from './virtualClock.js';
export type { Clock, Disposable } from '../engine/clock.js';
export type { Conditions } from '../engine/conditions.js';
export type { Explanation } from '../engine/explain.js';
export type { DependentView } from '../daemon/workflows/dependentViews.js';
export type { PrerequisiteStatus, PrerequisiteState } from '../engine/dependencies.js';
export type { ProfileChoice } from '../engine/profile.js';
export type { RanOnceWarning } from '../engine/ranOnce.js';
export type { HistoryEvent, TaskRun } from '../engine/types.js';
