import { allow, defer, type Policy } from '../policy.js';

/**
 * A request with file triggers waits until a watched path changes: the daemon's watchers
 * add the changes to the request, and it becomes eligible like any other (launching its app if need be).
 */
export const fileTriggerPolicy: Policy = {
  name: 'fileTrigger',
  scope: 'request',
  evaluate({ request }) {
    const triggers = request.triggers;
    if (!triggers || triggers.changes.length > 0) return allow(this.name);
    const paths = triggers.paths.join(', ');
    return defer(this.name, {
      reason: 'waitsForFileChange',
      message:
        `it runs when ${paths} change${triggers.paths.length === 1 ? 's' : ''}, ` +
        'and nothing has changed since its last run',
      waitsFor: 'conditions',
      until: null,
      unblockedBy: `a change in ${paths}`,
    });
  },
};
