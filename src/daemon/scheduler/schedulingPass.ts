import type { Clock, Disposable } from '../../engine/clock.js';
import { evaluate } from '../../engine/evaluate.js';
import type { SchedulingOptions } from '../../engine/options.js';
import type { Policy } from '../../engine/policy.js';
import type { RequestQueue } from '../../engine/requestQueue.js';
import type { HistoryEventInput, TaskRequest } from '../../engine/types.js';
import type { StoreBatch } from '../../store/store.js';
import type { StoreWriter } from '../storeWriter.js';
import type { AppTable } from './appTable.js';
import { deferredEvent, skippedEvent, type PeriodTracker } from '../../engine/periodTracker.js';
import { appSchedulingState, policyContext, type PolicyInputs } from './policyContext.js';
import type { SchedulerLog } from './ports.js';
import type { PushDelivery } from './pushDelivery.js';
import type { RunPort, WorkflowPort } from './sidePorts.js';

export interface SchedulingPassDeps {
  readonly clock: Clock;
  readonly writer: StoreWriter;
  readonly log: SchedulerLog;
  readonly options: SchedulingOptions;
  readonly policies: readonly Policy[];
  readonly inputs: PolicyInputs;
  readonly queue: RequestQueue;
  readonly apps: AppTable;
  readonly periods: PeriodTracker;
  readonly pushes: PushDelivery;
  /** The run side: starts a run for an eligible request. */
  readonly runs: Pick<RunPort, 'dispatch'>;
  /** The workflows' side: a dependent whose prerequisite failed for good is cancelled. */
  readonly workflows: Pick<WorkflowPort, 'prerequisiteFailed'>;
}

/**
 * The scheduling pass: after each event (a submission, a completion, a connection, a change of
 * conditions) and at the next due time, never on a polling loop. It records missed periods and expired
 * pushes, asks the policies about every due request, dispatches the eligible ones, keeps each change of a
 * request's blocking reason as the decision history, parks what waits for the conditions or the person,
 * and sleeps until the earliest time a verdict may change (at most `maxSleepMs`).
 */
export class SchedulingPass implements Disposable {
  readonly #deps: SchedulingPassDeps;
  #wakeTimer: Disposable | null = null;
  #queued = false;
  #conditionsChanged = false;
  #disposed = false;
  readonly #runListeners = new Set<() => void>();

  readonly #unwatchStore: () => void;

  constructor(deps: SchedulingPassDeps) {
    this.#deps = deps;
    // Dispatching waits while the store cannot be written (see #run); it resumes when the store recovers.
    this.#unwatchStore = deps.writer.onDidChangeHealth((fault) => {
      if (!fault) this.request();
    });
  }

  /** Asks for a pass after the current work; many requests in one turn make one pass. */
  request(): void {
    if (this.#queued || this.#disposed) return;
    this.#queued = true;
    queueMicrotask(() => {
      this.#queued = false;
      if (!this.#disposed) this.#run();
    });
  }

  /** The conditions (or a switch) changed: requests parked for them are looked at again in the next pass. */
  conditionsChanged(): void {
    this.#conditionsChanged = true;
  }

  /** Calls `listener` after each pass, once what could start has been dispatched. */
  onDidRun(listener: () => void): Disposable {
    this.#runListeners.add(listener);
    return { dispose: () => this.#runListeners.delete(listener) };
  }

  #run(): void {
    this.#pass();
    for (const listener of this.#runListeners) listener();
  }

  #pass(): void {
    const { queue, apps, policies, inputs, periods, pushes, log } = this.#deps;
    const now = this.#deps.clock.now();
    if (this.#conditionsChanged) {
      this.#conditionsChanged = false;
      queue.unparkAll();
    }
    const events: HistoryEventInput[] = [];
    this.#recordMissedPeriods(now, events);
    const expired = pushes.expireDue(now);
    if (expired) this.#writeQuietly(expired);
    queue.promoteDue(now);
    let wakeAt = Math.min(
      queue.nextDueAt() ?? Infinity,
      periods.nextAt(queue) ?? Infinity,
      pushes.nextExpiryAt() ?? Infinity,
    );
    if (this.#deps.writer.fault) {
      // A run that cannot be recorded must not start: the requests wait, pending, for the store.
      if (events.length > 0) this.#writeQuietly({ events });
      return this.#armWake(now, wakeAt);
    }
    outer: for (const appId of [...queue.readyApps()]) {
      const app = apps.get(appId);
      if (!app) continue;
      const state = appSchedulingState(app, inputs, now);
      for (const entry of queue.readyFor(appId)) {
        const { eligible, blocking } = evaluate(policies, policyContext(entry.request, state, inputs, now));
        if (eligible) {
          entry.eligibleAt ??= now;
          this.#deps.runs.dispatch(app, entry, now, false);
          continue;
        }
        if (!blocking) continue;
        if (blocking.reason === 'prerequisiteFailed') {
          this.#deps.workflows.prerequisiteFailed(entry, blocking);
          continue;
        }
        // Every change of a request's blocking reason is logged and kept: the decision history `bgtasks why`
        // shows. Waiting for a free slot is queueing, not a decision about the request: under load it would
        // be one event per request, so it is left out (`why` still shows it while it holds).
        if (entry.lastReason !== blocking.reason && blocking.waitsFor !== 'capacity') {
          events.push(deferredEvent(entry.request, blocking, now));
          log.info(`${entry.request.identifier} of ${appId} waits: ${blocking.message} ` + `[${blocking.reason}]`, {
            appId,
            identifier: entry.request.identifier,
            reason: blocking.reason,
          });
        }
        entry.lastReason = blocking.reason;
        if (blocking.until !== null) wakeAt = Math.min(wakeAt, blocking.until);
        if (blocking.reason === 'systemConcurrencyLimit') break outer;
        const policy = policies.find((candidate) => candidate.name === blocking.policy);
        if (policy?.scope === 'app') break;
        if (blocking.waitsFor === 'conditions' || blocking.waitsFor === 'user') queue.park(entry);
      }
      queue.compact(appId);
    }
    if (events.length > 0) this.#writeQuietly({ events });
    this.#armWake(now, wakeAt);
  }

  /** Periods of periodic requests that ended with no run are recorded as skipped, with what held them. */
  #recordMissedPeriods(now: number, events: HistoryEventInput[]): void {
    const moved: TaskRequest[] = [];
    for (const { request, missed, moved: next, reason } of this.#deps.periods.advance(this.#deps.queue, now)) {
      for (const period of missed) events.push(skippedEvent(now, request, period, reason));
      moved.push(next);
      this.#deps.log.info(
        `${request.identifier} of ${request.appId} skipped ${missed.length} ` +
          `period(s): ${reason ?? 'notDispatched'}`,
        { appId: request.appId, identifier: request.identifier },
      );
    }
    if (moved.length > 0) this.#writeQuietly({ putRequests: moved });
  }

  #writeQuietly(batch: StoreBatch): void {
    this.#deps.writer.retain(batch).catch((error: unknown) => {
      this.#deps.log.error('a store write failed', { error: error instanceof Error ? error.message : String(error) });
    });
  }

  #armWake(now: number, wakeAt: number): void {
    this.#wakeTimer?.dispose();
    const delay = Math.min(Math.max(0, wakeAt - now), this.#deps.options.maxSleepMs);
    this.#wakeTimer = this.#deps.clock.setTimer(delay, () => {
      this.#wakeTimer = null;
      this.request();
    });
  }

  dispose(): void {
    this.#disposed = true;
    this.#runListeners.clear();
    this.#unwatchStore();
    this.#wakeTimer?.dispose();
    this.#wakeTimer = null;
  }
}
