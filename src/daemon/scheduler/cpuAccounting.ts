import type { ActiveRun } from './activeRuns.js';
import type { AppInstance, CpuMeter } from './ports.js';

/**
 * Charges each task its share of its process's CPU time. The process's CPU clock is read whenever the
 * set of tasks running in it changes (a delivery, a finish); the time used since the last reading is
 * split evenly among the tasks that ran in between. Cheap (one procfs read per change) and fair enough:
 * tasks that run together share what they used together.
 */
export class CpuAccounting {
  readonly #meter: CpuMeter | null;
  readonly #lastReading = new Map<AppInstance, number>();
  readonly #charged = new Map<string, number>();
  /**
   * Readings taken in this turn of the event loop: a turn that delivers or finishes many tasks of one
   * process reads its CPU clock once, not once per task (little CPU time passes within a turn).
   */
  #thisTurn: Map<AppInstance, number | null> | null = null;

  constructor(meter: CpuMeter | null) {
    this.#meter = meter;
  }

  /** Call before the tasks running in `instance` change; `running` are the tasks that ran until now. */
  settle(instance: AppInstance, running: readonly ActiveRun[] | ReadonlySet<ActiveRun>): void {
    if (!this.#meter) return;
    const reading = this.#read(this.#meter, instance);
    if (reading === null) return;
    const last = this.#lastReading.get(instance);
    this.#lastReading.set(instance, reading);
    // Nothing used since the last reading (one reading a turn): nothing to share.
    const count = 'size' in running ? running.size : running.length;
    if (last === undefined || count === 0 || reading === last) return;
    const share = Math.max(0, reading - last) / count;
    for (const active of running)
      this.#charged.set(active.run.taskId, (this.#charged.get(active.run.taskId) ?? 0) + share);
  }

  #read(meter: CpuMeter, instance: AppInstance): number | null {
    if (!this.#thisTurn) {
      this.#thisTurn = new Map();
      queueMicrotask(() => (this.#thisTurn = null));
    }
    if (!this.#thisTurn.has(instance)) this.#thisTurn.set(instance, meter.cpuTimeMs(instance.pid));
    return this.#thisTurn.get(instance) ?? null;
  }

  /** The CPU ms charged to a task, and forgets it; null when nothing could be measured. */
  take(taskId: string): number | null {
    const charged = this.#charged.get(taskId);
    this.#charged.delete(taskId);
    if (charged === undefined) return this.#meter ? 0 : null;
    return Math.round(charged);
  }

  forget(instance: AppInstance): void {
    this.#lastReading.delete(instance);
  }
}
