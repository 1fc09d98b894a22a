import { StoreError } from '../../errors.js';
import { MIGRATIONS } from '../migrations/index.js';
import type { Migration } from '../migrations/index.js';
import type { PgContext } from './context.js';

// Resolved through the connection's search_path, which is the store's schema.
const HAS_MIGRATIONS_TABLE = /* sql */ `SELECT to_regclass('schema_migrations') IS NOT NULL AS present`;
const CURRENT_VERSION = /* sql */ `SELECT coalesce(max(version), 0) AS version FROM schema_migrations`;
const CREATE_MIGRATIONS_TABLE = /* sql */ `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER NOT NULL PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at BIGINT  NOT NULL
)`;
const RECORD_MIGRATION = /* sql */ `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`;
/** The first key of the migration lock (`'bgts'`); the second is a hash of the schema name. */
const LOCK_CLASS = 0x62677473;
const LOCK = /* sql */ `SELECT pg_advisory_xact_lock($1, hashtext($2))`;

/** The highest migration applied to the store's schema; 0 when it has none (or does not exist). */
export async function schemaVersion(ctx: PgContext): Promise<number> {
  // Checked first because a statement on a missing table fails.
  const [table] = await ctx.rows<{ present: boolean }>(HAS_MIGRATIONS_TABLE);
  if (!table?.present) return 0;
  const [row] = await ctx.rows<{ version: number }>(CURRENT_VERSION);
  return row?.version ?? 0;
}

/** @throws StoreError - `storeNewer` when the schema is ahead of `latest`. */
export function assertNotNewer(version: number, latest: number): void {
  if (version > latest) {
    throw new StoreError(
      'storeNewer',
      `the store's schema is at version ${version}, written by a newer bgtasks ` +
        `(this one knows up to ${latest}): upgrade bgtasks, or point it at another ` +
        `schema`,
    );
  }
}

/** The version the given migrations lead to. */
export function latestVersion(migrations: readonly Migration[]): number {
  return migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
}

/**
 * Creates the schema if needed and applies each migration newer than it. The caller runs this in ONE
 * transaction, so a failed migration leaves the schema as it was. Daemons of a fleet often start
 * together: an advisory lock on the schema's name makes them take turns, and each after the first
 * finds the work done.
 *
 * @param schema - a validated identifier (see the store's options); it is interpolated
 * @param appliedAt - the time recorded in `schema_migrations.applied_at`, ms since the epoch
 */
export async function migrateLocked(
  ctx: PgContext,
  schema: string,
  appliedAt: number,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<void> {
  const latest = latestVersion(migrations);
  await ctx.rows(LOCK, [LOCK_CLASS, schema]);
  await ctx.exec(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
  await ctx.exec(CREATE_MIGRATIONS_TABLE);
  const version = await schemaVersion(ctx);
  assertNotNewer(version, latest);
  for (const migration of migrations) {
    if (migration.version <= version) continue;
    await ctx.exec(migration.sql);
    await ctx.run(RECORD_MIGRATION, [migration.version, migration.name, appliedAt]);
  }
}
