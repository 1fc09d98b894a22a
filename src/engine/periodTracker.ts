import { MinHeap } from './minHeap.js';
import { missedPeriods, movedTo, periodEnd, recurrenceAt } from './recurrence.js';
import type { RequestQueue } from './requestQueue.js';
import type { Blocker } from './policy.js';
import { requestKey, type HistoryEventInput, type TaskRequest } from './types.js';

interface PeriodEnd {
  readonly at: number;
  readonly appId: string;
  readonly identifier: string;
  readonly requestId: string;
}

export interface MissedPeriods {
  /** The request as it was: the periods from its own up to `movedTo` ended with no run. */
  readonly request: TaskRequest;
  readonly missed: readonly number[];
  /** The reason code of what held it back last, or null if nothing did (it waited for its app to launch). */
  readonly reason: string | null;
  /** The request moved to the current period. */
  readonly moved: TaskRequest;
}

/**
 * Watches the ends of the periods of pending periodic requests, so a period that ends with no run is
 * noticed when it ends (and recorded as skipped, with what held it), not only when the request finally
 * runs. One heap entry per pending periodic request; stale entries are skipped when they surface.
 */
export class PeriodTracker {
  readonly #ends = new MinHeap<PeriodEnd>((a, b) => a.at - b.at);

  track(request: TaskRequest): void {
    const recurrence = request.recurrence;
    if (!recurrence) return;
    this.#ends.push({
      at: periodEnd(recurrence),
      appId: request.appId,
      identifier: request.identifier,
      requestId: request.requestId,
    });
  }

  /** Wall-clock ms of the next period end to look at. */
  nextAt(queue: RequestQueue): number | undefined {
    for (let top = this.#ends.peek(); top; top = this.#ends.peek()) {
      if (queue.get(top.appId, top.identifier)?.request.requestId === top.requestId) return top.at;
      this.#ends.pop();
    }
    return undefined;
  }

  /**
   * The pending periodic requests whose period has ended by `now`, moved to the current period (in the
   * queue, and tracked again). The caller records the skipped periods and writes the moved requests.
   */
  advance(queue: RequestQueue, now: number): MissedPeriods[] {
    const result: MissedPeriods[] = [];
    const seen = new Set<string>();
    for (let top = this.#ends.peek(); top && top.at <= now; top = this.#ends.peek()) {
      this.#ends.pop();
      const key = requestKey(top.appId, top.identifier);
      const entry = queue.get(top.appId, top.identifier);
      const request = entry?.request;
      if (!entry || !request?.recurrence || request.requestId !== top.requestId || seen.has(key)) continue;
      seen.add(key);
      const current = recurrenceAt(request.recurrence, now);
      const missed = missedPeriods(request.recurrence, current.period);
      const moved = movedTo(request, current);
      queue.put(moved, now);
      const fresh = queue.get(top.appId, top.identifier);
      if (fresh) fresh.lastReason = entry.lastReason; // the decision did not change: do not record it again
      this.track(moved);
      if (missed.length > 0) result.push({ request, missed, moved, reason: entry.lastReason });
    }
    return result;
  }
}

/** The history event for a period that ended with no run; `reason` is what held it (null: it waited for a launch). */
export function skippedEvent(
  at: number,
  request: TaskRequest,
  period: number,
  reason: string | null,
): HistoryEventInput {
  return {
    at,
    appId: request.appId,
    identifier: request.identifier,
    taskId: null,
    type: 'skipped',
    reason: reason ?? 'notDispatched',
    detail: { period, requestId: request.requestId },
  };
}

/** The history event for a change of a pending request's blocking reason. */
export function deferredEvent(request: TaskRequest, blocker: Blocker, at: number): HistoryEventInput {
  return {
    at,
    appId: request.appId,
    identifier: request.identifier,
    taskId: null,
    type: 'deferred',
    reason: blocker.reason,
    detail: {
      policy: blocker.policy,
      outcome: blocker.outcome,
      message: blocker.message,
      until: blocker.until,
      requestId: request.requestId,
    },
  };
}
