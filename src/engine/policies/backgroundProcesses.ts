import { allow, defer, type Policy } from '../policy.js';

/**
 * At most `maxBackgroundProcesses` apps run launched in the background at once; an app that needs a
 * launch waits for one of them to exit. Apps already running are not affected.
 */
export const backgroundProcessesPolicy: Policy = {
  name: 'backgroundProcesses',
  scope: 'app',
  evaluate({ app, backgroundProcessCount, options }) {
    if (app.connected || app.launching || backgroundProcessCount < options.maxBackgroundProcesses)
      return allow(this.name);
    return defer(this.name, {
      reason: 'backgroundProcessLimit',
      message:
        `${backgroundProcessCount} apps already run in the background ` +
        `(maxBackgroundProcesses is ${options.maxBackgroundProcesses})`,
      waitsFor: 'capacity',
      unblockedBy: 'a background app exits',
    });
  },
};
