import { LATEST_SCHEMA_VERSION } from '../migrations/index.js';
import type { PgContext } from './context.js';
import { schemaVersion } from './migrate.js';

/** The tables and indexes the latest migration leaves. */
const TABLES = [
  'apps',
  'requests',
  'runs',
  'events',
  'settings',
  'pushes',
  'notifications',
  'nodes',
  'schema_migrations',
  'submitted_children',
];
const INDEXES = [
  'apps_pkey',
  'requests_pkey',
  'requests_request_id_key',
  'requests_device_key',
  'requests_pool_key',
  'requests_pool_lease',
  'requests_pool_unclaimed',
  'requests_pool_unclaimed_seq',
  'runs_pkey',
  'runs_task_id_key',
  'runs_node_seq',
  'runs_node_app_identifier',
  'runs_active',
  'runs_node_completed_at',
  'events_pkey',
  'events_node_seq',
  'events_node_app_identifier',
  'events_task_id',
  'events_node_type_at',
  'settings_pkey',
  'pushes_pkey',
  'pushes_node_id_seq_key',
  'pushes_node_app_state_seq',
  'pushes_node_state_seq',
  'notifications_pkey',
  'notifications_seq_key',
  'notifications_node_posted',
  'notifications_node_app_posted',
  'nodes_pkey',
  'schema_migrations_pkey',
  'runs_finished_completed_at',
  'events_at',
  'submitted_children_pkey',
  'submitted_children_at',
];

// Relations of the store's schema (the first of search_path), with whether an index is usable: a
// failed CREATE INDEX CONCURRENTLY, or a REINDEX cut short, leaves an invalid one behind.
const RELATIONS = /* sql */ `
SELECT c.relname AS name, c.relkind::text AS kind, coalesce(i.indisvalid AND i.indisready, true) AS usable
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indexrelid = c.oid
WHERE n.nspname = current_schema() AND c.relname = ANY($1::text[])`;

// Constraints added NOT VALID and never validated: rows written before may break them unseen.
const UNVALIDATED = /* sql */ `
SELECT c.conname AS name FROM pg_constraint c
JOIN pg_namespace n ON n.oid = c.connamespace
WHERE n.nspname = current_schema() AND NOT c.convalidated
ORDER BY c.conname`;

/**
 * A check that stays cheap however large the store: it reads only the catalog. The schema is at the
 * version this code writes, every table and index is there and usable, and every constraint holds for
 * every row (none was added NOT VALID). The rules of the data itself (one request per identifier, a
 * pool request is `'any'`, a device request is unleased) are constraints, so the database refuses
 * what breaks them. Page checksums and `amcheck` are the database's own business: they read every
 * page, far too slow for `bgtasks doctor`. Resolves to `'ok'` or the problems, one per line.
 */
export async function integrityCheck(ctx: PgContext): Promise<string> {
  const problems: string[] = [];
  const version = await schemaVersion(ctx);
  if (version !== LATEST_SCHEMA_VERSION)
    problems.push(`the schema is at version ${version}, not ${LATEST_SCHEMA_VERSION}`);
  const relations = await ctx.rows<{ name: string; kind: string; usable: boolean }>(RELATIONS, [
    [...TABLES, ...INDEXES],
  ]);
  const found = new Map(relations.map((relation) => [relation.name, relation]));
  for (const table of TABLES) if (found.get(table)?.kind !== 'r') problems.push(`table ${table} is missing`);
  for (const index of INDEXES) {
    const relation = found.get(index);
    if (relation?.kind !== 'i') problems.push(`index ${index} is missing`);
    else if (!relation.usable) problems.push(`index ${index} is invalid: REINDEX it`);
  }
  for (const { name } of await ctx.rows<{ name: string }>(UNVALIDATED))
    problems.push(`constraint ${name} is not validated: VALIDATE it`);
  return problems.length === 0 ? 'ok' : problems.join('\n');
}
