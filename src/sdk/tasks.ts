import type { TaskKind } from '../engine/types.js';

/**
 * The reason a task's {@link BGTask.signal} is aborted with: `code` is always `'expired'`;
 * `expirationReason` says why: the daemon's code (`timeLimit`, `manual`, `requiresExternalPower`, ...),
 * `daemonUnreachable` when the connection to the daemon was lost, `schedulerClosed` after
 * `BGTaskScheduler.close()`.
 */
export class BGTaskExpiredError extends Error {
  override readonly name = 'BGTaskExpiredError';
  readonly code = 'expired';
  constructor(
    readonly identifier: string,
    readonly expirationReason: string,
  ) {
    super(`task ${identifier} expired (${expirationReason})`);
  }
}

/** What the scheduler gives a task when it builds one. @internal */
export interface TaskInit {
  readonly taskId: string;
  readonly identifier: string;
  readonly deadline: Date | null;
  readonly signal: AbortSignal;
  /** Records the completion; the scheduler makes a second call a no-op. */
  readonly complete: (success: boolean) => void;
}

/**
 * A task the daemon asked the app to run now: Apple's `BGTask`. The handler gets it; end it with
 * {@link setTaskCompleted}, or return a promise from the handler and the task completes when it settles.
 *
 * Expiration arrives two ways, use either: {@link signal} is aborted (its `reason` is a
 * {@link BGTaskExpiredError}), then {@link expirationHandler} is called. A task with no expiration
 * handler is completed unsuccessfully at expiration (as on iOS), so a handler that only watches the
 * signal should expect its late completion to be ignored.
 */
export abstract class BGTask {
  readonly #init: TaskInit;
  #expirationHandler: (() => void) | null = null;

  /** @internal Tasks are built by the scheduler (or the testing kit), never by apps. */
  constructor(init: TaskInit) {
    this.#init = init;
  }

  /** The identifier of the request that started the task (a concrete one, also for a `.*` family handler). */
  get identifier(): string {
    return this.#init.identifier;
  }

  /** This run's id, as `bgtasks history` shows it. */
  get taskId(): string {
    return this.#init.taskId;
  }

  /** When the system expires the task, or null when the task has no time limit. */
  get deadline(): Date | null {
    return this.#init.deadline === null ? null : new Date(this.#init.deadline);
  }

  /**
   * Aborted when the task expires, or when the app loses its daemon. Pass it to `fetch`, streams, timers.
   * `signal.reason` is a {@link BGTaskExpiredError}.
   */
  get signal(): AbortSignal {
    return this.#init.signal;
  }

  /** `refresh` for {@link BGAppRefreshTask}, `processing` for {@link BGProcessingTask}. */
  abstract get kind(): TaskKind;

  /**
   * Called once, shortly before the task's time runs out (after {@link signal} is aborted): stop the
   * work and call {@link setTaskCompleted}. Cleared after it is called and after completion.
   * @default null
   */
  get expirationHandler(): (() => void) | null {
    return this.#expirationHandler;
  }

  set expirationHandler(handler: (() => void) | null) {
    if (handler !== null && handler !== undefined && typeof handler !== 'function') {
      throw new TypeError(`Expected \`expirationHandler\` to be a function or null, got \`${String(handler)}\` (${typeof handler})`);
    }
    this.#expirationHandler = handler ?? null;
  }

  /**
   * Tells the system the work is done, so it can end the app's background time. Call it once; a second
   * call does nothing. To run again, submit a new request before calling this.
   * @param success Whether the work succeeded.
   */
  setTaskCompleted(success: boolean): void {
    if (typeof success !== 'boolean') {
      throw new TypeError(`Expected \`success\` to be a boolean, got \`${String(success)}\` (${typeof success})`);
    }
    this.#init.complete(success);
  }

  toJSON(): Record<string, unknown> {
    return { taskId: this.taskId, identifier: this.identifier, kind: this.kind, deadline: this.#init.deadline };
  }
}

/** A task run for a {@link BGAppRefreshTaskRequest}: short, to bring content up to date. */
export class BGAppRefreshTask extends BGTask {
  get kind(): 'refresh' {
    return 'refresh';
  }
}

/** A task run for a {@link BGProcessingTaskRequest}: deferrable work that may take minutes. */
export class BGProcessingTask extends BGTask {
  get kind(): 'processing' {
    return 'processing';
  }
}

/** Builds the task class for a kind. @internal */
export function createTask(kind: TaskKind, init: TaskInit): BGTask {
  return kind === 'processing' ? new BGProcessingTask(init) : new BGAppRefreshTask(init);
}
