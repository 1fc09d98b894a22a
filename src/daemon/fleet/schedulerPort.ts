import type { Scheduler } from '../scheduler/scheduler.js';
import type { SchedulerFleetPort } from './fleetMember.js';

/** The scheduler as the fleet member sees it: the pool requests in its queue, and what it would start. */
export function schedulerFleetPort(scheduler: Scheduler): SchedulerFleetPort {
  return {
    held: () =>
      [...scheduler.queue.all()].map((entry) => entry.request).filter((request) => request.placement === 'any'),
    startsNow: (request) => scheduler.startsNow(request),
    adopt: (requests) => scheduler.adopt(requests),
    drop: (requests) => {
      for (const request of requests) scheduler.queue.remove(request.appId, request.identifier, request.requestId);
    },
    onDidPass: (listener) => scheduler.onDidPass(listener),
    runningCount: () => scheduler.runs.size,
    installed: () => [...scheduler.apps.all()].map(({ record }) => ({ appId: record.appId, enabled: record.enabled })),
  };
}
