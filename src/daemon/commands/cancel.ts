/**
 * `bgtasks cancel APP [IDENTIFIER|TASKID]`: the person's Cancel from the terminal, as the dashboard's.
 * A running task (named by its task id, or by its identifier) expires with reason `userCancelled`, so
 * the app's expiration handler runs; a pending request is removed (a continued one is taken out of the
 * line and the app is told at its next connection). Without a target: every pending request of the app
 * and every continued task it runs (the work the person sees for it in `top`).
 */
import type { CancelResult, Cancelled } from '../../protocol/control/index.js';
import { DaemonError } from '../errors.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { ControlHandlers } from './handlers.js';

type CancelScheduler = Pick<Scheduler, 'apps' | 'runs' | 'queue' | 'cancelTask' | 'cancelQueued' | 'cancel'>;

export function cancelCommand(scheduler: CancelScheduler): ControlHandlers<'cancel'> {
  return { cancel: ({ appId, target }) => cancelWork(scheduler, appId, target) };
}

export async function cancelWork(
  scheduler: CancelScheduler,
  appId: string,
  target: string | undefined,
): Promise<CancelResult> {
  if (!scheduler.apps.get(appId))
    throw new DaemonError('unknownApp', `no app ${appId} is installed (see \`bgtasks apps\`)`, 'appId');
  const running = scheduler.runs.forApp(appId).filter((active) => active.run.state === 'running');
  const byTaskId = target === undefined ? undefined : running.find((active) => active.run.taskId === target);
  const tasks = byTaskId
    ? [byTaskId]
    : running.filter((active) =>
        target === undefined ? active.run.kind === 'continued' : active.run.identifier === target,
      );
  const requests = byTaskId
    ? []
    : scheduler.queue.forApp(appId).filter((request) => target === undefined || request.identifier === target);
  if (tasks.length === 0 && requests.length === 0) {
    const what =
      target === undefined
        ? `${appId} has no pending request and runs no continued task`
        : `${appId} has no running task or pending request ${target}`;
    throw new DaemonError(
      'nothingToCancel',
      `${what} (see \`bgtasks top --once\`)`,
      target === undefined ? 'appId' : 'target',
    );
  }
  const cancelled: Cancelled[] = [];
  for (const active of tasks) {
    await scheduler.cancelTask(active.run.taskId);
    cancelled.push({
      what: 'task',
      taskId: active.run.taskId,
      identifier: active.run.identifier,
      kind: active.run.kind,
    });
  }
  for (const request of requests.filter((each) => each.kind === 'continued')) {
    await scheduler.cancelQueued(appId, request.identifier);
    cancelled.push({ what: 'request', identifier: request.identifier, kind: request.kind });
  }
  const others = requests.filter((each) => each.kind !== 'continued');
  if (others.length > 0) {
    await scheduler.cancel(
      appId,
      others.map((request) => request.identifier),
    );
    for (const request of others)
      cancelled.push({ what: 'request', identifier: request.identifier, kind: request.kind });
  }
  return { appId, cancelled };
}
