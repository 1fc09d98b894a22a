/**
 * Fewer, larger batches with the same result: a store that pays per statement (PostgreSQL) writes a
 * group commit of a hundred small batches (a dispatch, a finish, another dispatch…) as a few
 * statements per part instead of a few per batch.
 *
 * A store applies a batch's parts in a fixed order ({@link StoreBatch}). Appending batch `b` to the
 * merged batch `m` moves each part of `b` before the parts of `m` that come later in that order; that
 * leaves the same rows only where the two parts commute. Parts on different tables always do; on the
 * same table only the pairs checked below, by the rows they touch; anything else starts a new batch.
 * A part kind this module does not know (a new one) is never merged.
 */
import type { StoreBatch } from './store.js';

/** The parts in the order a store applies them, with the tables each writes. */
const PARTS = {
  putApps: ['apps'],
  deleteApps: ['apps', 'requests'],
  putRequests: ['requests'],
  deleteRequests: ['requests'],
  insertRuns: ['runs'],
  updateRuns: ['runs'],
  events: ['events'],
  settings: ['settings'],
  insertPushes: ['pushes'],
  updatePushes: ['pushes'],
  insertNotifications: ['notifications'],
  updateNotifications: ['notifications'],
  putLeases: ['leases'],
  deleteLeases: ['leases'],
  putChildSubmissions: ['submitted_children'],
} as const satisfies Record<keyof StoreBatch, readonly string[]>;

type Part = keyof typeof PARTS;
const ORDER = Object.keys(PARTS) as Part[];
const RANK = new Map(ORDER.map((part, index) => [part, index]));

function partsOf(batch: StoreBatch): Part[] | null {
  const parts: Part[] = [];
  for (const [key, value] of Object.entries(batch)) {
    if (value === undefined) continue;
    if (!RANK.has(key as Part)) return null;
    parts.push(key as Part);
  }
  return parts;
}

/**
 * Whether `later` (a part of the batch being appended) may run before `earlier` (a later-ordered part
 * of the merged batch) and leave the same rows.
 */
function commutes(merged: StoreBatch, earlier: Part, batch: StoreBatch, later: Part): boolean {
  if (!PARTS[earlier].some((table) => (PARTS[later] as readonly string[]).includes(table))) return true;
  if (earlier === 'deleteRequests' && later === 'putRequests') {
    // A delete that would match a request put after it must run after it: keep them apart.
    return !batch.putRequests!.some((request) =>
      merged.deleteRequests!.some(
        (ref) => ref.appId === request.appId && (ref.identifier === undefined || ref.identifier === request.identifier),
      ),
    );
  }
  if (earlier === 'deleteLeases' && later === 'putLeases') {
    const deleted = new Set(merged.deleteLeases);
    return !batch.putLeases!.some((lease) => deleted.has(lease.leaseId));
  }
  if (earlier === 'updateRuns' && later === 'insertRuns') {
    const inserted = new Set(batch.insertRuns!.map((run) => run.taskId));
    return !merged.updateRuns!.some((update) => inserted.has(update.taskId));
  }
  return false;
}

function canAppend(
  merged: StoreBatch,
  mergedParts: readonly Part[],
  batch: StoreBatch,
  parts: readonly Part[],
): boolean {
  for (const later of parts) {
    for (const earlier of mergedParts) {
      if (RANK.get(earlier)! > RANK.get(later)! && !commutes(merged, earlier, batch, later)) return false;
    }
  }
  return true;
}

function append(merged: StoreBatch, batch: StoreBatch): StoreBatch {
  const out: Record<string, unknown> = { ...merged };
  for (const [key, value] of Object.entries(batch)) {
    if (value === undefined) continue;
    const before = out[key];
    if (before === undefined) out[key] = value;
    else if (key === 'settings') out[key] = { ...(before as object), ...(value as object) };
    else out[key] = [...(before as unknown[]), ...(value as unknown[])];
  }
  return out as StoreBatch;
}

/** The batches folded, in order, into as few as leave the same result when applied in order. */
export function mergeBatches(batches: readonly StoreBatch[]): StoreBatch[] {
  const out: StoreBatch[] = [];
  let merged: StoreBatch | null = null;
  let mergedParts: Part[] | null = null;
  for (const batch of batches) {
    const parts = partsOf(batch);
    if (merged !== null && mergedParts !== null && parts !== null && canAppend(merged, mergedParts, batch, parts)) {
      merged = append(merged, batch);
      mergedParts = [...new Set([...mergedParts, ...parts])];
      continue;
    }
    if (merged !== null) out.push(merged);
    merged = batch;
    mergedParts = parts;
  }
  if (merged !== null) out.push(merged);
  return out;
}
