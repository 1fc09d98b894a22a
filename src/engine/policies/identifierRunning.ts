import { allow, defer, type Policy } from '../policy.js';

/**
 * A request waits while a task with the same identifier runs, so a refresh that resubmits itself from its
 * handler (the Apple pattern) never overlaps with itself.
 */
export const identifierRunningPolicy: Policy = {
  name: 'identifierRunning',
  scope: 'request',
  evaluate({ request, app }) {
    if (!app.isRunning(request.identifier)) return allow(this.name);
    return defer(this.name, {
      reason: 'identifierRunning',
      message: 'a task with the same identifier is still running',
      waitsFor: 'capacity',
      unblockedBy: 'the running task finishes',
    });
  },
};
