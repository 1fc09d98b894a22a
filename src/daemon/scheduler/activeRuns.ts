import type { Disposable } from '../../engine/clock.js';
import type { TaskRun } from '../../engine/types.js';
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
  /** For a push run: the push it delivers, whether it is urgent (priority 10: not charged to the budget), and what the handler returned. */
  push?: { readonly pushId: string; readonly urgent: boolean; result: 'newData' | 'noData' | 'failed' | null };
  /** Settles once the run's dispatch is committed; its delivery to the app waits for it (see RunDriver.dispatch). */
  durable?: Promise<void>;
}

/**
 * The runs in flight, with the counts the concurrency policies read: per app, per identifier and for the
 * whole system. Every change to those counts goes through {@link add} and {@link remove}.
 */
export class ActiveRuns {
  readonly #runs = new Map<string, ActiveRun>();
  readonly #byApp = new Map<string, Set<ActiveRun>>();
  readonly #identifiers = new Map<string, Map<string, number>>();

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

  countForApp(appId: string): number {
    return this.#byApp.get(appId)?.size ?? 0;
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
