import { dependentsToCancel } from '../../engine/dependencies.js';
import type { RequestQueue } from '../../engine/requestQueue.js';
import type { HistoryEventInput, TaskRequest } from '../../engine/types.js';
import type { RequestRef } from '../../store/store.js';

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
export function cascadeCancellation(cancelled: readonly TaskRequest[], queue: RequestQueue, now: number, anyDependents: boolean): Cascade {
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
      events.push({ at: now, appId, identifier, taskId: null, type: 'cancelled', reason: 'prerequisiteFailed', detail: { requestId: request.requestId, prerequisite } });
    }
  }
  return { requests, deleteRequests: requests.map(({ appId, identifier, requestId }) => ({ appId, identifier, requestId })), events };
}
