import type { Clock } from '../../engine/clock.js';
import type { ConditionsSource } from '../../engine/conditions.js';
import type { SchedulingOptions } from '../../engine/options.js';
import { pressureStop, type SustainedPressure } from '../../engine/policies/pressureStop.js';
import type { RequestQueue } from '../../engine/requestQueue.js';
import type { TaskRequest } from '../../engine/types.js';
import type { ProgressUpdate } from '../../protocol/messages.js';
import { DaemonError } from '../errors.js';
import type { ActiveRun, ActiveRuns } from './activeRuns.js';
import type { AppInstance } from './ports.js';
import type { RunPort } from './sidePorts.js';

export interface CancelledWhileAway {
  readonly identifier: string;
  readonly reason: string;
  readonly at: number;
}

export interface ContinuedTasksDeps {
  readonly clock: Clock;
  readonly options: SchedulingOptions;
  readonly queue: RequestQueue;
  readonly runs: ActiveRuns;
  readonly conditions: ConditionsSource;
  /** Hardware this machine has: a request that needs more never runs, so it holds no place in line. */
  readonly supportedResources: readonly string[];
}

/**
 * What is particular to continued processing tasks (work a person started and watches): the line they
 * wait in, their progress and the stall it guards against, giving way under pressure, and what a
 * force-quit cancels and the app is told later. See docs/continued.md.
 */
export class ContinuedTasks {
  readonly #deps: ContinuedTasksDeps;
  /** The run side, connected once the driver exists (it needs this object first): see {@link connect}. */
  #runs: Pick<RunPort, 'expire'> | null = null;
  readonly #cancelledWhileAway = new Map<string, CancelledWhileAway[]>();

  constructor(deps: ContinuedTasksDeps) {
    this.#deps = deps;
  }

  /** Connects the run side, which expires the tasks this decides to stop. */
  connect(runs: Pick<RunPort, 'expire'>): void {
    this.#runs = runs;
  }

  /** A pending continued request's place in line (1 is next), oldest submission first; null for others. */
  queuePosition(appId: string, identifier: string): number | null {
    const entry = this.#deps.queue.get(appId, identifier);
    if (entry?.request.kind !== 'continued') return null;
    const mine = entry.request;
    let position = 1;
    for (const { request } of this.#deps.queue.all()) {
      if (request.kind !== 'continued' || request === mine || !this.#runnableHere(request)) continue;
      if (
        request.submittedAt < mine.submittedAt ||
        (request.submittedAt === mine.submittedAt && request.requestId < mine.requestId)
      )
        position++;
    }
    return position;
  }

  #runnableHere(request: TaskRequest): boolean {
    return (request.continued?.requiredResources ?? []).every((resource) =>
      this.#deps.supportedResources.includes(resource),
    );
  }

  /** A continued task that reports no progress for `continuedStallMs` is expired as stalled. */
  armStall(active: ActiveRun): void {
    active.timer?.dispose();
    active.timer = this.#deps.clock.setTimer(this.#deps.options.continuedStallMs, () => {
      active.timer = null;
      this.#runs?.expire(active, 'stalled');
    });
  }

  /** Progress (and title changes) the app reports for its continued tasks. */
  progress(instance: AppInstance, updates: readonly ProgressUpdate[]): void {
    const now = this.#deps.clock.now();
    for (const update of updates) {
      const active = this.#deps.runs.get(update.taskId);
      if (!active || active.instance !== instance || active.run.kind !== 'continued') continue;
      const previous = active.progress;
      active.progress = { completed: update.completed, total: update.total, at: now };
      if (update.title !== undefined) active.title = update.title;
      if (update.subtitle !== undefined) active.subtitle = update.subtitle;
      // Only progress that moves counts against a stall: repeating the same number is not work.
      const moved = !previous || previous.completed !== update.completed || previous.total !== update.total;
      if (moved && active.run.state === 'running') this.armStall(active);
    }
  }

  /**
   * Under critical memory pressure or heat (see `pressureStop`), one continued task gives way, the least
   * advanced first (it loses the least work), at each check while the pressure lasts. The person
   * started these, so they are not all stopped at once, as processing tasks are.
   */
  shedUnderPressure(pressure: SustainedPressure): void {
    const { conditions } = this.#deps.conditions.current();
    let least: { active: ActiveRun; fraction: number; reason: string } | null = null;
    for (const active of this.#deps.runs.all()) {
      if (active.run.kind !== 'continued' || active.run.state !== 'running') continue;
      const stop = pressureStop(active.run, conditions, pressure, this.#deps.options);
      if (!stop) continue;
      const fraction =
        active.progress && active.progress.total > 0 ? active.progress.completed / active.progress.total : 0;
      if (!least || fraction < least.fraction) least = { active, fraction, reason: stop.reason };
    }
    if (least) this.#runs?.expire(least.active, least.reason);
  }

  /**
   * A force-quit cancels the app's continued tasks, running and queued (the person quit the app, so the
   * work they started ends with it), and the app hears of it when it next connects. Returns the queued
   * requests, for the caller to remove.
   */
  forceQuit(appId: string): TaskRequest[] {
    const now = this.#deps.clock.now();
    const told = this.#cancelledWhileAway.get(appId) ?? [];
    for (const active of this.#deps.runs.forApp(appId))
      if (active.run.kind === 'continued')
        told.push({ identifier: active.run.identifier, reason: 'forceQuit', at: now });
    const queued = this.#deps.queue.forApp(appId).filter((request) => request.kind === 'continued');
    for (const request of queued) told.push({ identifier: request.identifier, reason: 'forceQuit', at: now });
    if (told.length > 0) this.#cancelledWhileAway.set(appId, told);
    return queued;
  }

  /**
   * The person takes a continued request out of the line from the system UI. The app is told at its
   * next connection, as after a force-quit (reason `userCancelled`).
   * @throws DaemonError `notPending` when no continued request with this identifier waits.
   */
  async cancelQueued(
    appId: string,
    identifier: string,
    remove: (requests: TaskRequest[]) => Promise<void>,
  ): Promise<'removed'> {
    const request = this.#deps.queue.get(appId, identifier)?.request;
    if (request?.kind !== 'continued')
      throw new DaemonError('notPending', `no continued request ${identifier} of ${appId} waits in line`, 'identifier');
    await remove([request]);
    this.tell(appId, { identifier, reason: 'userCancelled', at: this.#deps.clock.now() });
    return 'removed';
  }

  /** Keeps a cancellation to tell the app at its next connection. */
  tell(appId: string, cancelled: CancelledWhileAway): void {
    this.#cancelledWhileAway.set(appId, [...(this.#cancelledWhileAway.get(appId) ?? []), cancelled]);
  }

  /** The continued tasks cancelled while the app was away, told once. */
  takeCancelledWhileAway(appId: string): CancelledWhileAway[] {
    const list = this.#cancelledWhileAway.get(appId) ?? [];
    this.#cancelledWhileAway.delete(appId);
    return list;
  }
}
