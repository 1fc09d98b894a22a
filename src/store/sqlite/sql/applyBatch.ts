import type { StoreBatch } from '../../store.js';
import { appendEvents } from './appendEvents.js';
import { putChildSubmissions } from './childSubmissions.js';
import type { SqlContext } from './context.js';
import { deleteApps } from './deleteApps.js';
import { deleteRequests } from './deleteRequests.js';
import { insertRuns } from './insertRuns.js';
import { deleteLeases, putLeases } from './leases.js';
import { insertNotifications, updateNotifications } from './notifications.js';
import { insertPushes, updatePushes } from './pushes.js';
import { putApps } from './putApps.js';
import { putRequests } from './putRequests.js';
import { writeSettings } from './settings.js';
import { updateRuns } from './updateRuns.js';

/**
 * Writes the parts of a validated batch in the order {@link StoreBatch} lists them. The caller wraps
 * this in one transaction: a failure in any part rolls back every part.
 */
export function applyBatch(ctx: SqlContext, batch: StoreBatch): void {
  if (batch.putApps) putApps(ctx, batch.putApps);
  if (batch.deleteApps) deleteApps(ctx, batch.deleteApps);
  if (batch.putRequests) putRequests(ctx, batch.putRequests);
  if (batch.deleteRequests) deleteRequests(ctx, batch.deleteRequests);
  if (batch.insertRuns) insertRuns(ctx, batch.insertRuns);
  if (batch.updateRuns) updateRuns(ctx, batch.updateRuns);
  if (batch.events) appendEvents(ctx, batch.events);
  if (batch.settings) writeSettings(ctx, batch.settings);
  if (batch.insertPushes) insertPushes(ctx, batch.insertPushes);
  if (batch.updatePushes) updatePushes(ctx, batch.updatePushes);
  if (batch.insertNotifications) insertNotifications(ctx, batch.insertNotifications);
  if (batch.updateNotifications) updateNotifications(ctx, batch.updateNotifications);
  if (batch.putLeases) putLeases(ctx, batch.putLeases);
  if (batch.deleteLeases) deleteLeases(ctx, batch.deleteLeases);
  if (batch.putChildSubmissions) putChildSubmissions(ctx, batch.putChildSubmissions);
}

/** Whether the batch writes anything; an empty one needs no transaction, and so no fsync. */
export function batchHasWrites(batch: StoreBatch): boolean {
  return (
    (batch.putApps?.length ?? 0) > 0 ||
    (batch.deleteApps?.length ?? 0) > 0 ||
    (batch.putRequests?.length ?? 0) > 0 ||
    (batch.deleteRequests?.length ?? 0) > 0 ||
    (batch.insertRuns?.length ?? 0) > 0 ||
    (batch.updateRuns?.length ?? 0) > 0 ||
    (batch.events?.length ?? 0) > 0 ||
    (batch.settings !== undefined && Object.keys(batch.settings).length > 0) ||
    (batch.insertPushes?.length ?? 0) > 0 ||
    (batch.updatePushes?.length ?? 0) > 0 ||
    (batch.insertNotifications?.length ?? 0) > 0 ||
    (batch.updateNotifications?.length ?? 0) > 0 ||
    (batch.putLeases?.length ?? 0) > 0 ||
    (batch.deleteLeases?.length ?? 0) > 0 ||
    (batch.putChildSubmissions?.length ?? 0) > 0
  );
}
