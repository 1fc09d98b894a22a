import { StoreError } from '../../errors.js';
import { MIGRATIONS } from '../migrations/index.js';
import type { Migration } from '../migrations/index.js';
import type { SqlContext } from './context.js';

const HAS_MIGRATIONS_TABLE =
  /* sql */ `SELECT 1 AS present FROM sqlite_master WHERE type = 'table' AND name = ` + `'schema_migrations'`;
const CURRENT_VERSION = /* sql */ `SELECT coalesce(max(version), 0) AS version FROM schema_migrations`;
const CREATE_MIGRATIONS_TABLE = /* sql */ `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    INTEGER NOT NULL PRIMARY KEY,
  name       TEXT    NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT`;
const RECORD_MIGRATION = /* sql */ `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`;

/** The highest migration applied to this database; 0 for a new, empty one. */
export function schemaVersion(ctx: SqlContext): number {
  // Checked first because preparing a statement on a missing table fails.
  if (ctx.statement(HAS_MIGRATIONS_TABLE).get() === undefined) return 0;
  return ctx.statement<{ version: number }>(CURRENT_VERSION).get()!.version;
}

function assertNotNewer(version: number, latest: number): void {
  if (version > latest) {
    throw new StoreError(
      'storeNewer',
      `the store's schema is at version ${version}, written by a newer bgtasks ` +
        `(this one knows up to ${latest}): upgrade bgtasks, or point it at another ` +
        `store`,
    );
  }
}

/**
 * Applies each migration newer than the database, each in its own IMMEDIATE transaction so two
 * processes migrating at once serialise, and the second finds the work done. A database already at
 * the latest version is only read, which lets a read-only store "migrate".
 *
 * @param appliedAt - the time recorded in `schema_migrations.applied_at`, ms since the epoch
 */
export function migrate(ctx: SqlContext, appliedAt: number, migrations: readonly Migration[] = MIGRATIONS): void {
  const latest = migrations.length === 0 ? 0 : migrations[migrations.length - 1]!.version;
  const version = schemaVersion(ctx);
  assertNotNewer(version, latest);
  for (const migration of migrations) {
    if (migration.version <= version) continue;
    ctx.db
      .transaction(() => {
        const now = schemaVersion(ctx);
        assertNotNewer(now, latest);
        if (now >= migration.version) return;
        ctx.db.exec(CREATE_MIGRATIONS_TABLE);
        ctx.db.exec(migration.sql);
        ctx.statement(RECORD_MIGRATION).run(migration.version, migration.name, appliedAt);
      })
      .immediate();
  }
}
