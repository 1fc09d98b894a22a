/** The control commands about requests and tasks: `bgtasks pending|history|why|run|expire`, the dashboard's Cancels. */
import { scheduleLabel } from '../../engine/scheduleLabel.js';
import type { ControlDeps } from '../control.js';
import type { ControlHandlers } from './handlers.js';

type TaskCommand = 'pending' | 'history' | 'why' | 'why.app' | 'run' | 'expire' | 'cancelTask' | 'cancelQueued';

export function taskCommands(deps: ControlDeps): ControlHandlers<TaskCommand> {
  const { scheduler, store } = deps;
  return {
    pending: ({ appId }) =>
      scheduler.pending(appId).map(({ request, eligible, blockers }) => ({
        ...request,
        eligible,
        reasons: blockers.map((blocker) => blocker.reason),
        message: blockers[0]?.message ?? null,
        schedule: scheduleLabel(request),
      })),
    history: ({ appId, identifier, limit, events }) =>
      events ? store.listEvents({ appId, identifier, limit }) : store.listRuns({ appId, identifier, limit }),
    // storeFault: while the store cannot be written no task starts, whatever the policies say.
    why: async ({ appId, identifier }) => ({
      ...(await scheduler.why(appId, identifier)),
      storeFault: deps.writer.fault,
    }),
    'why.app': async ({ appId }) => ({
      ...scheduler.whyApp(appId),
      pushes: scheduler.pushesWaiting(appId),
      ranOnce: await scheduler.ranOnce(appId),
    }),
    run: async ({ appId, identifier, kind }) => ({ taskId: await scheduler.runNow(appId, identifier, kind) }),
    expire: ({ appId, identifier }) => ({ expired: scheduler.expireNow(appId, identifier) }),
    // The person's Cancel in the dashboard: the running task expires with reason `userCancelled`.
    cancelTask: async ({ taskId }) => ({ taskId, result: await scheduler.cancelTask(taskId) }),
    // The person takes a continued request out of the line (it has no task yet).
    cancelQueued: async ({ appId, identifier }) => ({
      appId,
      identifier,
      result: await scheduler.cancelQueued(appId, identifier),
    }),
  };
}
