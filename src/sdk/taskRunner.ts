// Over 400 lines: the SDK's task life (single tasks and blocks, expiry, completion) over one state.
import {
  NOT_STARTED,
  type BlockMessage,
  type BlockTask,
  type Completion,
  type ProgressUpdate,
  type TaskDelivery,
  type TriggerDelivery,
} from '../protocol/messages.js';

type ProgressUpdateInput = Omit<ProgressUpdate, 'taskId'>;
import { describeThrown } from './errors.js';
import { safeLog, type Logger } from './logger.js';
import { runAsTask } from './taskContext.js';
import { BGTaskExpiredError, createTask, type BGTask } from './tasks.js';
import { payloadProblem } from '../protocol/payload.js';
import {
  isFetchResult,
  toRemoteNotification,
  type BackgroundFetchResult,
  type RemoteNotificationHandler,
} from './push.js';

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
 *
 * The tasks of a block (a `block` frame) wait in line here and run at most `concurrency` at a time, each
 * with its time limit counted from its own start; one that is expired before it starts is given back
 * (completion reason `notStarted`). A block task that starts and completes between two sends is reported
 * by its completion alone: the daemon takes the completion as the start too.
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
  /** The app's `onRemoteNotification` handler, if any. */
  pushHandler(): RemoteNotificationHandler | undefined;
  logger(): Logger;
  /** Something was queued for the daemon, or the set of open tasks changed. */
  changed(): void;
}

interface OpenTask {
  readonly task: BGTask;
  readonly controller: AbortController;
  state: 'running' | 'expired';
  /** Set for push tasks: their completion carries the handler's result. */
  readonly push: boolean;
  /** Set for a task of a block: it holds one of the block's slots. */
  readonly block: boolean;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export class TaskRunner {
  readonly #hooks: TaskRunnerHooks;
  readonly #open = new Map<string, OpenTask>();
  #started: string[] = [];
  #completed: Completion[] = [];
  /** The latest progress of each continued task since the last send: only the last one matters. */
  #progress = new Map<string, ProgressUpdate>();
  /** Block tasks not started yet, in order (see {@link deliverBlock}); entries taken back are skipped. */
  #waiting: (BlockTask | null)[] = [];
  #waitingHead = 0;
  readonly #waitingIndex = new Map<string, number>();
  #blockConcurrency = 1;
  #blockRunning = 0;
  #pumping = false;
  #pumpScheduled = false;
  /** Block tasks started since the last send (their start need not be sent if they also completed). */
  #blockStarted = new Set<string>();

  constructor(hooks: TaskRunnerHooks) {
    this.#hooks = hooks;
  }

  /** True while a task is open or a frame about tasks waits to be sent. */
  get busy(): boolean {
    return (
      this.#open.size > 0 ||
      this.#waitingIndex.size > 0 ||
      this.#started.length > 0 ||
      this.#completed.length > 0 ||
      this.#progress.size > 0
    );
  }

  get openCount(): number {
    return this.#open.size;
  }

  /** The `started` ids and completions queued since the last call. */
  takeOutgoing(): { started: string[]; progress: ProgressUpdate[]; completed: Completion[] } {
    let started = this.#started;
    if (this.#blockStarted.size > 0) {
      const completed = new Set(this.#completed.map((completion) => completion.taskId));
      started = started.filter((taskId) => !(this.#blockStarted.has(taskId) && completed.has(taskId)));
      this.#blockStarted = new Set();
    }
    const outgoing = { started, progress: [...this.#progress.values()], completed: this.#completed };
    this.#started = [];
    this.#progress = new Map();
    this.#completed = [];
    return outgoing;
  }

  deliver(deliveries: readonly TaskDelivery[]): void {
    for (const delivery of deliveries) this.#deliverOne(delivery);
    this.#hooks.changed();
  }

  /** Takes a block of tasks: they run in order, at most `concurrency` at a time. */
  deliverBlock(block: BlockMessage): void {
    this.#blockConcurrency = block.concurrency;
    for (const task of block.tasks) {
      if (this.#open.has(task.taskId) || this.#waitingIndex.has(task.taskId)) continue;
      this.#waitingIndex.set(task.taskId, this.#waiting.length);
      this.#waiting.push(task);
    }
    this.#pump();
    this.#hooks.changed();
  }

  /**
   * Starts waiting block tasks while the block has free slots; a loop, not recursion (handlers may
   * complete at once). At most `concurrency` starts a turn: handlers that complete at once would
   * otherwise run a whole block before its first completions go out, and the daemon would wait idle.
   */
  #pump(): void {
    if (this.#pumping) return;
    this.#pumping = true;
    let starts = 0;
    try {
      while (this.#blockRunning < this.#blockConcurrency && this.#waitingHead < this.#waiting.length) {
        if (starts++ === this.#blockConcurrency) {
          if (!this.#pumpScheduled) {
            this.#pumpScheduled = true;
            setImmediate(() => {
              this.#pumpScheduled = false;
              this.#pump();
            });
          }
          break;
        }
        const task = this.#waiting[this.#waitingHead];
        this.#waiting[this.#waitingHead++] = null;
        if (!task) continue;
        this.#waitingIndex.delete(task.taskId);
        const { taskId, identifier, kind, timeLimitMs, data } = task;
        const delivery = { taskId, identifier, kind, deadlineAt: Date.now() + timeLimitMs };
        this.#deliverOne(data === undefined ? delivery : { ...delivery, data }, true);
      }
      if (this.#waitingHead === this.#waiting.length) {
        this.#waiting = [];
        this.#waitingHead = 0;
      }
    } finally {
      this.#pumping = false;
    }
  }

  /** A block task waiting for its turn, given back: the daemon puts its request back in line. */
  #giveBack(taskId: string): boolean {
    const index = this.#waitingIndex.get(taskId);
    if (index === undefined) return false;
    this.#waitingIndex.delete(taskId);
    this.#waiting[index] = null;
    this.#completed.push({ taskId, success: false, reason: NOT_STARTED, error: null });
    return true;
  }

  expire(items: readonly { taskId: string; reason: string }[]): void {
    for (const { taskId, reason } of items) {
      if (this.#giveBack(taskId)) continue;
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
    this.#waiting = [];
    this.#waitingHead = 0;
    this.#waitingIndex.clear();
    this.#blockRunning = 0;
    this.#blockStarted = new Set();
    for (const { task, controller } of entries) {
      this.#log('warn', `task ${task.identifier} was interrupted (${reason})`, { taskId: task.taskId, reason });
      const handler = task.expirationHandler;
      task.expirationHandler = null;
      controller.abort(new BGTaskExpiredError(task.identifier, reason));
      if (handler) this.#callExpirationHandler(task, handler);
    }
    if (entries.length > 0) this.#hooks.changed();
  }

  #deliverOne(delivery: TaskDelivery, block = false): void {
    const { taskId, identifier, kind, deadlineAt, title, subtitle, prerequisites, trigger } = delivery;
    const data = trigger ? withTrigger(delivery.data, trigger) : delivery.data;
    if (this.#open.has(taskId)) {
      this.#log('debug', `ignoring a second delivery of task ${taskId}`, { taskId, identifier });
      return;
    }
    const handler = kind === 'push' ? this.#pushTaskHandler(delivery) : this.#hooks.handlerFor(identifier);
    if (!handler) {
      const missing =
        kind === 'push'
          ? 'no onRemoteNotification handler is registered'
          : `no handler is registered for ${identifier}`;
      this.#log('warn', `${missing}: completing the task unsuccessfully (noHandler)`, { taskId, identifier });
      this.#completed.push({
        taskId,
        success: false,
        reason: 'noHandler',
        error: null,
        ...(kind === 'push' ? { result: null } : {}),
      });
      return;
    }
    if (block) {
      this.#blockRunning++;
      this.#blockStarted.add(taskId);
    }
    const controller = new AbortController();
    const task: BGTask = createTask(kind === 'push' ? 'refresh' : kind, {
      taskId,
      identifier,
      deadline: deadlineAt === null ? null : new Date(deadlineAt),
      signal: controller.signal,
      complete: (success, output) => {
        const fetched = kind === 'push' ? (success ? 'newData' : 'failed') : null;
        this.#complete(this.#open.get(taskId), success, task, null, null, fetched, output);
      },
      ...(data !== undefined ? { data } : {}),
      ...(prerequisites !== undefined ? { prerequisites } : {}),
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
    const running: OpenTask = { task, controller, state: 'running', push: kind === 'push', block };
    this.#open.set(taskId, running);
    this.#started.push(taskId);
    this.#log('debug', `running task ${identifier}`, { taskId, identifier, kind });
    let result: unknown;
    try {
      // Under the task's id, so what the handler submits names it as its parent (sdk/taskContext.ts).
      result = runAsTask(taskId, () => handler(task));
    } catch (error) {
      this.#handlerFailed(running, error);
      return;
    }
    if (isThenable(result)) {
      Promise.resolve(result).then(
        (value) => {
          if (this.#open.get(taskId) !== running) return;
          if (!running.push) return this.#resolved(running, task, value);
          const outcome = value as { result: BackgroundFetchResult; invalid: unknown } | undefined;
          if (outcome?.invalid !== undefined) {
            this.#log(
              'warn',
              `the onRemoteNotification handler returned ` +
                `${describeThrown(outcome.invalid, 80)}; expected 'newData', 'noData' or ` +
                `'failed' (recorded as failed)`,
              { taskId },
            );
            return this.#complete(running, false, task, 'invalidResult', null, 'failed');
          }
          const fetched = outcome?.result ?? 'noData';
          this.#complete(
            running,
            fetched !== 'failed',
            task,
            fetched === 'failed' ? 'handlerReportedFailure' : null,
            null,
            fetched,
          );
        },
        (error: unknown) => this.#handlerFailed(running, error),
      );
    }
  }

  /** A handler's promise resolved: success, with what it resolved to as the task's result (docs/workflows.md). */
  #resolved(entry: OpenTask, task: BGTask, value: unknown): void {
    if (value === undefined || value === null) return this.#complete(entry, true, task);
    const problem = payloadProblem(value);
    if (problem === null) return this.#complete(entry, true, task, null, null, null, value);
    // A handler written before results existed may resolve to anything (a Response, a class): the work
    // still succeeded, so it completes as it always did, without a result, and says why.
    const message = `the handler for ${task.identifier} resolved to a value that is not kept as its result: ${problem}`;
    this.#log('warn', message, { taskId: task.taskId });
    this.#complete(entry, true, task);
  }

  /** The push handler, as a task handler that resolves to its checked result. */
  #pushTaskHandler(delivery: TaskDelivery): TaskHandler | undefined {
    const handler = this.#hooks.pushHandler();
    if (!handler || !delivery.push) return undefined;
    const push = toRemoteNotification(delivery.push);
    return async (task) => {
      const value: unknown = await handler(push, task);
      return isFetchResult(value)
        ? { result: value, invalid: undefined }
        : { result: 'failed', invalid: value === undefined ? 'undefined' : value };
    };
  }

  #handlerFailed(entry: OpenTask, error: unknown): void {
    const message = describeThrown(error);
    const { task } = entry;
    if (this.#open.get(task.taskId) !== entry) {
      this.#log('warn', `the handler for ${task.identifier} threw after its task ended: ${message}`, {
        taskId: task.taskId,
      });
      return;
    }
    this.#log('warn', `the handler for ${task.identifier} threw: ${message}`, { taskId: task.taskId });
    this.#complete(entry, false, task, 'handlerThrew', message);
  }

  #complete(
    entry: OpenTask | undefined,
    success: boolean,
    task: BGTask,
    reason: string | null = null,
    error: string | null = null,
    result: BackgroundFetchResult | null = null,
    output?: unknown,
  ): void {
    if (!entry || entry.task !== task || this.#open.get(task.taskId) !== entry) {
      this.#log('debug', `setTaskCompleted(${success}) ignored: task ${task.identifier} already ended`, {
        taskId: task.taskId,
      });
      return;
    }
    this.#open.delete(task.taskId);
    task.expirationHandler = null;
    if (entry.block) this.#blockRunning--;
    // `result` only for pushes, so frames about other tasks stay as older daemons know them.
    this.#completed.push({
      taskId: task.taskId,
      success,
      reason,
      error,
      ...(entry.push ? { result: result ?? (success ? 'newData' : 'failed') } : {}),
      // Only a task with a result sends one (an older daemon never sees the field otherwise).
      ...(output !== undefined ? { output } : {}),
    });
    this.#log('debug', `task ${task.identifier} completed (success: ${success})`, { taskId: task.taskId, reason });
    if (entry.block) this.#pump();
    this.#hooks.changed();
  }

  #callExpirationHandler(task: BGTask, handler: () => void): void {
    try {
      handler();
    } catch (error) {
      this.#log('error', `the expiration handler of ${task.identifier} threw: ` + `${describeThrown(error)}`, {
        taskId: task.taskId,
      });
    }
  }

  #log(level: keyof Logger, message: string, fields?: Record<string, unknown>): void {
    safeLog(this.#hooks.logger(), level, message, fields);
  }
}

/** A file-triggered task's data: its payload with the changes under `trigger` (BGTask.data says how). */
function withTrigger(payload: unknown, trigger: TriggerDelivery): unknown {
  if (payload === undefined || payload === null) return { trigger };
  if (typeof payload === 'object' && !Array.isArray(payload)) return { ...payload, trigger };
  return { data: payload, trigger };
}
