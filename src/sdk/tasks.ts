import type { TaskKind } from '../protocol/vocabulary/kinds.js';
import { payloadProblem } from '../protocol/payload.js';
import { BGTaskSchedulerError } from './errors.js';

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
  /** Records the completion (with the task's result, if any); the scheduler makes a second call a no-op. */
  readonly complete: (success: boolean, result?: unknown) => void;
  /** The request's payload, when it has one; a file-triggered task's with its changes (BGTask.data). */
  readonly data?: unknown;
  /** For a request with `dependsOn`: each prerequisite's result (null for none), by identifier. */
  readonly prerequisites?: Readonly<Record<string, unknown>>;
  /** For continued tasks: what the person sees, and where progress goes. */
  readonly title?: string;
  readonly subtitle?: string;
  readonly report?: (update: { completed: number; total: number; title?: string; subtitle?: string }) => void;
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
   * Beyond Apple: the payload the request carried (`request.data`), as JSON gave it back; undefined when
   * it had none (docs/workflows.md). A task a file trigger started also gets the changes since the
   * request's last run under `trigger`: `{ ...data, trigger: { changes: [{ path, kind }], truncated } }`
   * (each changed path once, with its latest kind; `truncated`: more changed than the 256 listed). A payload
   * that is not an object is kept under `data` then: `{ data, trigger }`.
   */
  get data(): unknown {
    return this.#init.data;
  }

  /**
   * Beyond Apple: for a request with `dependsOn`, each prerequisite's result (what its handler returned or
   * passed to `setTaskCompleted({ result })`; null for none), by identifier. Empty otherwise.
   */
  get prerequisites(): Readonly<Record<string, unknown>> {
    return this.#init.prerequisites ?? {};
  }

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
      throw new TypeError(
        `Expected \`expirationHandler\` to be a function or null, got ` + `\`${String(handler)}\` (${typeof handler})`,
      );
    }
    this.#expirationHandler = handler ?? null;
  }

  /**
   * Tells the system the work is done, so it can end the app's background time. Call it once; a second
   * call does nothing. To run again, submit a new request before calling this.
   *
   * Apple's form takes whether the work succeeded; beyond Apple, `{ success, result }` also keeps a
   * result with the run (JSON, at most 16 KB), shown by `bgtasks history` and handed to the tasks that
   * depend on this one (docs/workflows.md).
   * @throws BGTaskSchedulerError `invalidRequest`, field `result`, for a result that is not JSON or too large.
   */
  setTaskCompleted(completion: boolean | { readonly success: boolean; readonly result?: unknown }): void {
    if (typeof completion === 'boolean') return this.#init.complete(completion);
    const success: unknown = (completion as { success?: unknown } | null)?.success;
    if (typeof success !== 'boolean') {
      throw new TypeError(`Expected \`success\` to be a boolean, got \`${String(success)}\` (${typeof success})`);
    }
    const { result } = completion;
    if (result === undefined || result === null) return this.#init.complete(success);
    const problem = payloadProblem(result);
    if (problem !== null) throw new BGTaskSchedulerError('invalidRequest', `result: ${problem}`, { field: 'result' });
    this.#init.complete(success, result);
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

/**
 * How far a continued task has come, like Foundation's `Progress`: set {@link totalUnitCount} once you
 * know the amount of work, and {@link completedUnitCount} as it gets done. Each change reaches the
 * system UI (coalesced to one message per tick), and keeps the task from being expired as stalled.
 */
export class BGTaskProgress {
  #total = 0;
  #completed = 0;
  readonly #changed: () => void;

  /** @internal */
  constructor(changed: () => void) {
    this.#changed = changed;
  }

  get totalUnitCount(): number {
    return this.#total;
  }

  set totalUnitCount(value: number) {
    this.#total = units('totalUnitCount', value);
    this.#changed();
  }

  get completedUnitCount(): number {
    return this.#completed;
  }

  set completedUnitCount(value: number) {
    this.#completed = units('completedUnitCount', value);
    this.#changed();
  }

  /** 0 to 1: completed / total (0 while the total is unknown). */
  get fractionCompleted(): number {
    return this.#total > 0 ? Math.min(1, this.#completed / this.#total) : 0;
  }

  toJSON(): Record<string, number> {
    return {
      totalUnitCount: this.#total,
      completedUnitCount: this.#completed,
      fractionCompleted: this.fractionCompleted,
    };
  }
}

function units(name: string, value: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`Expected \`${name}\` to be a whole number >= 0, got \`${String(value)}\` (${typeof value})`);
  }
  return value;
}

/**
 * A task run for a {@link BGContinuedProcessingTaskRequest}: work a person started, that keeps running
 * when the app goes away, with a progress bar the person can watch (`bgtasks top`, `bgtasks dashboard`)
 * and cancel. It has no time limit, but it must report progress: one that reports none for a while
 * (`continuedStallMs`, 1 min by default) is expired as stalled.
 */
export class BGContinuedProcessingTask extends BGTask {
  readonly progress: BGTaskProgress;
  #title: string;
  #subtitle: string;
  #reportQueued = false;
  readonly #report: NonNullable<TaskInit['report']>;

  /** @internal */
  constructor(init: TaskInit) {
    super(init);
    this.#title = init.title ?? '';
    this.#subtitle = init.subtitle ?? '';
    this.#report = init.report ?? (() => {});
    this.progress = new BGTaskProgress(() => this.#queueReport(false));
  }

  get kind(): 'continued' {
    return 'continued';
  }

  get title(): string {
    return this.#title;
  }

  get subtitle(): string {
    return this.#subtitle;
  }

  /** Changes what the person sees: "Exporting 3 of 12", "Uploading album.zip". */
  updateTitle(title: string, subtitle: string): void {
    if (typeof title !== 'string' || title.length === 0 || title.length > 200)
      throw new TypeError('Expected `title` to be a non-empty string of at most 200 characters');
    if (typeof subtitle !== 'string' || subtitle.length > 200)
      throw new TypeError('Expected `subtitle` to be a string of at most 200 characters');
    this.#title = title;
    this.#subtitle = subtitle;
    this.#queueReport(true);
  }

  #titleChanged = false;

  #queueReport(titleChanged: boolean): void {
    this.#titleChanged ||= titleChanged;
    if (this.#reportQueued) return;
    this.#reportQueued = true;
    // Many changes in one tick (a loop of completedUnitCount += 1) make one message.
    queueMicrotask(() => this.#sendReport());
  }

  #sendReport(): void {
    if (!this.#reportQueued) return;
    this.#reportQueued = false;
    const titles = this.#titleChanged ? { title: this.#title, subtitle: this.#subtitle } : {};
    this.#titleChanged = false;
    this.#report({ completed: this.progress.completedUnitCount, total: this.progress.totalUnitCount, ...titles });
  }

  /** Sends the last progress first, so the record shows where the work ended. */
  override setTaskCompleted(completion: boolean | { readonly success: boolean; readonly result?: unknown }): void {
    this.#sendReport();
    super.setTaskCompleted(completion);
  }

  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), title: this.#title, subtitle: this.#subtitle, progress: this.progress.toJSON() };
  }
}

/** Builds the task class for a kind. @internal */
export function createTask(kind: TaskKind, init: TaskInit): BGTask {
  if (kind === 'continued') return new BGContinuedProcessingTask(init);
  return kind === 'processing' ? new BGProcessingTask(init) : new BGAppRefreshTask(init);
}
