import { EVENTS_PER_RUN, type HistorySize, type PrunePolicy, type PruneResult } from '../../store.js';
import { pruneChildSubmissions } from './childSubmissions.js';
import type { PgContext } from './context.js';

// This node's history only: in a fleet each node prunes its own (the maintainer prunes by age too).
const OLD_RUNS = /* sql */ `
DELETE FROM runs WHERE seq IN (
  SELECT seq FROM runs WHERE node_id = $1 AND state = 'finished' AND completed_at < $2 ORDER BY seq LIMIT $3)`;
const OLD_EVENTS = /* sql */ `
DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE node_id = $1 AND at < $2 ORDER BY seq LIMIT $3)`;
const CROWDED_RUN_APPS = /* sql */ `
SELECT app_id AS "appId" FROM runs WHERE node_id = $1 AND state = 'finished' GROUP BY app_id HAVING COUNT(*) > $2`;
const CROWDED_EVENT_APPS = /* sql */ `
SELECT app_id AS "appId" FROM events WHERE node_id = $1 AND app_id IS NOT NULL GROUP BY app_id HAVING COUNT(*) > $2`;
/** The seq of the app's newest finished run that is NOT kept. */
const FIRST_EXTRA_RUN = /* sql */ `
SELECT seq FROM runs WHERE node_id = $1 AND app_id = $2 AND state = 'finished' ORDER BY seq DESC LIMIT 1 OFFSET $3`;
const FIRST_EXTRA_EVENT = /* sql */ `
SELECT seq FROM events WHERE node_id = $1 AND app_id = $2 ORDER BY seq DESC LIMIT 1 OFFSET $3`;
const EXTRA_RUNS = /* sql */ `
DELETE FROM runs WHERE seq IN (
  SELECT seq FROM runs WHERE node_id = $1 AND app_id = $2 AND state = 'finished' AND seq <= $3 ORDER BY seq LIMIT $4)`;
const EXTRA_EVENTS = /* sql */ `
DELETE FROM events WHERE seq IN (
  SELECT seq FROM events WHERE node_id = $1 AND app_id = $2 AND seq <= $3 ORDER BY seq LIMIT $4)`;
const COUNTS = /* sql */ `
SELECT (SELECT COUNT(*) FROM runs WHERE node_id = $1)::int AS runs,
  (SELECT COUNT(*) FROM events WHERE node_id = $1)::int AS events,
  (pg_total_relation_size('runs') + pg_total_relation_size('events'))::float8 AS bytes`;

/**
 * One pruning round in the caller's transaction (the same rules as SQLite's). The space of deleted rows
 * is reused by the tables once autovacuum has passed (PostgreSQL's own daemon; VACUUM cannot run inside
 * a transaction, and a VACUUM FULL would lock the tables).
 */
export async function pruneHistory(ctx: PgContext, policy: PrunePolicy): Promise<PruneResult> {
  const { before, keepRunsPerApp, limit } = policy;
  const node = ctx.nodeId;
  let runs = await ctx.run(OLD_RUNS, [node, before, limit]);
  let events = await ctx.run(OLD_EVENTS, [node, before, limit]);
  const keepEvents = keepRunsPerApp * EVENTS_PER_RUN;
  for (const { appId } of await ctx.rows<{ appId: string }>(CROWDED_RUN_APPS, [node, keepRunsPerApp])) {
    if (runs >= limit) break;
    const [extra] = await ctx.rows<{ seq: string }>(FIRST_EXTRA_RUN, [node, appId, keepRunsPerApp]);
    if (extra) runs += await ctx.run(EXTRA_RUNS, [node, appId, extra.seq, limit - runs]);
  }
  for (const { appId } of await ctx.rows<{ appId: string }>(CROWDED_EVENT_APPS, [node, keepEvents])) {
    if (events >= limit) break;
    const [extra] = await ctx.rows<{ seq: string }>(FIRST_EXTRA_EVENT, [node, appId, keepEvents]);
    if (extra) events += await ctx.run(EXTRA_EVENTS, [node, appId, extra.seq, limit - events]);
  }
  // Shared by the fleet, so any node's round may take them (by age only, as in SQLite).
  const children = await pruneChildSubmissions(ctx, before, limit);
  return { runs, events, more: runs >= limit || events >= limit || children >= limit };
}

export async function historySize(ctx: PgContext): Promise<HistorySize> {
  const [row] = await ctx.rows<{ runs: number; events: number; bytes: number }>(COUNTS, [ctx.nodeId]);
  return { runs: row?.runs ?? 0, events: row?.events ?? 0, bytes: row?.bytes ?? null };
}
