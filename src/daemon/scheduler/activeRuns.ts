import type { Disposable } from '../../engine/clock.js';
import type { TaskRequest, TaskRun } from '../../engine/types.js';
import { occupiedSlots } from '../../engine/blocks.js';
import type { AppInstance } from './ports.js';

/** A run that has not finished, with what the daemon needs to drive it. */
export interface ActiveRun {
  run: TaskRun;
  /** The process it was delivered to; null while the app is launching. */
  instance: AppInstance | null;
  /** The deadline or grace-period timer. */
  timer: Disposable | null;
  /** What the app last reported of its progress (continued processing tasks), or undefined. */
  progress?: { completed: number; total: number; at: number };
  /** The title and subtitle the person sees (continued processing tasks). */
  title?: string;
  subtitle?: string;
  /**
   * For a push run: the push it delivers, whether it is urgent (priority 10: not charged to the budget), and what the
   * handler returned.
   */
  push?: { readonly pushId: string; readonly urgent: boolean; result: 'newData' | 'noData' | 'failed' | null };
  /** Settles once the run's dispatch is committed; its delivery to the app waits for it (see RunDriver.dispatch). */
  durable?: Promise<void>;
  /** Set for a task handed over in a block (see BlockLeases): the lease it is held under. */
  lease?: HeldLease;
  /**
   * For a task of a block: its request as dispatched (still in the store), put back as it was if the task is given
   * back.
   */
  request?: TaskRequest;
  /** For a request with `dependsOn`: its prerequisites' results, handed to the app with the task. */
  prerequisites?: Readonly<Record<string, unknown>>;
}

/** A block's lease while some of its tasks are still held. */
export interface HeldLease {
  readonly leaseId: string;
  /** Its tasks not finished or given back yet; at 0 the lease's row is deleted. */
  remaining: number;
}

/**
 * The runs in flight, with the counts the concurrency policies read: per app, per identifier and for the
 * whole system. Every change to those counts goes through {@link add} and {@link remove}.
 */
export class ActiveRuns {
  readonly #runs = new Map<string, ActiveRun>();
  readonly #byApp = new Map<string, Set<ActiveRun>>();
  readonly #identifiers = new Map<string, Map<string, number>>();
  /** Per app, its runs held in blocks (they take at most the app's concurrency in slots). */
  readonly #leased = new Map<string, number>();
  #leasedTotal = 0;

  #continued = 0;

  get size(): number {
    return this.#runs.size;
  }

  /** Continued processing tasks in flight. */
  get continuedCount(): number {
    return this.#continued;
  }

  get(taskId: string): ActiveRun | undefined {
    return this.#runs.get(taskId);
  }

  add(active: ActiveRun): void {
    const { taskId, appId, identifier } = active.run;
    this.#runs.set(taskId, active);
    if (active.run.kind === 'continued') this.#continued++;
    if (active.lease) this.#adjustLeased(appId, 1);
    let runs = this.#byApp.get(appId);
    if (!runs) this.#byApp.set(appId, (runs = new Set()));
    runs.add(active);
    let identifiers = this.#identifiers.get(appId);
    if (!identifiers) this.#identifiers.set(appId, (identifiers = new Map()));
    identifiers.set(identifier, (identifiers.get(identifier) ?? 0) + 1);
  }

  remove(active: ActiveRun): boolean {
    const { taskId, appId, identifier } = active.run;
    if (this.#runs.get(taskId) !== active) return false;
    this.#runs.delete(taskId);
    if (active.run.kind === 'continued') this.#continued--;
    if (active.lease) this.#adjustLeased(appId, -1);
    active.timer?.dispose();
    active.timer = null;
    const runs = this.#byApp.get(appId);
    runs?.delete(active);
    if (runs?.size === 0) this.#byApp.delete(appId);
    const identifiers = this.#identifiers.get(appId);
    const count = (identifiers?.get(identifier) ?? 1) - 1;
    if (count <= 0) identifiers?.delete(identifier);
    else identifiers?.set(identifier, count);
    if (identifiers?.size === 0) this.#identifiers.delete(appId);
    return true;
  }

  forApp(appId: string): ActiveRun[] {
    return [...(this.#byApp.get(appId) ?? [])];
  }

  /** Every run of the app not finished, in blocks or not. */
  countForApp(appId: string): number {
    return this.#byApp.get(appId)?.size ?? 0;
  }

  /** The app's runs held in blocks. */
  leasedForApp(appId: string): number {
    return this.#leased.get(appId) ?? 0;
  }

  /** The slots the app's runs take (see `occupiedSlots`): what its concurrency limit is judged on. */
  slotsForApp(appId: string, perAppConcurrency: number): number {
    const leased = this.leasedForApp(appId);
    return occupiedSlots(this.countForApp(appId) - leased, leased, perAppConcurrency);
  }

  /** The slots all runs take: what the system's concurrency limit is judged on. */
  systemSlots(perAppConcurrency: number): number {
    if (this.#leasedTotal === 0) return this.#runs.size;
    let slots = this.#runs.size - this.#leasedTotal;
    for (const leased of this.#leased.values()) slots += Math.min(leased, perAppConcurrency);
    return slots;
  }

  #adjustLeased(appId: string, by: number): void {
    const leased = (this.#leased.get(appId) ?? 0) + by;
    if (leased === 0) this.#leased.delete(appId);
    else this.#leased.set(appId, leased);
    this.#leasedTotal += by;
  }

  runningIdentifiers(appId: string): ReadonlySet<string> {
    return new Set(this.#identifiers.get(appId)?.keys() ?? []);
  }

  isIdentifierRunning(appId: string, identifier: string): boolean {
    return (this.#identifiers.get(appId)?.get(identifier) ?? 0) > 0;
  }

  forInstance(instance: AppInstance): ActiveRun[] {
    return this.forApp(instance.appId).filter((active) => active.instance === instance);
  }

  /** Runs of the app that wait for a process to launch and connect. */
  awaitingLaunch(appId: string): ActiveRun[] {
    return this.forApp(appId).filter((active) => active.run.state === 'launching');
  }

  all(): IterableIterator<ActiveRun> {
    return this.#runs.values();
  }
}
