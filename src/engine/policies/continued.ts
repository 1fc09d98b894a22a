import { allow, defer, deny, type Policy } from '../policy.js';

/**
 * A continued processing request runs only on a machine that has the hardware it asks for
 * (`requiredResources`, e.g. `gpu`; `BGTaskScheduler.supportedResources` says what this one has).
 */
export const requiredResourcesPolicy: Policy = {
  name: 'requiredResources',
  scope: 'request',
  evaluate({ request, supportedResources }) {
    const missing = (request.continued?.requiredResources ?? []).filter(
      (resource) => !supportedResources.includes(resource),
    );
    if (missing.length === 0) return allow(this.name);
    return deny(this.name, {
      reason: 'resourceUnavailable',
      message:
        `it needs ${missing.join(', ')}, which this machine does not have (it has ` +
        `${supportedResources.join(', ') || 'nothing listed'})`,
      unblockedBy: 'it is submitted without that requirement, on a machine that has it',
    });
  },
};

/**
 * At most `maxContinuedTasks` continued processing tasks run at once; the others wait in line, in the
 * order they were submitted (`strategy: 'queue'`), or are refused at once (`strategy: 'fail'`).
 */
export const continuedQueuePolicy: Policy = {
  name: 'continuedQueue',
  scope: 'request',
  evaluate({ request, continuedRunningCount, continuedPosition, options }) {
    if (request.kind !== 'continued') return allow(this.name);
    // First come, first served: it starts when a slot is free for its place in line.
    const position = continuedPosition ?? 1;
    if (continuedRunningCount + position <= options.maxContinuedTasks) return allow(this.name);
    return defer(this.name, {
      reason: 'continuedQueue',
      message:
        `it is number ${position} in line, and ${continuedRunningCount} continued ` +
        `tasks run (maxContinuedTasks is ${options.maxContinuedTasks})`,
      waitsFor: 'capacity',
      unblockedBy: 'a continued task ahead of it finishes',
    });
  },
};
