import type { Completion, ProgressUpdate, TaskDelivery } from '../protocol/messages.js';

type ProgressUpdateInput = Omit<ProgressUpdate, 'taskId'>;
import { describeThrown } from './errors.js';
import { safeLog, type Logger } from './logger.js';
import { BGTaskExpiredError, createTask, type BGTask } from './tasks.js';

/**
 * Runs delivered tasks. A task's life here:
 *
 * | state     | meaning                                                    | next                 |
 * |-----------|------------------------------------------------------------|----------------------|
 * | `running` | the handler was called; `started` is queued                | `expired`, (gone)    |
 * | `expired` | the signal was aborted, the expiration handler called      | (gone)               |
 *
 * A task leaves when it completes (its completion is queued for the daemon), or when the link to the
 * daemon is lost (its signal is aborted; nothing is sent). Completing a task that has left does nothing.
 */

/**
 * A launch handler. Return a promise (or make it `async`) and the task completes when it settles:
 * success when it resolves, failure (`handlerThrew`) when it rejects. Return nothing and the task stays
 * open until `task.setTaskCompleted()` or expiration.
 */
export type TaskHandler = (task: BGTask) => void | PromiseLike<unknown>;

export interface TaskRunnerHooks {
  /** The handler for a concrete identifier (exact, else its family), if any. */
  handlerFor(identifier: string): TaskHandler | undefined;
  logger(): Logger;
  /** Something was queued for the daemon, or the set of open tasks changed. */
  changed(): void;
}

interface OpenTask {
  readonly task: BGTask;
  readonly controller: AbortController;
  state: 'running' | 'expired';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

export class TaskRunner {
  readonly #hooks: TaskRunnerHooks;
  readonly #open = new Map<string, OpenTask>();
  #started: string[] = [];
  #completed: Completion[] = [];
  /** The latest progress of each continued task since the last send: only the last one matters. */
  #progress = new Map<string, ProgressUpdate>();

  constructor(hooks: TaskRunnerHooks) {
    this.#hooks = hooks;
  }

  /** True while a task is open or a frame about tasks waits to be sent. */
  get busy(): boolean {
    return this.#open.size > 0 || this.#started.length > 0 || this.#completed.length > 0 || this.#progress.size > 0;
  }

  get openCount(): number {
    return this.#open.size;
  }

  /** The `started` ids and completions queued since the last call. */
  takeOutgoing(): { started: string[]; progress: ProgressUpdate[]; completed: Completion[] } {
    const outgoing = { started: this.#started, progress: [...this.#progress.values()], completed: this.#completed };
    this.#started = [];
    this.#progress = new Map();
    this.#completed = [];
    return outgoing;
  }

  deliver(deliveries: readonly TaskDelivery[]): void {
    for (const delivery of deliveries) this.#deliverOne(delivery);
    this.#hooks.changed();
  }

  expire(items: readonly { taskId: string; reason: string }[]): void {
    for (const { taskId, reason } of items) {
      const entry = this.#open.get(taskId);
      if (!entry || entry.state === 'expired') {
        this.#log('debug', `ignoring expiration of task ${taskId}: it is not running`, { taskId, reason });
        continue;
      }
      entry.state = 'expired';
      const { task } = entry;
      this.#log('info', `task ${task.identifier} expired (${reason})`, { taskId, reason });
      entry.controller.abort(new BGTaskExpiredError(task.identifier, reason));
      if (this.#open.get(taskId) !== entry) continue; // completed by an abort listener
      const handler = task.expirationHandler;
      task.expirationHandler = null;
      if (handler) this.#callExpirationHandler(task, handler);
      else this.#complete(entry, false, task, 'expiredWithoutHandler');
    }
    this.#hooks.changed();
  }

  /**
   * Lets go of every open task (the link closed, or the scheduler did): aborts each signal with
   * `reason` and calls its expiration handler. Nothing is sent; the daemon records the runs itself.
   */
  detach(reason: string): void {
    const entries = [...this.#open.values()];
    this.#open.clear();
    this.#started = [];
    this.#completed = [];
    for (const { task, controller } of entries) {
      this.#log('warn', `task ${task.identifier} was interrupted (${reason})`, { taskId: task.taskId, reason });
      const handler = task.expirationHandler;
      task.expirationHandler = null;
      controller.abort(new BGTaskExpiredError(task.identifier, reason));
      if (handler) this.#callExpirationHandler(task, handler);
    }
    if (entries.length > 0) this.#hooks.changed();
  }

  #deliverOne(delivery: TaskDelivery): void {
    const { taskId, identifier, kind, deadlineAt, title, subtitle } = delivery;
    if (this.#open.has(taskId)) {
      this.#log('debug', `ignoring a second delivery of task ${taskId}`, { taskId, identifier });
      return;
    }
    const handler = this.#hooks.handlerFor(identifier);
    if (!handler) {
      this.#log('warn', `no handler is registered for ${identifier}: completing the task unsuccessfully (noHandler)`, { taskId, identifier });
      this.#completed.push({ taskId, success: false, reason: 'noHandler', error: null });
      return;
    }
    const controller = new AbortController();
    const task: BGTask = createTask(kind, {
      taskId,
      identifier,
      deadline: deadlineAt === null ? null : new Date(deadlineAt),
      signal: controller.signal,
      complete: (success) => this.#complete(this.#open.get(taskId), success, task),
      ...(kind === 'continued'
        ? {
            title: title ?? '',
            subtitle: subtitle ?? '',
            report: (update: ProgressUpdateInput) => {
              if (this.#open.get(taskId) !== running) return; // after completion, progress says nothing
              this.#progress.set(taskId, { taskId, ...update });
              this.#hooks.changed();
            },
          }
        : {}),
    });
    const running: OpenTask = { task, controller, state: 'running' };
    this.#open.set(taskId, running);
    this.#started.push(taskId);
    this.#log('debug', `running task ${identifier}`, { taskId, identifier, kind });
    let result: unknown;
    try {
      result = handler(task);
    } catch (error) {
      this.#handlerFailed(running, error);
      return;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(
        () => {
          if (this.#open.get(taskId) === running) this.#complete(running, true, task);
        },
        (error: unknown) => this.#handlerFailed(running, error),
      );
    }
  }

  #handlerFailed(entry: OpenTask, error: unknown): void {
    const message = describeThrown(error);
    const { task } = entry;
    if (this.#open.get(task.taskId) !== entry) {
      this.#log('warn', `the handler for ${task.identifier} threw after its task ended: ${message}`, { taskId: task.taskId });
      return;
    }
    this.#log('warn', `the handler for ${task.identifier} threw: ${message}`, { taskId: task.taskId });
    this.#complete(entry, false, task, 'handlerThrew', message);
  }

  #complete(entry: OpenTask | undefined, success: boolean, task: BGTask, reason: string | null = null, error: string | null = null): void {
    if (!entry || entry.task !== task || this.#open.get(task.taskId) !== entry) {
      this.#log('debug', `setTaskCompleted(${success}) ignored: task ${task.identifier} already ended`, { taskId: task.taskId });
      return;
    }
    this.#open.delete(task.taskId);
    task.expirationHandler = null;
    this.#completed.push({ taskId: task.taskId, success, reason, error });
    this.#log('debug', `task ${task.identifier} completed (success: ${success})`, { taskId: task.taskId, reason });
    this.#hooks.changed();
  }

  #callExpirationHandler(task: BGTask, handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.#log('error', `the expiration handler of ${task.identifier} threw: ${describeThrown(error)}`, { taskId: task.taskId });
    }
  }

  #log(level: keyof Logger, message: string, fields?: Record<string, unknown>): void {
    safeLog(this.#hooks.logger(), level, message, fields);
  }
}
