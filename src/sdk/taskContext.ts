import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Which task's handler the code now running belongs to, so that `submit()` called from inside a handler
 * (directly, or after any number of awaits, timers or callbacks it started) names the task as the
 * request's parent. The daemon uses it to keep a re-run of the parent from submitting its successor a
 * second time (docs/reliability.md, "Chains of tasks").
 */
const current = new AsyncLocalStorage<string>();

/** Calls `handler` with `taskId` as the task of everything it does, synchronously or later. */
export function runAsTask<T>(taskId: string, handler: () => T): T {
  return current.run(taskId, handler);
}

/** The task whose handler is running this code, or undefined outside every handler. */
export function currentTaskId(): string | undefined {
  return current.getStore();
}
