import type { TaskRun, TaskRunUpdate } from '../engine/types.js';
import type { StoreBatch } from '../store/store.js';

interface RunSlot {
  run: TaskRun;
}

interface UpdateSlot {
  update: TaskRunUpdate;
}

interface Staged {
  readonly batch: StoreBatch;
  readonly inserts: RunSlot[];
  readonly updates: UpdateSlot[];
}

/**
 * Folds the run writes of one group commit together: an update to a run inserted (or updated) earlier
 * in the same group is merged into that earlier write, so a task that is dispatched, delivered, started
 * and finished within one group costs one row write instead of four. Only writes to the same run row
 * move, and later values win, so the result is what applying the batches in order would leave.
 */
export function coalesceRunWrites(batches: readonly StoreBatch[]): StoreBatch[] {
  if (batches.length < 2) return [...batches];
  const inserted = new Map<string, RunSlot>();
  const updated = new Map<string, UpdateSlot>();
  const staged: Staged[] = batches.map((batch) => {
    const inserts = (batch.insertRuns ?? []).map((run) => {
      const slot = { run };
      inserted.set(run.taskId, slot);
      updated.delete(run.taskId);
      return slot;
    });
    const updates: UpdateSlot[] = [];
    for (const update of batch.updateRuns ?? []) {
      const insert = inserted.get(update.taskId);
      const earlier = updated.get(update.taskId);
      if (insert) insert.run = { ...insert.run, ...update };
      else if (earlier) earlier.update = { ...earlier.update, ...update };
      else {
        const slot = { update };
        updated.set(update.taskId, slot);
        updates.push(slot);
      }
    }
    return { batch, inserts, updates };
  });
  // The slots are read only now, so merges made by later batches are included.
  const out: StoreBatch[] = [];
  for (const { batch, inserts, updates } of staged) {
    const { insertRuns: _insertRuns, updateRuns: _updateRuns, ...rest } = batch;
    const merged: StoreBatch = {
      ...rest,
      ...(inserts.length > 0 ? { insertRuns: inserts.map((slot) => slot.run) } : {}),
      ...(updates.length > 0 ? { updateRuns: updates.map((slot) => slot.update) } : {}),
    };
    if (Object.keys(merged).length > 0) out.push(merged);
  }
  return out;
}
