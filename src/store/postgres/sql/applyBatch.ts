import type { StoreBatch } from '../../store.js';
import { appendEvents } from './appendEvents.js';
import { putChildSubmissions } from './childSubmissions.js';
import type { PgContext } from './context.js';
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

const has = (part: readonly unknown[] | undefined): part is readonly unknown[] => part !== undefined && part.length > 0;

/**
 * Writes the parts of a validated batch in the order {@link StoreBatch} lists them, one statement per
 * non-empty part whatever its number of rows. The caller wraps this in one transaction: a failure in
 * any part rolls back every part.
 */
export async function applyBatch(ctx: PgContext, batch: StoreBatch): Promise<void> {
  if (has(batch.putApps)) await putApps(ctx, batch.putApps);
  if (has(batch.deleteApps)) await deleteApps(ctx, batch.deleteApps);
  if (has(batch.putRequests)) await putRequests(ctx, batch.putRequests);
  if (has(batch.deleteRequests)) await deleteRequests(ctx, batch.deleteRequests);
  if (has(batch.insertRuns)) await insertRuns(ctx, batch.insertRuns);
  if (has(batch.updateRuns)) await updateRuns(ctx, batch.updateRuns);
  if (has(batch.events)) await appendEvents(ctx, batch.events);
  if (batch.settings !== undefined && Object.keys(batch.settings).length > 0) await writeSettings(ctx, batch.settings);
  if (has(batch.insertPushes)) await insertPushes(ctx, batch.insertPushes);
  if (has(batch.updatePushes)) await updatePushes(ctx, batch.updatePushes);
  if (has(batch.insertNotifications)) await insertNotifications(ctx, batch.insertNotifications);
  if (has(batch.updateNotifications)) await updateNotifications(ctx, batch.updateNotifications);
  if (has(batch.putLeases)) await putLeases(ctx, batch.putLeases);
  if (has(batch.deleteLeases)) await deleteLeases(ctx, batch.deleteLeases);
  if (has(batch.putChildSubmissions)) await putChildSubmissions(ctx, batch.putChildSubmissions);
}

/** Whether the batch writes anything; an empty one needs no transaction, and so no commit. */
export function batchHasWrites(batch: StoreBatch): boolean {
  return (
    has(batch.putApps) ||
    has(batch.deleteApps) ||
    has(batch.putRequests) ||
    has(batch.deleteRequests) ||
    has(batch.insertRuns) ||
    has(batch.updateRuns) ||
    has(batch.events) ||
    (batch.settings !== undefined && Object.keys(batch.settings).length > 0) ||
    has(batch.insertPushes) ||
    has(batch.updatePushes) ||
    has(batch.insertNotifications) ||
    has(batch.updateNotifications) ||
    has(batch.putLeases) ||
    has(batch.deleteLeases) ||
    has(batch.putChildSubmissions)
  );
}
