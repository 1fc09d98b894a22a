import type { TaskRun } from '../../../engine/types.js';
import type { SqlContext } from './context.js';
import { RUN_COLUMNS, RUN_FIELDS, runParams } from './rows.js';

const INSERT_RUN = /* sql */ `
INSERT INTO runs (${Object.values(RUN_COLUMNS).join(', ')})
VALUES (${RUN_FIELDS.map(() => '?').join(', ')})`;

/** Inserts new runs; a `taskId` that already exists fails the batch (`storeInvalid`, field `taskId`). */
export function insertRuns(ctx: SqlContext, runs: readonly TaskRun[]): void {
  const statement = ctx.statement(INSERT_RUN);
  for (const run of runs) {
    statement.run(...runParams(run));
  }
}
