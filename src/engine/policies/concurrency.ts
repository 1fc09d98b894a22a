import { allow, defer, type Policy } from '../policy.js';

/** At most `maxConcurrentTasksPerApp` tasks of one app run at once. */
export const appConcurrencyPolicy: Policy = {
  name: 'appConcurrency',
  scope: 'app',
  evaluate({ app, options, joinsBlock }) {
    if (joinsBlock || app.runningCount < options.maxConcurrentTasksPerApp) return allow(this.name);
    return defer(this.name, {
      reason: 'appConcurrencyLimit',
      message:
        `the app already runs ${app.runningCount} tasks (maxConcurrentTasksPerApp is ` +
        `${options.maxConcurrentTasksPerApp})`,
      waitsFor: 'capacity',
      unblockedBy: "one of the app's tasks finishes",
    });
  },
};

/** At most `maxConcurrentTasks` tasks run at once on the whole system. */
export const systemConcurrencyPolicy: Policy = {
  name: 'systemConcurrency',
  scope: 'app',
  evaluate({ systemRunningCount, options, joinsBlock }) {
    if (joinsBlock || systemRunningCount < options.maxConcurrentTasks) return allow(this.name);
    return defer(this.name, {
      reason: 'systemConcurrencyLimit',
      message:
        `the system already runs ${systemRunningCount} tasks (maxConcurrentTasks is ` +
        `${options.maxConcurrentTasks})`,
      waitsFor: 'capacity',
      unblockedBy: 'a running task finishes',
    });
  },
};
