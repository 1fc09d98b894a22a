import type { PrerequisiteStatus } from '../../engine/dependencies.js';
import type { QueueEntry } from '../../engine/requestQueue.js';
import type { PrerequisiteBook } from './prerequisiteBook.js';

/**
 * A pending request that waits for other tasks (docs/workflows.md), as `pending`, `top`, the dashboard
 * and the kit show it.
 */
export interface DependentView {
  readonly appId: string;
  readonly identifier: string;
  readonly requestId: string;
  /** Its prerequisites, where each stands. */
  readonly prerequisites: readonly PrerequisiteStatus[];
}

/** The pending requests with `dependsOn` (of one app, or all), oldest submission first. */
export function dependentViews(entries: Iterable<QueueEntry>, book: PrerequisiteBook, appId?: string): DependentView[] {
  const views: DependentView[] = [];
  for (const { request } of entries) {
    if (!request.dependsOn || (appId !== undefined && request.appId !== appId)) continue;
    const { appId: app, identifier, requestId } = request;
    views.push({ appId: app, identifier, requestId, prerequisites: book.statuses(request) });
  }
  return views;
}
