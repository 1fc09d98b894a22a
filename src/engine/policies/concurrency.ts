import { allow, defer, type Policy } from '../policy.js';

/** At most `maxConcurrentTasksPerApp` tasks of one app run at once. */
export const appConcurrencyPolicy: Policy = {
  name: 'appConcurrency',
  scope: 'app',
  evaluate({ app, options }) {
    if (app.runningCount < options.maxConcurrentTasksPerApp) return allow(this.name);
    return defer(
      this.name,
      'appConcurrencyLimit',
      `the app already runs ${app.runningCount} tasks (maxConcurrentTasksPerApp is ${options.maxConcurrentTasksPerApp})`,
      'capacity',
    );
  },
};

/** At most `maxConcurrentTasks` tasks run at once on the whole system. */
export const systemConcurrencyPolicy: Policy = {
  name: 'systemConcurrency',
  scope: 'app',
  evaluate({ systemRunningCount, options }) {
    if (systemRunningCount < options.maxConcurrentTasks) return allow(this.name);
    return defer(
      this.name,
      'systemConcurrencyLimit',
      `the system already runs ${systemRunningCount} tasks (maxConcurrentTasks is ${options.maxConcurrentTasks})`,
      'capacity',
    );
  },
};
