import type { AppUsage } from '../../engine/appUsage.js';
import type { Conditions } from '../../engine/conditions.js';
import type { SchedulingOptions } from '../../engine/options.js';
import type { AppSchedulingState, PolicyContext } from '../../engine/policy.js';
import type { TaskRequest } from '../../engine/types.js';
import type { ActiveRuns } from './activeRuns.js';
import { hasWorkingInstance, isLaunching, type AppState } from './appTable.js';
import type { ContinuedLine, RunPort, WorkflowPort } from './sidePorts.js';

/** What the scheduler knows that the policies read. */
export interface PolicyInputs {
  readonly runs: ActiveRuns;
  readonly usage: AppUsage;
  readonly options: SchedulingOptions;
  conditions(): Conditions;
  backgroundAppRefresh(): boolean;
  readonly supportedResources: readonly string[];
  /** The run side: processes launched in the background, and whether a request joins a block. */
  readonly runSide: Pick<RunPort, 'backgroundProcessCount' | 'joinsBlock'>;
  /** The line of continued requests: a request's place in it (1 is next). */
  readonly continuedLine: ContinuedLine;
  /** The workflows' side: where each prerequisite of a request with `dependsOn` stands. */
  readonly workflows: Pick<WorkflowPort, 'prerequisites'>;
}

/**
 * The app's state as the policies see it. Counts that change while a pass dispatches (running tasks,
 * connections, launches) are read live; the budgets are computed once, as they change only when a run
 * finishes or an app launches.
 */
export function appSchedulingState(app: AppState, inputs: PolicyInputs, now: number): AppSchedulingState {
  const appId = app.record.appId;
  const usage = inputs.usage.summary(appId, app.record.installedAt, now, inputs.options);
  return {
    enabled: app.record.enabled,
    get runningCount() {
      return inputs.runs.slotsForApp(appId, inputs.options.maxConcurrentTasksPerApp);
    },
    isRunning: (identifier) => inputs.runs.isIdentifierRunning(appId, identifier),
    get launchBackoffUntil() {
      return app.launchBackoffUntil;
    },
    // A process being stopped does not count: work for the app needs a launch, which the launch policies judge.
    get connected() {
      return hasWorkingInstance(app);
    },
    get inForeground() {
      for (const instance of app.instances) if (instance.launchReason === 'user') return true;
      return false;
    },
    get launching() {
      return isLaunching(app);
    },
    forceQuitAt: usage.forceQuitAt,
    lastOpenedAt: usage.lastOpenedAt,
    throttledUntil: usage.throttledUntil,
    launches: usage.launches,
    backgroundSeconds: usage.backgroundSeconds,
    backgroundCpuMs: usage.backgroundCpuMs,
  };
}

export function policyContext(
  request: TaskRequest,
  app: AppSchedulingState,
  inputs: PolicyInputs,
  now: number,
): PolicyContext {
  return {
    request,
    now,
    conditions: inputs.conditions(),
    app,
    get systemRunningCount() {
      return inputs.runs.systemSlots(inputs.options.maxConcurrentTasksPerApp);
    },
    get joinsBlock() {
      return inputs.runSide.joinsBlock(request);
    },
    get backgroundProcessCount() {
      return inputs.runSide.backgroundProcessCount;
    },
    backgroundAppRefresh: inputs.backgroundAppRefresh(),
    get continuedRunningCount() {
      return inputs.runs.continuedCount;
    },
    get continuedPosition() {
      return request.kind === 'continued'
        ? inputs.continuedLine.queuePosition(request.appId, request.identifier)
        : null;
    },
    supportedResources: inputs.supportedResources,
    options: inputs.options,
    // The scheduler's own function, not a new one per request: this runs for every request of every pass.
    prerequisites: inputs.workflows.prerequisites,
  };
}
