import type { TaskRunUpdate } from '../../../engine/types.js';
import type { PgContext } from './context.js';
import { RUN_COLUMNS, jsonRecords, mergeUpdates, presentAssignments, recordDefinition } from './rows.js';

// Every column is assigned, to itself unless the update carries the field: one SQL text whatever the
// set of changed fields. `placement` can only be set to 'any' (validation), never cleared. The ids also
// come as an array: `task_id = ANY(…)` keeps the plan an index probe per run whatever plan the prepared
// statement settles on (a join on the unpacked JSON alone became a scan of every run).
const UPDATE_RUNS = /* sql */ `
UPDATE runs r SET
  ${presentAssignments(RUN_COLUMNS, 'r', ['taskId'])}
FROM jsonb_array_elements($2::jsonb) AS e(doc)
CROSS JOIN LATERAL jsonb_to_record(e.doc) AS x(${recordDefinition(RUN_COLUMNS)})
WHERE r.task_id = ANY($3::text[]) AND r.node_id = $1 AND r.task_id = x."taskId"
  -- A run another node took over (its node lost its lease) is closed: a late write from the node that
  -- ran it must not undo the takeover, whose request may already be running elsewhere.
  AND NOT (r.state = 'finished' AND r.reason = 'nodeLost')`;

/**
 * Writes only the fields present in each update (a field set to `undefined` counts as absent; `null`
 * clears a nullable field, `recurrence` and `retry` included). An update for a `taskId` that this
 * node has no run for changes nothing. Several updates of one run apply in order. One statement.
 */
export async function updateRuns(ctx: PgContext, updates: readonly TaskRunUpdate[]): Promise<void> {
  const merged = mergeUpdates(updates, (update) => update.taskId);
  await ctx.run(UPDATE_RUNS, [
    ctx.nodeId,
    jsonRecords(merged, 'updateRuns', []),
    merged.map((update) => update.taskId),
  ]);
}
