import type { TaskRun } from '../../../engine/types.js';
import type { PgContext } from './context.js';
import { RUN_COLUMNS, columnList, jsonRecords, unpack, valueList } from './rows.js';

// Ordered by position, so seq (the "newest first" of listRuns) follows the order given.
const INSERT_RUNS = /* sql */ `
INSERT INTO runs (node_id, ${columnList(RUN_COLUMNS)})
SELECT $1, ${valueList(RUN_COLUMNS, 'x')}
FROM ${unpack('$2', RUN_COLUMNS)}
ORDER BY e.ord`;

/**
 * Inserts new runs as this node's; a `taskId` that already exists anywhere in the fleet fails the batch
 * (`storeInvalid`, field `taskId`). One statement.
 */
export async function insertRuns(ctx: PgContext, runs: readonly TaskRun[]): Promise<void> {
  await ctx.run(INSERT_RUNS, [ctx.nodeId, jsonRecords(runs, 'insertRuns', [])]);
}
