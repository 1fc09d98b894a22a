import { dependentsToCancel } from '../../engine/dependencies.js';
import type { RequestQueue } from '../../engine/requestQueue.js';
import type { HistoryEventInput, TaskRequest } from '../../engine/types.js';
import type { RequestRef, StoreBatch } from '../../store/store.js';

export interface Cascade {
  /** The pending dependents that go with the cancelled requests. */
  readonly requests: readonly TaskRequest[];
  readonly deleteRequests: readonly RequestRef[];
  readonly events: readonly HistoryEventInput[];
}

/**
 * The pending requests to cancel with `cancelled` (their dependents, transitively: see
 * `dependentsToCancel`), each with a `cancelled` event, reason `prerequisiteFailed`, naming the
 * prerequisite that took it down. The caller writes them in the same batch as the cancellation itself.
 */
export function cascadeCancellation(
  cancelled: readonly TaskRequest[],
  queue: RequestQueue,
  now: number,
  anyDependents: boolean,
): Cascade {
  // Most daemons never see a dependent: cancelling then costs what it always did.
  if (!anyDependents) return { requests: [], deleteRequests: [], events: [] };
  const requests: TaskRequest[] = [];
  const events: HistoryEventInput[] = [];
  const byApp = new Map<string, string[]>();
  for (const request of cancelled) {
    const list = byApp.get(request.appId) ?? [];
    list.push(request.identifier);
    byApp.set(request.appId, list);
  }
  for (const [appId, identifiers] of byApp) {
    const pending = queue.forApp(appId);
    if (!pending.some((request) => request.dependsOn)) continue;
    for (const [identifier, prerequisite] of dependentsToCancel(identifiers, pending)) {
      const request = queue.get(appId, identifier)?.request;
      if (!request) continue;
      requests.push(request);
      const detail = { requestId: request.requestId, prerequisite };
      const reason = 'prerequisiteFailed';
      events.push({ at: now, appId, identifier, taskId: null, type: 'cancelled', reason, detail });
    }
  }
  const deleteRequests = requests.map(({ appId, identifier, requestId }) => ({ appId, identifier, requestId }));
  return { requests, deleteRequests, events };
}

/**
 * Dependents whose prerequisite failed for good (the `dependencies` policy's `prerequisiteFailed`), with
 * their own dependents: what to take out of the queue and the one batch that records it, each with a
 * `cancelled` event, reason `prerequisiteFailed` (the dependent's own carries the policy's sentence).
 */
export function failedDependents(
  dependents: readonly TaskRequest[],
  message: string,
  queue: RequestQueue,
  now: number,
): { readonly requests: readonly TaskRequest[]; readonly batch: StoreBatch } {
  const cascade = cascadeCancellation(dependents, queue, now, true);
  const requests = [...dependents, ...cascade.requests];
  const events: HistoryEventInput[] = dependents.map(({ appId, identifier, requestId }) => ({
    at: now,
    appId,
    identifier,
    taskId: null,
    type: 'cancelled',
    reason: 'prerequisiteFailed',
    detail: { requestId, message },
  }));
  const deleteRequests = requests.map(({ appId, identifier, requestId }) => ({ appId, identifier, requestId }));
  return { requests, batch: { deleteRequests, events: [...events, ...cascade.events] } };
}
