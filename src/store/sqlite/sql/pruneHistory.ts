import { EVENTS_PER_RUN, type PrunePolicy, type PruneResult } from '../../store.js';
import { pruneChildSubmissions } from './childSubmissions.js';
import type { SqlContext } from './context.js';

const OLD_RUNS = /* sql */ `
DELETE FROM runs WHERE seq IN (
  SELECT seq FROM runs WHERE state = 'finished' AND completed_at < ? ORDER BY seq LIMIT ?)`;
const OLD_EVENTS = /* sql */ `
DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < ? ORDER BY seq LIMIT ?)`;
const CROWDED_RUN_APPS = /* sql */ `
SELECT app_id AS appId FROM runs WHERE state = 'finished' GROUP BY app_id HAVING COUNT(*) > ?`;
const CROWDED_EVENT_APPS = /* sql */ `
SELECT app_id AS appId FROM events WHERE app_id IS NOT NULL GROUP BY app_id HAVING COUNT(*) > ?`;
/** The seq of the app's newest finished run that is NOT kept. */
const FIRST_EXTRA_RUN = /* sql */ `
SELECT seq FROM runs WHERE app_id = ? AND state = 'finished' ORDER BY seq DESC LIMIT 1 OFFSET ?`;
const FIRST_EXTRA_EVENT = /* sql */ `SELECT seq FROM events WHERE app_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?`;
const EXTRA_RUNS = /* sql */ `
DELETE FROM runs WHERE seq IN (
  SELECT seq FROM runs WHERE app_id = ? AND state = 'finished' AND seq <= ? ORDER BY seq LIMIT ?)`;
const EXTRA_EVENTS = /* sql */ `
DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE app_id = ? AND seq <= ? ORDER BY seq LIMIT ?)`;

/**
 * One pruning round in the caller's transaction: old rows first, then each app's rows beyond its count.
 * The records of child submissions go by age only (they are not history a person reads).
 */
export function pruneHistory(ctx: SqlContext, { before, keepRunsPerApp, limit }: PrunePolicy): PruneResult {
  let runs = ctx.statement(OLD_RUNS).run(before, limit).changes;
  let events = ctx.statement(OLD_EVENTS).run(before, limit).changes;
  const keepEvents = keepRunsPerApp * EVENTS_PER_RUN;
  for (const { appId } of ctx.statement<{ appId: string }>(CROWDED_RUN_APPS).all(keepRunsPerApp)) {
    if (runs >= limit) break;
    const extra = ctx.statement<{ seq: number }>(FIRST_EXTRA_RUN).get(appId, keepRunsPerApp);
    if (extra) runs += ctx.statement(EXTRA_RUNS).run(appId, extra.seq, limit - runs).changes;
  }
  for (const { appId } of ctx.statement<{ appId: string }>(CROWDED_EVENT_APPS).all(keepEvents)) {
    if (events >= limit) break;
    const extra = ctx.statement<{ seq: number }>(FIRST_EXTRA_EVENT).get(appId, keepEvents);
    if (extra) events += ctx.statement(EXTRA_EVENTS).run(appId, extra.seq, limit - events).changes;
  }
  const children = pruneChildSubmissions(ctx, before, limit);
  return { runs, events, more: runs >= limit || events >= limit || children >= limit };
}

/** Pages given back to the file system per round (4 KiB each): the rest goes in the next rounds. */
const VACUUM_PAGES = 2_000;

/** With auto_vacuum=INCREMENTAL (set at migrate), hands freed pages back so the file shrinks. */
export function reclaimSpace(ctx: SqlContext): void {
  ctx.db.pragma(`incremental_vacuum(${VACUUM_PAGES})`);
}

export function historyCounts(ctx: SqlContext): { runs: number; events: number } {
  const runs = ctx.statement<{ n: number }>('SELECT COUNT(*) AS n FROM runs').get()!.n;
  const events = ctx.statement<{ n: number }>('SELECT COUNT(*) AS n FROM events').get()!.n;
  return { runs, events };
}

/**
 * auto_vacuum must be INCREMENTAL for `reclaimSpace` to shrink the file. A store made before it was set
 * changes mode only through one VACUUM (a copy of the file: seconds for a large store, once).
 */
export function enableIncrementalVacuum(ctx: SqlContext): void {
  if (Number(ctx.db.pragma('auto_vacuum', { simple: true })) === 2) return;
  ctx.db.pragma('auto_vacuum = INCREMENTAL');
  ctx.db.exec('VACUUM');
}
